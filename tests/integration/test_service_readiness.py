#!/usr/bin/env python3
"""Every service tells systemd when it is ready and when it stops (sd_notify).

Each program (receiver, tracker, dashboard, agent) runs with $NOTIFY_SOCKET set
to a datagram socket of this test, as systemd sets it for a Type=notify unit
(packaging/systemd). Each must send READY=1, with a STATUS saying it is
connected, once it reaches the real broker; and STOPPING=1 when SIGTERM
arrives, before it exits cleanly.
"""

import argparse
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import System, log  # noqa: E402


class NotifySocket:
    """What systemd listens on: one AF_UNIX datagram socket per service."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []

    def wait_for(self, key, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.messages:
                if key in m.split("\n"):
                    return m
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass
        raise AssertionError(f"{self.path}: no {key} within {timeout}s (got {self.messages})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()

    with System(args.bin_dir, "mutuo-readiness") as s:
        s.start_broker()
        sockets = {}

        def start(name, starter):
            sockets[name] = NotifySocket(os.path.join(s.dir, f"{name}.notify"))
            os.environ["NOTIFY_SOCKET"] = sockets[name].path  # spawn() passes the environment on
            try:
                starter()
            finally:
                del os.environ["NOTIFY_SOCKET"]

        start("receiver", s.start_receiver)
        start("tracker", s.start_tracker)
        start("dashboard", s.start_dashboard)
        start("alpha", lambda: s.start_agent("alpha"))

        for name, ns in sockets.items():
            m = ns.wait_for("READY=1", 20)
            assert "STATUS=" in m and ("connected to" in m), f"{name}: {m!r}"
            log(f"{name}: {m!r}")
        for name in ("alpha", "dashboard", "tracker", "receiver"):
            p = s.procs[name]
            p.send_signal(signal.SIGTERM)
            m = sockets[name].wait_for("STOPPING=1", 20)
            rc = p.wait(timeout=60)
            assert rc == 0, f"{name} exited {rc}"
            log(f"{name}: {m!r}, then exit 0")
    print("test_service_readiness: OK", flush=True)


if __name__ == "__main__":
    main()
