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
- Every answer carries `X-U7s-Standin: apiserver <advertise address>`, so a
  test can tell which master answered through the load balancer.

Not modelled: etcd (objects other than nodes live in this process only),
watches, field selectors, server-side apply, admission, RBAC beyond "a client
certificate of the cluster CA may do anything".
"""

import datetime
import http.server
import json
import os
import signal
import socketserver
import ssl
import sys
import threading
import time
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
