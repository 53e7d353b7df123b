/**
 * The real node's addresses. Everything lives on a bridge made for it inside the machine, so nothing
 * depends on the machine's own interfaces, and no pod or Service traffic leaves the machine.
 */
export const BRIDGE = "localkube0";
/** The whole pod network (kind's default); this one node takes the first /24 of it. */
export const CLUSTER_CIDR = "10.244.0.0/16";
export const NODE_POD_SUBNET = "10.244.0.0/24";
/** The bridge's own address: the node's InternalIP, the pods' gateway, the kubelet's and DNS's address. */
export const NODE_IP = "10.244.0.1";
export const SERVICE_CIDR = "10.96.0.0/12";
/** The `kubernetes` Service's ClusterIP (the first of SERVICE_CIDR). */
export const KUBERNETES_SERVICE_IP = "10.96.0.1";
export const CLUSTER_DOMAIN = "cluster.local";
export const CNI_NETWORK = "localkube";
export const KUBELET_PORT = 10250;
