"""dashboard_pushes_live_changes_over_a_websocket

Against the real system (broker, receiver, tracker, dashboard, agents): a logged-in
WebSocket on /api/live gets a hello, then, without asking, an "agent" event when an
agent comes online, "results" events carrying its matrix cells, and an "agent"
event with state offline when it stops. Without a session cookie, or from a
foreign Origin, the upgrade is refused.
"""

import argparse
import base64
import json
import os
import signal
import socket
import struct
import sys
import time

from harness import System, log


class WebSocket:
    """A minimal RFC 6455 client (text frames, ping answered), enough for the test."""

    def __init__(self, port, cookie=None, origin=None, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET /api/live HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if cookie:
            lines.append(f"Cookie: {cookie}")
        if origin:
            lines.append(f"Origin: {origin}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            head += chunk
        self.status_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
        self.buf = head.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in head else b""
        self.upgraded = " 101 " in self.status_line

    def _read(self, n, deadline):
        while len(self.buf) < n:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send(self, opcode, payload=b""):
        mask = os.urandom(4)
        header = bytes([0x80 | opcode, 0x80 | len(payload)]) + mask
        self.sock.sendall(header + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def recv(self, timeout):
        """The next text frame as parsed JSON; raises on timeout or close."""
        deadline = time.monotonic() + timeout
        while True:
            b0, b1 = self._read(2, deadline)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2, deadline))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8, deadline))[0]
            payload = self._read(n, deadline)
            opcode = b0 & 0x0F
            if opcode == 0x9:
                self._send(0xA, payload)
            elif opcode == 0x8:
                raise EOFError("closed by the server: " + payload[2:].decode(errors="replace"))
            elif opcode == 0x1:
                return json.loads(payload)

    def close(self):
        try:
            self._send(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


def events_until(ws, what, predicate, timeout):
    """Reads events until predicate(event) holds; returns that event."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for e in ws.recv(deadline - time.monotonic()):
            if predicate(e):
                return e
    raise AssertionError(f"no event: {what}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()

    with System(args.bin_dir, "dash-live") as s:
        s.start_broker()
        s.start_receiver()
        s.start_tracker(interval_s=1)
        s.start_dashboard()
        s.start_agent("alpha")
        admin = s.dashboard_client()
        cookie = "; ".join(f"{c.name}={c.value}" for c in admin.jar)

        anon = WebSocket(s.http_port)
        assert not anon.upgraded, anon.status_line
        anon.close()
        foreign = WebSocket(s.http_port, cookie=cookie, origin="http://evil.example")
        assert not foreign.upgraded, foreign.status_line
        foreign.close()
        log("no cookie, or a foreign Origin: upgrade refused")

        ws = WebSocket(s.http_port, cookie=cookie, origin=s.dashboard_url)
        assert ws.upgraded, ws.status_line
        first = ws.recv(5)
        assert first[0]["type"] == "hello", first
        log("live socket open, hello received")

        s.start_agent("bravo")
        e = events_until(ws, "bravo online",
                         lambda e: e["type"] == "agent" and e["agent"]["id"] == "bravo"
                         and e["agent"]["state"] == "online", 20)
        log(f"pushed: bravo online ({e['agent']['addrs']})")
        e = events_until(ws, "a result cell alpha->bravo",
                         lambda e: e["type"] == "results" and e["observer"] == "alpha"
                         and any(c["target"] == "bravo" and c["loss"] == 0 for c in e["cells"]), 30)
        cell = next(c for c in e["cells"] if c["target"] == "bravo")
        assert cell["rtt_ms"]["min"] <= cell["rtt_ms"]["avg"] <= cell["rtt_ms"]["max"], cell
        log(f"pushed: alpha->bravo cell, rtt avg {cell['rtt_ms']['avg']:.3f} ms")

        s.kill("bravo", signal.SIGTERM)
        e = events_until(ws, "bravo offline",
                         lambda e: e["type"] == "agent" and e["agent"]["id"] == "bravo"
                         and e["agent"]["state"] == "offline", 20)
        log(f"pushed: bravo offline ({e['agent']['reason']})")
        ws.close()
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
