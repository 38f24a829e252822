#!/usr/bin/python3
"""Placeholder kubeadm for u7s's multi-host test, until the kubeadm model
(issue #10) is on main; it follows the model's documented cross-host
interface so that the test can switch without changing anything else.

Configuration: `kubeadm-model.conf` beside this file (`key=value` lines):
`version=v1.31.2`, `cluster=/dir` (the stand-in for what the API server
holds, shared by every host of the test), `hostname=NAME`.

- init: real certificates with openssl (CA, API server with the endpoint and
  advertise address in its names, the admin's client certificate),
  admin.conf and kubelet.conf, the kube-apiserver static pod manifest, the
  kubelet configuration; the cluster directory gets `cluster-info` (the CA),
  `tokens`, `certificate-key.sha256`, `kubeadm-certs/`, `nodes`; prints
  kubeadm's closing block with both join commands.
- join: opens a TCP connection to the endpoint (the API server must answer
  there, across hosts), checks the token, the CA hash (sha256 of the CA's
  SubjectPublicKeyInfo) and, for a control-plane node, the certificate key,
  with kubeadm's texts; writes what a worker or a new master has.
- reset: removes what kubeadm wrote (the node stays in `nodes`, as the real
  reset leaves the Node object to `kubectl delete node`).

Not modelled: flags and configuration checks (the model does them), etcd,
the kubelet's TLS bootstrap (kubelet.conf gets a certificate at once).
`config images pull` accepts any configuration: the real kubeadm (and the
model) refuse the JoinConfiguration that u7s's join passes there today
(issue #10's first bug), which stops every join; the test moves to the
model once that is fixed.
"""

import base64
import hashlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PKI = "/etc/kubernetes/pki"


def conf():
    out = {"version": "v1.31.2", "cluster": os.path.join(HERE, "cluster")}
    try:
        with open(os.path.join(HERE, "kubeadm-model.conf")) as f:
            for line in f:
                key, sep, value = line.strip().partition("=")
                if sep:
                    out[key] = value
    except OSError:
        pass
    return out


CONF = conf()
CLUSTER = CONF["cluster"]


def fail(message, code=1):
    sys.stderr.write(message + "\nTo see the stack trace of this error execute with --v=5 or higher\n")
    sys.exit(code)


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def key(path):
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
    os.chmod(path, 0o600)


def signed(name, subject, sans=None, ca=PKI + "/ca"):
    key(name + ".key")
    openssl("req", "-new", "-key", name + ".key", "-subj", subject, "-out", name + ".csr")
    ext = name + ".ext"
    with open(ext, "w") as f:
        if sans:
            f.write("subjectAltName=" + ",".join(sans) + "\n")
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
            "-CAcreateserial", "-days", "365", "-out", name + ".crt", "-extfile", ext)
    os.remove(name + ".csr")
    os.remove(ext)


def ca_hash(ca_crt):
    pub = subprocess.run(["openssl", "x509", "-in", ca_crt, "-noout", "-pubkey"], check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, check=True, capture_output=True).stdout
    return "sha256:" + hashlib.sha256(der).hexdigest()


def b64(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def kubeconfig(path, server, user, cert):
    write(path, f"""apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: {b64(PKI + '/ca.crt')}
    server: https://{server}
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: {user}
  name: {user}@kubernetes
current-context: {user}@kubernetes
users:
- name: {user}
  user:
    client-certificate-data: {b64(cert + '.crt')}
    client-key-data: {b64(cert + '.key')}
""", 0o600)


def field(text, name):
    m = re.search(r"^\s*-?\s*" + re.escape(name) + r":\s*['\"]?([^'\"\n]*)['\"]?\s*$", text, re.M)
    return m.group(1).strip() if m else None


def config_of(args):
    if "--config" not in args:
        fail("kubeadm-placeholder: only --config is modelled")
    with open(args[args.index("--config") + 1]) as f:
        return f.read()


def hostname():
    return CONF.get("hostname") or open("/proc/sys/kernel/hostname").read().strip()


def san_list(advertise, endpoint_host, node):
    sans = ["DNS:" + node, "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
            "DNS:kubernetes.default.svc.cluster.local", "IP:10.96.0.1", "IP:127.0.0.1", "IP:" + advertise]
    kind = "IP:" if re.fullmatch(r"[0-9.]+", endpoint_host) else "DNS:"
    if kind + endpoint_host not in sans:
        sans.append(kind + endpoint_host)
    return sans


def control_plane_files(advertise, port, endpoint, node):
    signed(PKI + "/apiserver", "/CN=kube-apiserver", san_list(advertise, endpoint.rsplit(":", 1)[0], node))
    signed(PKI + "/admin", "/O=system:masters/CN=kubernetes-admin")
    kubeconfig("/etc/kubernetes/admin.conf", endpoint, "kubernetes-admin", PKI + "/admin")
    for name in ("admin.crt", "admin.key"):
        os.remove(PKI + "/" + name)
    write("/etc/kubernetes/manifests/kube-apiserver.yaml", f"""apiVersion: v1
kind: Pod
metadata:
  labels:
    component: kube-apiserver
    tier: control-plane
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
    - --advertise-address={advertise}
    - --client-ca-file=/etc/kubernetes/pki/ca.crt
    - --etcd-servers=https://127.0.0.1:2379
    - --secure-port={port}
    - --tls-cert-file=/etc/kubernetes/pki/apiserver.crt
    - --tls-private-key-file=/etc/kubernetes/pki/apiserver.key
    image: registry.k8s.io/kube-apiserver:{CONF['version']}
    name: kube-apiserver
  hostNetwork: true
""")


def node_files(endpoint, node):
    signed(PKI + "/kubelet-client", f"/O=system:nodes/CN=system:node:{node}")
    kubeconfig("/etc/kubernetes/kubelet.conf", endpoint, f"system:node:{node}", PKI + "/kubelet-client")
    write("/var/lib/kubelet/config.yaml", """apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
staticPodPath: /etc/kubernetes/manifests
""")


def add_node(node, role):
    lines = []
    if os.path.exists(CLUSTER + "/nodes"):
        lines = [l for l in open(CLUSTER + "/nodes").read().splitlines() if l.split()[:1] != [node]]
    write(CLUSTER + "/nodes", "".join(l + "\n" for l in lines + [f"{node} {role}"]), 0o666)


def init(args):
    text = config_of(args)
    advertise = field(text, "advertiseAddress")
    port = field(text, "bindPort") or "6443"
    endpoint = field(text, "controlPlaneEndpoint") or f"{advertise}:{port}"
    node = hostname()
    os.makedirs(PKI, exist_ok=True)
    key(PKI + "/ca.key")
    openssl("req", "-x509", "-new", "-key", PKI + "/ca.key", "-subj", "/CN=kubernetes", "-days", "3650", "-out", PKI + "/ca.crt")
    control_plane_files(advertise, port, endpoint, node)
    node_files(endpoint, node)
    token = "%s.%s" % (secrets.token_hex(3), secrets.token_hex(8))
    cert_key = secrets.token_hex(32)
    os.makedirs(CLUSTER + "/kubeadm-certs", exist_ok=True)
    for name in ("ca.crt", "ca.key"):
        shutil.copy(PKI + "/" + name, CLUSTER + "/kubeadm-certs/" + name)
    write(CLUSTER + "/cluster-info", open(PKI + "/ca.crt").read(), 0o644)
    write(CLUSTER + "/tokens", token + "\n", 0o644)
    write(CLUSTER + "/certificate-key.sha256", hashlib.sha256(bytes.fromhex(cert_key)).hexdigest() + "\n", 0o644)
    write(CLUSTER + "/endpoints", f"{endpoint}\n{advertise}:{port}\n", 0o644)
    add_node(node, "control-plane")
    h = ca_hash(PKI + "/ca.crt")
    print(f"""[init] Using Kubernetes version: {CONF['version']}
[kubelet-check] The kubelet is healthy
[upload-certs] Using certificate key:
{cert_key}

Your Kubernetes control-plane has initialized successfully!

To start using your cluster, you need to run the following as a regular user:

  mkdir -p $HOME/.kube
  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config
  sudo chown $(id -u):$(id -g) $HOME/.kube/config

You can now join any number of control-plane nodes running the following command on each as root:

  kubeadm join {endpoint} --token {token} \\
	--discovery-token-ca-cert-hash {h} \\
	--control-plane --certificate-key {cert_key}

Please note that the certificate-key gives access to cluster sensitive data, keep it secret!

Then you can join any number of worker nodes by running the following on each as root:

kubeadm join {endpoint} --token {token} \\
	--discovery-token-ca-cert-hash {h} """)


def join(args):
    text = config_of(args)
    endpoint = field(text, "apiServerEndpoint")
    token = field(text, "token")
    wanted = re.findall(r"sha256:[0-9a-f]{64}", text)
    host, port = endpoint.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as e:
        fail(f'error execution phase preflight: couldn\'t validate the identity of the API Server: Get "https://{endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s": dial tcp {endpoint}: {e}')
    tokens = open(CLUSTER + "/tokens").read().split()
    if token not in tokens:
        fail(f"error execution phase preflight: couldn't validate the identity of the API Server: token id \"{token.split('.')[0]}\" is invalid for this cluster or it has expired. Use \"kubeadm token create\" on the control-plane node to create a new valid token")
    os.makedirs(PKI, exist_ok=True)
    write(PKI + "/ca.crt", open(CLUSTER + "/cluster-info").read())
    actual = ca_hash(PKI + "/ca.crt")
    if actual not in wanted:
        os.remove(PKI + "/ca.crt")
        fail(f"error execution phase preflight: couldn't validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys \"{actual}\" are pinned")
    node = hostname()
    if re.search(r"^\s*controlPlane:", text, re.M):
        cert_key = field(text, "certificateKey") or ""
        stored = open(CLUSTER + "/certificate-key.sha256").read().strip()
        try:
            good = hashlib.sha256(bytes.fromhex(cert_key)).hexdigest() == stored
        except ValueError:
            good = False
        if not good:
            fail("error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding certs: cipher: message authentication failed")
        for name in ("ca.crt", "ca.key"):
            shutil.copy(CLUSTER + "/kubeadm-certs/" + name, PKI + "/" + name)
        os.chmod(PKI + "/ca.key", 0o600)
        advertise = field(text, "advertiseAddress")
        port = field(text, "bindPort") or "6443"
        control_plane_files(advertise, port, endpoint, node)
        node_files(endpoint, node)
        add_node(node, "control-plane")
        with open(CLUSTER + "/endpoints", "a") as f:
            f.write(f"{advertise}:{port}\n")
        print("""
This node has joined the cluster and a new control plane instance was created:

* Certificate signing request was sent to apiserver and approval was received.
* The Kubelet was informed of the new secure connection details.
* Control plane label and taint were applied to the new node.
* The Kubernetes control plane instances scaled up.
* A new etcd member was added to the local/stacked etcd cluster.
""")
        return
    # A worker gets a kubelet certificate signed by the CA (the model's
    # stand-in for the TLS bootstrap); its CA key never reaches the worker.
    shutil.copy(CLUSTER + "/kubeadm-certs/ca.key", PKI + "/ca.key")
    try:
        node_files(endpoint, node)
    finally:
        os.remove(PKI + "/ca.key")
    add_node(node, "worker")
    print("""
This node has joined the cluster:
* Certificate signing request was sent to apiserver and a response was received.
* The Kubelet was informed of the new secure connection details.

Run 'kubectl get nodes' on the control-plane to see this node join the cluster.
""")


def reset(args):
    for d in ("/etc/kubernetes/manifests", "/var/lib/kubelet", PKI):
        if os.path.isdir(d):
            for entry in os.listdir(d):
                p = os.path.join(d, entry)
                if os.path.isdir(p) and not os.path.islink(p):
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    try:
                        os.remove(p)
                    except OSError:
                        pass
    for name in ("admin.conf", "super-admin.conf", "kubelet.conf", "bootstrap-kubelet.conf", "controller-manager.conf", "scheduler.conf"):
        try:
            os.remove("/etc/kubernetes/" + name)
        except FileNotFoundError:
            pass
    print("[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]")


def main():
    args = [a for a in sys.argv[1:]]
    words = [a for a in args if not a.startswith("-")]
    if not words:
        fail("kubeadm-placeholder: no command")
    if words[0] == "version":
        print(CONF["version"])
    elif words[:3] == ["config", "images", "pull"]:
        print("[config/images] Pulled (placeholder)")
    elif words[0] == "init":
        init(args)
    elif words[0] == "join":
        join(args)
    elif words[0] == "reset":
        reset(args)
    else:
        fail("kubeadm-placeholder: not modelled: " + " ".join(args))


if __name__ == "__main__":
    main()
