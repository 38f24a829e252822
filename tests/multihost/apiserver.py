#!/usr/bin/python3
"""Stand-in for kube-apiserver in u7s's multi-host test.

Started by the kubelet stand-in from the static pod manifest that kubeadm
wrote (/etc/kubernetes/manifests/kube-apiserver.yaml), with that manifest's
flags, inside the rootlesskit namespaces of a master. It proves the network
path, not Kubernetes:

- TLS on --secure-port with --tls-cert-file/--tls-private-key-file; client
  certificates are verified against --client-ca-file.
- Anyone may read /healthz, /livez, /readyz and /version (as the real one's
  system:public-info-viewer role allows). The health endpoints answer 500
  while /etc/kubernetes/u7s-standin-unhealthy exists: an API server that
  runs but fails its checks (as the real one does when etcd is gone), for
  the load balancer's health check to see. Everything else needs a client
  certificate signed by the cluster CA, else 401 as the real one answers.
- Enough of the API for the real kubectl: legacy discovery, the OpenAPI v3
  index that tells kubectl the server validates fields itself, create/get/
  list/delete of the kinds the flannel manifest holds (kept in memory), and
  nodes: the kubeadm model's cluster directory (`nodes`: "name role" lines)
  is the list, answered as a Table the way kubectl prints it.
- The pods/exec subresource as kubectl 1.30+ speaks it by default: a
  WebSocket (RFC 6455) upgrade of GET .../pods/NAME/exec?command=...,
  subprotocol v5.channel.k8s.io (v4.channel.k8s.io too), binary messages
  whose first byte is the channel: 0 stdin, 1 stdout, 2 stderr, 3 the exit
  status as a Status object, 255 (v5) "the client closed this channel". Its
  checks come in the real server's order: the pod (404 with a Status), its
  container, its node, then "Upgrade request required", then the
  subprotocol (an unknown one is refused with 403 as the kubelet's
  WebSocket server does). The "container" is a directory the test fills:
  $U7S_STANDIN_POD_ROOT/<namespace>/<pod>/<container>/, and it runs only
  what `kubectl cp` sends: `tar cf - PATH` (a real tar stream of that tree,
  with GNU tar's messages and exit status) and `test -d PATH`; anything
  else exits 127 in the status channel, as a missing program would. An
  image may ship its own tar (an executable bin/tar in that directory):
  then `tar ...` runs that program there, and what it writes is the
  answer. The image is u7s-admin's to choose, so a test can make the
  container's tar say anything, as a hostile one would.
- Every answer carries `X-U7s-Standin: apiserver <advertise address>`, so a
  test can tell which master answered through the load balancer.

Not modelled: etcd (objects other than nodes live in this process only),
watches, field selectors, server-side apply, admission, RBAC beyond "a client
certificate of the cluster CA may do anything"; exec over SPDY (kubectl's
fallback when the WebSocket upgrade fails: refused here, so such a failure
shows), exec with a TTY, the older channel protocols, stdin to the
container, attach and port-forward.
"""

import base64
import datetime
import hashlib
import http.server
import io
import json
import os
import signal
import socketserver
import ssl
import struct
import subprocess
import sys
import tarfile
import threading
import time
import urllib.parse
import uuid


def flags(argv):
    out = {}
    for arg in argv:
        if arg.startswith("--") and "=" in arg:
            key, value = arg[2:].split("=", 1)
            out[key] = value
    return out


FLAGS = flags(sys.argv[1:])
PORT = int(FLAGS.get("secure-port", "6443"))
ADDRESS = FLAGS.get("advertise-address", "")
MODEL_CONF = os.environ.get("U7S_STANDIN_MODEL_CONF", "/usr/bin/kubeadm-model.conf")
POD_ROOT = os.environ.get("U7S_STANDIN_POD_ROOT", "")
STARTED = datetime.datetime.now(datetime.timezone.utc)

# kind, namespaced, group/version for each resource kubectl may ask about.
RESOURCES = {
    "v1": {
        "namespaces": ("Namespace", False),
        "nodes": ("Node", False),
        "configmaps": ("ConfigMap", True),
        "secrets": ("Secret", True),
        "serviceaccounts": ("ServiceAccount", True),
        "pods": ("Pod", True),
        "services": ("Service", True),
    },
    "apps/v1": {
        "daemonsets": ("DaemonSet", True),
        "deployments": ("Deployment", True),
    },
    "rbac.authorization.k8s.io/v1": {
        "clusterroles": ("ClusterRole", False),
        "clusterrolebindings": ("ClusterRoleBinding", False),
        "roles": ("Role", True),
        "rolebindings": ("RoleBinding", True),
    },
}
PUBLIC = ("/healthz", "/livez", "/readyz", "/version")
UNHEALTHY = "/etc/kubernetes/u7s-standin-unhealthy"
OBJECTS = {}
LOCK = threading.Lock()
REVISION = [1]


def model_cluster_dir():
    try:
        with open(MODEL_CONF) as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                if key == "cluster":
                    return value
    except OSError:
        pass
    return None


def nodes():
    """(name, role) from the model's cluster directory."""
    cluster = model_cluster_dir()
    out = []
    if cluster:
        try:
            with open(os.path.join(cluster, "nodes")) as f:
                for line in f:
                    parts = line.split()
                    if parts:
                        out.append((parts[0], parts[1] if len(parts) > 1 else ""))
        except OSError:
            pass
    return out


def node_object(name, role):
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
    if role in ("control-plane", "init", "master"):
        labels["node-role.kubernetes.io/control-plane"] = ""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            "creationTimestamp": STARTED.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)),
            "resourceVersion": "1",
        },
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }


def node_table(items):
    rows = []
    for obj in items:
        meta = obj["metadata"]
        roles = sorted(
            k.split("/", 1)[1]
            for k in meta.get("labels", {})
            if k.startswith("node-role.kubernetes.io/")
        )
        rows.append(
            {
                "cells": [meta["name"], "Ready", ",".join(roles) or "<none>", "1m", "v0.0.0-standin"],
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": meta,
                },
            }
        )
    column = lambda name, fmt="": {
        "name": name,
        "type": "string",
        "format": fmt,
        "description": "",
        "priority": 0,
    }
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": str(REVISION[0])},
        "columnDefinitions": [
            column("Name", "name"),
            column("Status"),
            column("Roles"),
            column("Age"),
            column("Version"),
        ],
        "rows": rows,
    }


def status(code, reason, message):
    return code, {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def split_path(path):
    """(group/version, namespace, resource, name) of a REST path, or None."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        gv, rest = "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        gv, rest = parts[1] + "/" + parts[2], parts[3:]
    else:
        return None
    if gv not in RESOURCES or not rest:
        return None
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else None
    if resource not in RESOURCES[gv] or len(rest) > 2:
        return None
    return gv, namespace, resource, name


def discovery(gv):
    resources = []
    for name, (kind, namespaced) in RESOURCES[gv].items():
        resources.append(
            {
                "name": name,
                "singularName": kind.lower(),
                "namespaced": namespaced,
                "kind": kind,
                "verbs": ["create", "delete", "get", "list", "patch", "update"],
            }
        )
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def openapi_v3_index():
    paths = {}
    for gv in RESOURCES:
        key = "api/v1" if gv == "v1" else "apis/" + gv
        paths[key] = {"serverRelativeURL": "/openapi/v3/" + key + "?hash=standin"}
    return {"paths": paths}


def openapi_v3(gv):
    """PATCH operations that take fieldValidation, one per kind: what kubectl
    looks for before it leaves validation to the server."""
    group, _, version = gv.rpartition("/")
    paths = {}
    for name, (kind, namespaced) in RESOURCES[gv].items():
        prefix = "/api/v1" if gv == "v1" else "/apis/" + gv
        ns = "/namespaces/{namespace}" if namespaced else ""
        paths[prefix + ns + "/" + name + "/{name}"] = {
            "patch": {
                "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": kind},
                "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
                "responses": {},
            }
        }
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "standin"}, "paths": paths}


MERGE_PATCHES = ("application/merge-patch+json", "application/strategic-merge-patch+json")


def merge(target, patch):
    """A JSON merge patch (RFC 7386). For the maps kubectl edit changes, a
    strategic merge patch is the same; its $-directives are not modelled."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$"):
            continue
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge(out.get(k), v)
    return out


# pods/exec: the WebSocket protocol of k8s.io/apimachinery's wsstream and
# client-go's tools/remotecommand, and the "container" it runs in.

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# The subprotocols modelled, and the older ones a real kubelet would speak.
EXEC_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
OLDER_PROTOCOLS = ("v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io",
                   "v4.base64.channel.k8s.io", "base64.channel.k8s.io")
STDOUT, STDERR, ERROR = 1, 2, 3
OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x2, 0x8, 0x9, 0xA
# How long a container's process takes to start (see pod_exec). A second:
# kubectl's own start-up after the upgrade must fit in it on a loaded
# two-core CI machine, and 0.2 s was measured green only on a quiet one.
EXEC_START_SECONDS = 1.0
# GNU tar writes records of 20 blocks: an archive with no member is this.
EMPTY_TAR = b"\0" * 10240


def exec_target(path):
    """(namespace, pod) of a pods/exec path, or None."""
    parts = [p for p in path.split("/") if p]
    if len(parts) == 7 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods" and parts[6] == "exec":
        return parts[3], parts[5]
    return None


def ws_frame(opcode, payload):
    """One unfragmented, unmasked frame: what a server sends."""
    n = len(payload)
    if n < 126:
        length = bytes([n])
    elif n < 1 << 16:
        length = bytes([126]) + struct.pack(">H", n)
    else:
        length = bytes([127]) + struct.pack(">Q", n)
    return bytes([0x80 | opcode]) + length + payload


def ws_read(rfile):
    """(opcode, payload) of the next frame from a client, or None at the end
    of the connection or on a frame a client must not send (unmasked)."""
    head = rfile.read(2)
    if len(head) < 2:
        return None
    opcode, masked, n = head[0] & 0x0F, head[1] & 0x80, head[1] & 0x7F
    if n == 126:
        n = struct.unpack(">H", rfile.read(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", rfile.read(8))[0]
    if not masked:
        return None
    mask = rfile.read(4)
    data = rfile.read(n)
    if len(mask) < 4 or len(data) < n:
        return None
    return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def container_path(root, path):
    """Where PATH of the container (relative to its working directory /) is
    in its root, or None if that would leave the root."""
    inside = os.path.normpath(os.path.join("/", path))
    host = os.path.join(root, inside.lstrip("/"))
    real_root = os.path.realpath(root)
    real = os.path.realpath(host)
    if real != real_root and not real.startswith(real_root + "/"):
        return None
    return host


def tar_create(root, path):
    """`tar cf - PATH` of GNU tar: (stdout, stderr, exit status)."""
    err = b""
    if path.startswith("/"):
        err += b"tar: Removing leading `/' from member names\n"
    host = container_path(root, path)
    if host is None or not os.path.lexists(host):
        err += b"tar: %s: Cannot stat: No such file or directory\n" % path.encode()
        err += b"tar: Exiting with failure status due to previous errors\n"
        return EMPTY_TAR, err, 2
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        tar.add(host, arcname=os.path.normpath(path.lstrip("/")), recursive=True)
    return out.getvalue(), err, 0


def image_tar(root, argv):
    """(stdout, stderr, exit status) of the tar the container's image ships
    (ROOT/bin/tar), run with ARGV's arguments in ROOT."""
    done = subprocess.run([os.path.join(root, "bin/tar")] + argv[1:], cwd=root, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    return done.stdout, done.stderr, done.returncode


def run_in_container(root, argv):
    """(stdout, stderr, exit status) of ARGV in the container whose files are
    in ROOT: only the commands `kubectl cp` sends."""
    if argv[:1] == ["tar"] and os.access(os.path.join(root, "bin/tar"), os.X_OK):
        return image_tar(root, argv)
    if len(argv) == 4 and argv[:3] == ["tar", "cf", "-"]:
        return tar_create(root, argv[3])
    if len(argv) == 3 and argv[:2] == ["test", "-d"]:
        host = container_path(root, argv[2])
        return b"", b"", 0 if host and os.path.isdir(host) else 1
    message = "apiserver-standin: the container has no such command (only kubectl cp's are modelled): %s\n"
    return b"", (message % json.dumps(argv)).encode(), 127


def exit_status(argv, code):
    """The Status of the error channel (the kubelet's v4 format)."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": "command terminated with non-zero exit code: error executing command [%s], exit code %d" % (" ".join(argv), code),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def query_flag(query, name):
    return (query.get(name) or ["false"])[0] in ("true", "1")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("apiserver-standin: %s %s\n" % (self.address_string(), fmt % args))

    def reply(self, code, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-U7s-Standin", "apiserver " + ADDRESS)
        self.end_headers()
        self.wfile.write(data)

    def authenticated(self):
        try:
            return bool(self.connection.getpeercert())
        except (AttributeError, ValueError):
            return False

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def handle_any(self, method):
        path = self.path.split("?", 1)[0]
        if path in PUBLIC:
            if method != "GET":
                return self.reply(*status(405, "MethodNotAllowed", "method not allowed"))
            if path == "/version":
                return self.reply(200, {"major": "1", "minor": "31", "gitVersion": "v1.31.0-standin", "platform": "linux/amd64"})
            if os.path.exists(UNHEALTHY):
                return self.reply(500, b"[-]etcd failed: reason withheld\nhealthz check failed\n", "text/plain; charset=utf-8")
            return self.reply(200, b"ok", "text/plain; charset=utf-8")
        if not self.authenticated():
            return self.reply(*status(401, "Unauthorized", "Unauthorized"))
        if path == "/api":
            return self.reply(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ADDRESS + ":" + str(PORT)}]})
        if path == "/apis":
            groups = []
            for gv in RESOURCES:
                if gv == "v1":
                    continue
                group, version = gv.split("/")
                v = {"groupVersion": gv, "version": version}
                groups.append({"name": group, "versions": [v], "preferredVersion": v})
            return self.reply(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        if path == "/api/v1":
            return self.reply(200, discovery("v1"))
        if path.startswith("/apis/") and path.count("/") == 3 and path[6:] in RESOURCES:
            return self.reply(200, discovery(path[6:]))
        if path == "/openapi/v2":
            # kubectl up to 1.2x validates against OpenAPI v2 (protobuf): an
            # empty document is a valid one that describes no kind.
            return self.reply(200, b"", "application/octet-stream")
        if path == "/openapi/v3":
            return self.reply(200, openapi_v3_index())
        if path.startswith("/openapi/v3/"):
            key = path[len("/openapi/v3/"):]
            gv = "v1" if key == "api/v1" else key[len("apis/"):]
            if gv in RESOURCES:
                return self.reply(200, openapi_v3(gv))
        target = exec_target(path)
        if target is not None:
            return self.pod_exec(method, *target)
        parsed = split_path(path)
        if parsed is None:
            return self.reply(*status(404, "NotFound", "the server could not find the requested resource"))
        return self.rest(method, *parsed)

    def rest(self, method, gv, namespace, resource, name):
        kind, namespaced = RESOURCES[gv][resource]
        if method == "DELETE":
            # kubectl sends DeleteOptions; read them so the connection stays in step.
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with LOCK:
            if resource == "nodes":
                for n, role in nodes():
                    OBJECTS.setdefault((gv, None, resource, n), node_object(n, role))
            if method == "GET" and name is None:
                items = [o for (g, ns, r, _), o in sorted(OBJECTS.items()) if g == gv and r == resource and (namespace is None or ns == namespace)]
                if "as=Table" in (self.headers.get("Accept") or "") and resource == "nodes":
                    return self.reply(200, node_table(items))
                return self.reply(200, {"kind": kind + "List", "apiVersion": gv, "metadata": {"resourceVersion": str(REVISION[0])}, "items": items})
            if method == "POST" and name is None:
                obj = self.body()
                meta = obj.setdefault("metadata", {})
                new = meta.get("name")
                if not new:
                    return self.reply(*status(422, "Invalid", "metadata.name: Required value"))
                key = (gv, namespace if namespaced else None, resource, new)
                if key in OBJECTS:
                    return self.reply(*status(409, "AlreadyExists", '%s "%s" already exists' % (resource, new)))
                REVISION[0] += 1
                if namespaced:
                    meta["namespace"] = namespace
                meta["uid"] = str(uuid.uuid4())
                meta["resourceVersion"] = str(REVISION[0])
                meta["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                OBJECTS[key] = obj
                return self.reply(201, obj)
            key = (gv, namespace if namespaced else None, resource, name)
            if key not in OBJECTS or name is None:
                return self.reply(*status(404, "NotFound", '%s "%s" not found' % (resource, name)))
            if method == "GET":
                return self.reply(200, OBJECTS[key])
            if method == "DELETE":
                return self.reply(200, OBJECTS.pop(key))
            if method == "PATCH":
                kind_of_patch = (self.headers.get("Content-Type") or "").split(";")[0]
                patch = self.body()
                if kind_of_patch not in MERGE_PATCHES:
                    return self.reply(*status(415, "UnsupportedMediaType", "not modelled by the stand-in: " + kind_of_patch))
                REVISION[0] += 1
                obj = merge(OBJECTS[key], patch)
                obj["metadata"]["resourceVersion"] = str(REVISION[0])
                OBJECTS[key] = obj
                return self.reply(200, obj)
        return self.reply(*status(405, "MethodNotAllowed", "not modelled by the stand-in: " + method))

    def pod_exec(self, method, namespace, name):
        """pods/exec, checked in the real server's order (the pod, its
        container and node in the registry, then the upgrade, then the
        WebSocket handshake)."""
        # An upgrade request: whatever the answer, nothing follows on it.
        self.close_connection = True
        query = urllib.parse.parse_qs(self.path.partition("?")[2])
        with LOCK:
            pod = OBJECTS.get(("v1", namespace, "pods", name))
        if pod is None:
            return self.reply(*status(404, "NotFound", 'pods "%s" not found' % name))
        spec = pod.get("spec") or {}
        containers = [c.get("name") for c in spec.get("containers") or []]
        container = (query.get("container") or [""])[0]
        if not container and len(containers) == 1:
            container = containers[0]
        if not container:
            return self.reply(*status(400, "BadRequest", "a container name must be specified for pod %s, choose one of: [%s]" % (name, " ".join(containers))))
        if container not in containers:
            return self.reply(*status(400, "BadRequest", "container %s is not valid for pod %s" % (container, name)))
        if not spec.get("nodeName"):
            return self.reply(*status(400, "BadRequest", "pod %s does not have a host assigned" % name))
        upgrade = (self.headers.get("Upgrade") or "").lower()
        if "upgrade" not in (self.headers.get("Connection") or "").lower() or not upgrade:
            return self.reply(*status(400, "BadRequest", "Upgrade request required"))
        if upgrade != "websocket":
            return self.reply(*status(400, "BadRequest", "not modelled by the stand-in: exec over " + upgrade + " (kubectl 1.30+ asks for a WebSocket first)"))
        if method != "GET":
            return self.reply(*status(405, "MethodNotAllowed", "a WebSocket upgrade is a GET"))
        key = self.headers.get("Sec-WebSocket-Key")
        if self.headers.get("Sec-WebSocket-Version") != "13" or not key:
            return self.reply(400, b"Bad Request", "text/plain; charset=utf-8")
        offered = [p.strip() for h in self.headers.get_all("Sec-WebSocket-Protocol") or [] for p in h.split(",") if p.strip()]
        if not offered:
            return self.reply(*status(400, "BadRequest", "not modelled by the stand-in: a WebSocket without a subprotocol (the kubelet would speak channel.k8s.io)"))
        chosen = next((p for p in offered if p in EXEC_PROTOCOLS), None)
        if chosen is None:
            if any(p in OLDER_PROTOCOLS for p in offered):
                return self.reply(*status(400, "BadRequest", "not modelled by the stand-in: subprotocols %s" % offered))
            # golang.org/x/net/websocket's answer when the handshake
            # (wsstream's protocol negotiation) fails.
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\n\r\n")
            return
        streams = {n: query_flag(query, n) for n in ("stdin", "stdout", "stderr", "tty")}
        if streams["tty"]:
            return self.reply(*status(400, "BadRequest", "not modelled by the stand-in: exec with a TTY"))
        if not (streams["stdin"] or streams["stdout"] or streams["stderr"]):
            return self.reply(*status(400, "BadRequest", "you must specify at least 1 of stdin, stdout, stderr"))
        root = os.path.join(POD_ROOT, namespace, name, container) if POD_ROOT else ""
        if not os.path.isdir(root):
            return self.reply(*status(404, "NotFound", 'container not found ("%s")' % container))
        argv = query.get("command") or []
        out, err, code = run_in_container(root, argv)
        accept = base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest()).decode()
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.send_header("Sec-WebSocket-Protocol", chosen)
        self.send_header("X-U7s-Standin", "apiserver " + ADDRESS)
        self.end_headers()
        sys.stderr.write("apiserver-standin: exec %s/%s/%s %s over %s: exit %d\n" % (namespace, name, container, json.dumps(argv), chosen, code))
        sys.stderr.flush()
        send = lambda channel, data: self.wfile.write(ws_frame(OP_BINARY, bytes([channel]) + data))
        # A container's process starts some milliseconds after the upgrade
        # (runc exec), and nothing comes before. client-go up to 1.33
        # (kubectl 1.32 here) relies on that: it reads the connection before
        # it has made its streams and drops what comes first ("Unknown
        # stream id 1, discarding message"; kubernetes/kubernetes#131189,
        # fixed in 1.34), so an answer sent at once would lose kubectl's
        # stdout and exit status now and then.
        time.sleep(EXEC_START_SECONDS)
        # The kubelet's first message: an empty one on the lowest output
        # channel, telling the client the streams are up.
        send(STDOUT if streams["stdout"] else STDERR if streams["stderr"] else ERROR, b"")
        if streams["stdout"]:
            for at in range(0, len(out), 32 * 1024):
                send(STDOUT, out[at:at + 32 * 1024])
        if streams["stderr"] and err:
            send(STDERR, err)
        send(ERROR, json.dumps(exit_status(argv, code)).encode())
        self.wfile.write(ws_frame(OP_CLOSE, struct.pack(">H", 1000)))
        # Until the client's close: stdin (nothing modelled reads it), its
        # v5 channel closes, its pings.
        while True:
            frame = ws_read(self.rfile)
            if frame is None or frame[0] == OP_CLOSE:
                return
            if frame[0] == OP_PING:
                self.wfile.write(ws_frame(OP_PONG, frame[1]))

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, context):
        self.context = context
        super().__init__(("0.0.0.0", PORT), Handler)

    def finish_request(self, request, client_address):
        # The TLS handshake happens in the connection's own thread, so a
        # client that never finishes it (a load balancer's SSL hello check)
        # holds up nobody else.
        try:
            request.settimeout(30)
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            Handler(tls, client_address, self)
        except (ssl.SSLError, OSError):
            pass


def main():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(FLAGS["tls-cert-file"], FLAGS["tls-private-key-file"])
    if "client-ca-file" in FLAGS:
        context.load_verify_locations(FLAGS["client-ca-file"])
        context.verify_mode = ssl.CERT_OPTIONAL
    server = Server(context)
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    # The port bound (--secure-port=0 picks a free one), for a test to read.
    sys.stderr.write("apiserver-standin: serving on :%d for %s\n" % (server.server_address[1], ADDRESS))
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
