"""A test-only UDP relay between an agent's prober and another agent's echo
responder that drops and delays packets by rule, so a test knows exactly what
the path did. The agent has no loss flag: the loss is on the path, as in life.

Requests whose echo sequence number k (bytes 16..19 of the mutuo echo packet)
satisfies k % drop_every == 0 are dropped; replies are delayed by
delay_even_ms for even k and delay_odd_ms for odd k. Replies go out from the
relay's own port, so the prober sees them come from where it sent."""

import os
import selectors
import socket
import struct
import threading
import time


class LossyRelay:
    def __init__(self, target_port, drop_every=4, delay_even_ms=20, delay_odd_ms=40,
                 host="127.0.0.1"):
        self.target = (host, target_port)
        self.drop_every = drop_every
        self.delays = (delay_even_ms / 1000.0, delay_odd_ms / 1000.0)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.client = None
        self.forwarded = self.dropped = self.replied = 0
        self.stopping = False
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @staticmethod
    def seq_of(packet):
        if len(packet) != 24 or packet[:4] != b"MTE1":
            return None
        return struct.unpack(">I", packet[16:20])[0]

    def _send_later(self, data, addr, delay):
        def go():
            with self.lock:
                if not self.stopping:
                    self.sock.sendto(data, addr)
                    self.replied += 1
        t = threading.Timer(delay, go)
        t.daemon = True
        t.start()

    def _serve(self):
        while not self.stopping:
            try:
                data, addr = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            seq = self.seq_of(data)
            if addr == self.target:  # a reply from the responder
                if self.client is not None and seq is not None:
                    self._send_later(data, self.client, self.delays[seq % 2])
                continue
            self.client = addr
            if seq is None or seq % self.drop_every == 0:
                self.dropped += 1
                continue
            self.forwarded += 1
            self.sock.sendto(data, self.target)

    def close(self):
        with self.lock:
            self.stopping = True
        self.thread.join(timeout=2)
        self.sock.close()


class PathRelays:
    """Test-only relays that cut chosen observer -> target paths between real
    agents on loopback, for the health scenarios (test_alerts_*.py).

    Each target agent binds its echo responder on a loopback address of its own
    (127.0.1.N) and advertises another (127.0.2.N), where its relay listens on the
    same port. Every probe toward the agent goes through the relay, which forwards
    it unless the path (observer, target) is in `blocked`; replies go back to
    whoever asked, found by the echo packet's round nonce (bytes 8..15).

    The observer of a probe is the agent process owning the sending socket: the
    packet's source port is looked up in /proc/net/udp and the socket's inode among
    the file descriptors of the agent PIDs given to add(), once per probe round
    (an agent uses one socket and one nonce per round). Packets from a socket of no
    known agent are forwarded and counted in `unknown`."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.relays = {}  # agent -> {"sock", "responder", "port", ...}
        self.pids = {}  # agent -> pid
        self.blocked = frozenset()  # (observer, target) pairs; replaced whole
        self.nonces = {}  # (target, nonce) -> (observer, client address)
        self.forwarded = self.dropped = self.unknown = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def add(self, agent, n):
        """Makes a relay for `agent` (1 <= n <= 254). Returns the agent's
        arguments: --echo-bind, --echo-port and --advertise."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((f"127.0.2.{n}", 0))
        sock.setblocking(False)
        port = sock.getsockname()[1]
        responder = (f"127.0.1.{n}", port)
        self.relays[agent] = {"sock": sock, "responder": responder}
        self.sel.register(sock, selectors.EVENT_READ, agent)
        return ["--echo-bind", responder[0], "--echo-port", str(port),
                "--advertise", f"127.0.2.{n}"]

    def set_pid(self, agent, pid):
        self.pids[agent] = pid

    def block(self, pairs):
        self.blocked = frozenset(pairs)

    def _owner(self, port):
        """The agent whose process owns the UDP socket bound to `port`, or None."""
        inode = None
        try:
            with open("/proc/net/udp") as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inode = fields[9]
                        break
        except OSError:
            return None
        if inode is None:
            return None
        target = f"socket:[{inode}]"
        for agent, pid in self.pids.items():
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    try:
                        if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                            return agent
                    except OSError:
                        continue
            except OSError:
                continue
        return None

    def _serve(self):
        while not self.stopping:
            for key, _ in self.sel.select(timeout=0.2):
                target = key.data
                relay = self.relays[target]
                sock = relay["sock"]
                while True:
                    try:
                        data, addr = sock.recvfrom(2048)
                    except (BlockingIOError, OSError):
                        break
                    if len(data) != 24 or data[:4] != b"MTE1":
                        continue
                    nonce = data[8:16]
                    if addr == relay["responder"]:  # a reply
                        seen = self.nonces.get((target, nonce))
                        if seen is not None:
                            sock.sendto(data, seen[1])
                        continue
                    seen = self.nonces.get((target, nonce))
                    if seen is None:
                        if len(self.nonces) > 20000:
                            self.nonces.clear()
                        seen = (self._owner(addr[1]), addr)
                        self.nonces[(target, nonce)] = seen
                    observer = seen[0]
                    if observer is None:
                        self.unknown += 1
                    elif (observer, target) in self.blocked:
                        self.dropped += 1
                        continue
                    self.forwarded += 1
                    sock.sendto(data, relay["responder"])

    def close(self):
        self.stopping = True
        self.thread.join(timeout=2)
        for r in self.relays.values():
            r["sock"].close()
