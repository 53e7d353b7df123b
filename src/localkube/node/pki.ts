/**
 * The node's certificates, as kubeadm makes them: a cluster CA that the apiserver trusts for client
 * certificates (`--client-ca-file`) and the kubelet trusts for the apiserver's; the kubelet's client
 * certificate (`system:node:<node>` in `system:nodes`, so the Node authorizer and NodeRestriction
 * apply), kube-proxy's (`system:kube-proxy`), the apiserver's kubelet client (`system:masters`), and
 * the kubelet's serving certificate for its node address. Made with the openssl CLI (ECDSA P-256).
 */
import { capture } from "../../images/run_command.ts";

export interface CertPair {
  cert: string;
  key: string;
}

export interface NodePki {
  caCert: string;
  kubeletClient: CertPair;
  kubeletServing: CertPair;
  kubeProxyClient: CertPair;
  apiserverKubeletClient: CertPair;
}

const DAYS = "30";

async function newKey(path: string): Promise<void> {
  await capture([
    "openssl",
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-out",
    path,
  ]);
  await Deno.chmod(path, 0o600);
}

async function signed(
  dir: string,
  name: string,
  ca: CertPair,
  subject: string,
  extensions: string[],
): Promise<CertPair> {
  const pair = { cert: `${dir}/${name}.crt`, key: `${dir}/${name}.key` };
  await newKey(pair.key);
  const csr = `${dir}/${name}.csr`;
  await capture(["openssl", "req", "-new", "-key", pair.key, "-subj", subject, "-out", csr]);
  const extFile = `${dir}/${name}.ext`;
  await Deno.writeTextFile(extFile, extensions.join("\n") + "\n");
  await capture([
    "openssl",
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-days",
    DAYS,
    "-sha256",
    "-extfile",
    extFile,
    "-out",
    pair.cert,
  ]);
  await Deno.remove(csr);
  await Deno.remove(extFile);
  return pair;
}

export async function makeNodePki(dir: string, nodeName: string, nodeIp: string): Promise<NodePki> {
  await Deno.mkdir(dir, { recursive: true });
  const ca = { cert: `${dir}/ca.crt`, key: `${dir}/ca.key` };
  await newKey(ca.key);
  await capture([
    "openssl",
    "req",
    "-x509",
    "-new",
    "-key",
    ca.key,
    "-subj",
    "/CN=localkube-ca",
    "-days",
    DAYS,
    "-sha256",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    "-out",
    ca.cert,
  ]);
  const client = [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=clientAuth",
  ];
  return {
    caCert: ca.cert,
    kubeletClient: await signed(
      dir,
      "kubelet-client",
      ca,
      `/O=system:nodes/CN=system:node:${nodeName}`,
      client,
    ),
    kubeProxyClient: await signed(dir, "kube-proxy-client", ca, "/CN=system:kube-proxy", client),
    apiserverKubeletClient: await signed(
      dir,
      "apiserver-kubelet-client",
      ca,
      "/O=system:masters/CN=kube-apiserver-kubelet-client",
      client,
    ),
    kubeletServing: await signed(dir, "kubelet-serving", ca, `/O=system:nodes/CN=system:node:${nodeName}`, [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=serverAuth",
      `subjectAltName=DNS:${nodeName},IP:${nodeIp}`,
    ]),
  };
}
