"""Real targets on loopback for the agent's probe tests: HTTP and HTTPS servers
(certificates made by openssl in the test), open and closed TCP ports, and a
dnsmasq on a loopback port. Each fixture is stopped by close(); processes are
started through the harness System, which stops them by PID."""

import calendar
import http.server
import os
import socket
import ssl
import subprocess
import threading
import time

from harness import free_port, log, wait_until


class Handler(http.server.BaseHTTPRequestHandler):
    BODY = b"hello from the mutuo agent test\n"

    def do_GET(self):
        if self.path == "/ok":
            self._answer(200, self.BODY)
        elif self.path == "/missing":
            self._answer(404, b"nothing here\n")
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/slow":
            time.sleep(1.5)
            self._answer(200, self.BODY)
        else:
            self._answer(404, b"?\n")

    def _answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    # The default listen backlog of 5 drops the SYNs of a round's parallel
    # connections beyond it: the client retries after 1 s, past the timeout.
    request_queue_size = 128


class HttpServer:
    """A threaded HTTP server on 127.0.0.1; with cert/key, HTTPS."""

    def __init__(self, cert=None, key=None):
        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A client that gives up (the agent's timeout) is expected: no traceback.
        self.server.handle_error = lambda request, address: None
        self.tls = cert is not None
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def url(self, path):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def cert_not_after(cert):
    """The certificate's notAfter as Unix seconds (read by openssl, not by the agent)."""
    out = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", cert], check=True,
                         capture_output=True, text=True, timeout=30).stdout.strip()
    return calendar.timegm(time.strptime(out.split("=", 1)[1], "%b %d %H:%M:%S %Y GMT"))


def make_cert(directory, name, days):
    """A self-signed certificate for 127.0.0.1 valid for `days` days; returns (cert, key)."""
    cert = os.path.join(directory, name + ".crt")
    key = os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", str(days), "-subj", f"/CN={name}",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class OpenPort:
    """A listening TCP socket that accepts (and closes) connections."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
                self.accepted += 1
                c.close()
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self):
        self.stopping = True
        self.thread.join(timeout=2)
        self.sock.close()


def closed_port():
    """A TCP port on 127.0.0.1 nobody listens on (bound, then released)."""
    return free_port()


def free_udp_tcp_port():
    """A port on 127.0.0.1 free for both UDP and TCP (dnsmasq listens on both),
    checked by binding both; None if 50 tries found none."""
    for _ in range(50):
        port = free_port(socket.SOCK_DGRAM)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            try:
                t.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    return None


def start_dnsmasq(system, records):
    """dnsmasq on 127.0.0.1:<port> answering `records` ({name: ipv4}, or {name:
    [address, ...]} for one record per address, A or AAAA) and NXDOMAIN for
    anything else under mutuo.test. Returns the port. A port taken between
    the check and dnsmasq's bind (a busy machine's ephemeral ports) costs a
    retry on another, at most 5 tries."""
    q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04ping\x05mutuo\x04test\x00\x00\x01\x00\x01"
    argv = ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
            "--listen-address=127.0.0.1", "--bind-interfaces",
            "--local=/mutuo.test/", "--log-facility=-", "--pid-file="]
    if os.geteuid() == 0:
        argv.append("--user=root")
    for name, ip in records.items():
        if isinstance(ip, list):
            argv.extend(f"--host-record={name},{a}" for a in ip)
        else:
            argv.append(f"--address=/{name}/{ip}")
    for attempt in range(1, 6):
        port = free_udp_tcp_port()
        assert port, "no port free for both UDP and TCP on 127.0.0.1"
        proc = system.spawn("dnsmasq", argv + [f"--port={port}"])

        def answers():
            if proc.poll() is not None:
                return "exited"
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.3)
                s.sendto(q, ("127.0.0.1", port))
                try:
                    return s.recvfrom(512)[0][:2] == b"\x12\x34"
                except socket.timeout:
                    return False
        if wait_until("dnsmasq answering or exiting", answers, 10) is True:
            return port
        log(f"dnsmasq exited at start (try {attempt} of 5, port {port}); trying another port")
    raise AssertionError("dnsmasq could not start on 5 ports (see dnsmasq.log)")
