#!/usr/bin/python3
"""Network probes of u7s's multi-host test, run on a test machine or inside
its rootlesskit namespaces (through nsenter_u7s). Every probe is bounded in
count and time and stops by itself.

  https HOST PORT PATH COUNT [CAFILE]  one line per request: the status and the
                                       X-U7s-Standin header, or "error KIND"
                                       (with CAFILE the server's certificate
                                       must be valid for HOST)
  udp-listen PORT SECONDS              prints "listening", then the first
                                       datagram as "got PAYLOAD"; exit 1 when
                                       none came in time
  udp-send HOST PORT PAYLOAD           one datagram
  http-serve PORT TEXT SECONDS         answers every GET with TEXT, for SECONDS
  http-get HOST PORT                   prints the body of GET /
"""

import http.client
import http.server
import socket
import ssl
import sys
import threading


def https(host, port, path, count, cafile=None):
    if cafile:
        ctx = ssl.create_default_context(cafile=cafile)
    else:
        ctx = ssl._create_unverified_context()
    for _ in range(int(count)):
        conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=5)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            print(r.status, r.getheader("X-U7s-Standin") or "-")
        except Exception as e:  # the kind of failure is the answer
            print("error", type(e).__name__, str(e).replace("\n", " ")[:200])
        finally:
            conn.close()
        sys.stdout.flush()


def udp_listen(port, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(port)))
    s.settimeout(float(seconds))
    print("listening", flush=True)
    try:
        data, _ = s.recvfrom(2048)
    except socket.timeout:
        print("timeout", flush=True)
        sys.exit(1)
    print("got", data.decode(errors="replace"), flush=True)


def udp_send(host, port, payload):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(payload.encode(), (host, int(port)))


def http_serve(port, text, seconds):
    body = text.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("0.0.0.0", int(port)), Handler)
    threading.Timer(float(seconds), server.shutdown).start()
    print("serving", flush=True)
    server.serve_forever()


def http_get(host, port):
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("GET", "/")
    print(conn.getresponse().read().decode())


COMMANDS = {
    "https": https,
    "udp-listen": udp_listen,
    "udp-send": udp_send,
    "http-serve": http_serve,
    "http-get": http_get,
}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](*sys.argv[2:])
