"""A test-only UDP relay between an agent's prober and another agent's echo
responder that drops and delays packets by rule, so a test knows exactly what
the path did. The agent has no loss flag: the loss is on the path, as in life.

Requests whose echo sequence number k (bytes 16..19 of the mutuo echo packet)
satisfies k % drop_every == 0 are dropped; replies are delayed by
delay_even_ms for even k and delay_odd_ms for odd k. Replies go out from the
relay's own port, so the prober sees them come from where it sent."""

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
