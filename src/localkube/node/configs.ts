/** The configuration files of containerd, CNI, the kubelet and kube-proxy for the real node. */
import {
  BRIDGE,
  CLUSTER_CIDR,
  CLUSTER_DOMAIN,
  CNI_NETWORK,
  KUBELET_PORT,
  NODE_IP,
  NODE_POD_SUBNET,
} from "./network.ts";

export interface NodePaths {
  /** `<state>/node` */
  dir: string;
  containerdConfig: string;
  containerdRoot: string;
  containerdState: string;
  containerdSocket: string;
  cniConfDir: string;
  cniIpamDir: string;
  kubeletRoot: string;
  kubeletConfig: string;
  kubeletKubeconfig: string;
  podLogsDir: string;
  kubeProxyConfig: string;
  kubeProxyKubeconfig: string;
  pki: string;
}

export function nodePaths(stateDir: string): NodePaths {
  const dir = `${stateDir}/node`;
  return {
    dir,
    containerdConfig: `${dir}/containerd/config.toml`,
    containerdRoot: `${dir}/containerd/root`,
    containerdState: `${dir}/containerd/state`,
    containerdSocket: `${dir}/containerd/containerd.sock`,
    cniConfDir: `${dir}/cni/net.d`,
    cniIpamDir: `${dir}/cni/ipam`,
    kubeletRoot: `${dir}/kubelet`,
    kubeletConfig: `${dir}/kubelet-config.yaml`,
    kubeletKubeconfig: `${dir}/kubelet.kubeconfig`,
    podLogsDir: `${dir}/pod-logs`,
    kubeProxyConfig: `${dir}/kube-proxy-config.yaml`,
    kubeProxyKubeconfig: `${dir}/kube-proxy.kubeconfig`,
    pki: `${dir}/pki`,
  };
}

/**
 * containerd 1.6 (Debian's) with the CRI plugin: its own root, state and socket; runc with cgroupfs;
 * CNI from the given plugin dir; the locally built pause image as every pod's sandbox.
 */
export function containerdToml(
  paths: NodePaths,
  options: { sandboxImage: string; runcPath: string; cniBinDir: string },
): string {
  const q = JSON.stringify; // TOML basic strings accept JSON string syntax
  return `# written by localkube (src/localkube/node/configs.ts)
version = 2
root = ${q(paths.containerdRoot)}
state = ${q(paths.containerdState)}

[grpc]
  address = ${q(paths.containerdSocket)}

[ttrpc]
  address = ${q(paths.containerdSocket + ".ttrpc")}

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(paths.dir + "/containerd/opt")}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(options.sandboxImage)}
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = ${q(options.runcPath)}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${q(options.cniBinDir)}
    conf_dir = ${q(paths.cniConfDir)}
    max_conf_num = 1
`;
}

/** Bridge + host-local IPAM (state in our dir) + portmap; containerd adds the loopback plugin for lo. */
export function cniConflist(paths: NodePaths): string {
  return JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: CNI_NETWORK,
      plugins: [
        {
          type: "bridge",
          bridge: BRIDGE,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: NODE_POD_SUBNET, gateway: NODE_IP }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: paths.cniIpamDir,
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  ) + "\n";
}

/** JSON is YAML: the kubelet reads this as its KubeletConfiguration. */
export function kubeletConfiguration(
  paths: NodePaths,
  pki: { caCert: string; servingCert: string; servingKey: string },
) {
  return JSON.stringify(
    {
      apiVersion: "kubelet.config.k8s.io/v1beta1",
      kind: "KubeletConfiguration",
      // These machines mount cgroup v1, which the kubelet refuses since 1.35 unless told.
      failCgroupV1: false,
      cgroupDriver: "cgroupfs",
      containerRuntimeEndpoint: `unix://${paths.containerdSocket}`,
      imageServiceEndpoint: `unix://${paths.containerdSocket}`,
      failSwapOn: false,
      // The sandbox lacks CAP_SYS_RESOURCE: the kubelet must not lower its own OOM score.
      oomScoreAdj: 0,
      address: NODE_IP,
      port: KUBELET_PORT,
      readOnlyPort: 0,
      healthzBindAddress: "127.0.0.1",
      healthzPort: 10248,
      tlsCertFile: pki.servingCert,
      tlsPrivateKeyFile: pki.servingKey,
      // As kubeadm: client certificates from the cluster CA, bearer tokens through TokenReview,
      // every request authorized by the apiserver (SubjectAccessReview). No anonymous access.
      authentication: {
        anonymous: { enabled: false },
        webhook: { enabled: true },
        x509: { clientCAFile: pki.caCert },
      },
      authorization: { mode: "Webhook" },
      clusterDNS: [NODE_IP],
      clusterDomain: CLUSTER_DOMAIN,
      resolvConf: "",
      podLogsDir: paths.podLogsDir,
      volumePluginDir: `${paths.kubeletRoot}/volume-plugins`,
      serializeImagePulls: false,
      // Test machines have small, full-ish disks: evict only when really out of room, never GC images.
      evictionHard: {
        "memory.available": "100Mi",
        "nodefs.available": "1%",
        "imagefs.available": "1%",
        "nodefs.inodesFree": "1%",
      },
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      // Pods are deleted as fast as tests delete them.
      shutdownGracePeriod: "0s",
    },
    null,
    2,
  ) + "\n";
}

export function kubeProxyConfiguration(paths: NodePaths, nodeName: string): string {
  return JSON.stringify(
    {
      apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
      kind: "KubeProxyConfiguration",
      clientConnection: { kubeconfig: paths.kubeProxyKubeconfig },
      hostnameOverride: nodeName,
      mode: "iptables",
      clusterCIDR: CLUSTER_CIDR,
      detectLocalMode: "ClusterCIDR",
      // NodePorts on the bridge address only, never on the machine's own interfaces.
      nodePortAddresses: [`${NODE_IP}/32`],
      metricsBindAddress: "127.0.0.1:10249",
      healthzBindAddress: "127.0.0.1:10256",
      // Leave the machine's conntrack sysctls alone (0 = do not set).
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
    },
    null,
    2,
  ) + "\n";
}
