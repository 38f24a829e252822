#!/usr/bin/python3
"""Stand-in for kubelet in u7s's multi-host test.

Run by u7s's kubelet role inside the rootlesskit namespaces (uid 0 there),
with the real kubelet's flags. It records them, then:

- serves HTTPS on :10250 as the real kubelet does (a self-signed serving
  certificate in /var/lib/kubelet/pki, made with openssl when missing):
  /healthz answers "ok" with `X-U7s-Standin: kubelet <hostname>`;
- runs the static pods of --config's staticPodPath that it knows: for
  kube-apiserver.yaml it starts the API server stand-in with the manifest's
  command-line flags (restarted when the manifest changes, stopped when it
  goes away), as the real kubelet would start the container;
- exits on SIGTERM, stopping what it started.

Everything else of a kubelet (CRI, node status, pods of the API) is not
modelled.
"""

import http.server
import os
import signal
import socketserver
import ssl
import subprocess
import sys
import threading
import time

APISERVER = "/usr/local/lib/u7s-test/apiserver.py"
PKI = "/var/lib/kubelet/pki"
HOSTNAME = open("/proc/sys/kernel/hostname").read().strip()


def arg(name, default):
    argv = sys.argv[1:]
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return default


def static_pod_path(config):
    try:
        with open(config) as f:
            for line in f:
                if line.startswith("staticPodPath:"):
                    return line.split(":", 1)[1].strip().strip("'\"")
    except OSError:
        pass
    return "/etc/kubernetes/manifests"


def manifest_command(text):
    """The first container's `command:` list of a static pod manifest."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() in ("command:", "- command:"):
            indent = None
            out = []
            for item in lines[i + 1:]:
                stripped = item.lstrip()
                if not stripped.startswith("- "):
                    break
                depth = len(item) - len(stripped)
                if indent is None:
                    indent = depth
                elif depth != indent:
                    break
                out.append(stripped[2:].strip().strip("'\""))
            return out
    return []


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        body = b"ok" if self.path.split("?")[0] == "/healthz" else b"404 page not found\n"
        self.send_response(200 if body == b"ok" else 404)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-U7s-Standin", "kubelet " + HOSTNAME)
        self.end_headers()
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def finish_request(self, request, client_address):
        try:
            request.settimeout(30)
            tls = self.context.wrap_socket(request, server_side=True)
            Handler(tls, client_address, self)
        except (ssl.SSLError, OSError):
            pass


def serve():
    os.makedirs(PKI, exist_ok=True)
    crt, key = PKI + "/kubelet.crt", PKI + "/kubelet.key"
    if not os.path.exists(crt):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", key, "-out", crt, "-days", "365",
             "-subj", "/CN=%s@standin" % HOSTNAME, "-addext", "subjectAltName=DNS:" + HOSTNAME],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Server(("0.0.0.0", 10250), Handler)
    server.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.context.load_cert_chain(crt, key)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main():
    sys.stderr.write("kubelet-standin on %s: %s\n" % (HOSTNAME, " ".join(sys.argv[1:])))
    pods = static_pod_path(arg("--config", "/var/lib/kubelet/config.yaml"))
    children = {}

    def stop(*_):
        for proc, _ in children.values():
            proc.terminate()
        for proc, _ in children.values():
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    serve()
    while True:
        path = os.path.join(pods, "kube-apiserver.yaml")
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            text = None
        running = children.get("kube-apiserver")
        if running and (text != running[1] or running[0].poll() is not None):
            running[0].terminate()
            running[0].wait()
            del children["kube-apiserver"]
            running = None
        if text is not None and running is None:
            command = manifest_command(text)
            if command and command[0] == "kube-apiserver":
                proc = subprocess.Popen(["/usr/bin/python3", APISERVER] + command)
                children["kube-apiserver"] = (proc, text)
        time.sleep(1)


if __name__ == "__main__":
    main()
