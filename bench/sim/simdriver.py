"""Drives bench/sim's mutuo-sim from Python: one command per line on its stdin,
one JSON answer per line on its stdout. Used by the tracker integration tests
and by bench/tracker_bench.py."""

import json
import os
import queue
import subprocess
import threading
import time


class Sim:
    def __init__(self, argv, log_path):
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, start_new_session=True, text=True)
        self.lines = queue.Queue()
        self.events = []  # answers skipped by expect(), in order
        threading.Thread(target=self._read, daemon=True).start()
        ready = self.expect("ready", 20)
        self.fd_limit = ready.get("fd_limit")

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def expect(self, event, timeout):
        """The next answer of kind `event` (others are collected in self.extra)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"mutuo-sim: no '{event}' within {timeout}s")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"mutuo-sim exited ({self.proc.poll()}) before '{event}'")
            msg = json.loads(line)
            if msg.get("event") == event:
                return msg
            self.on_other(msg)

    def on_other(self, msg):
        if msg.get("event") == "error":
            raise AssertionError(f"mutuo-sim: {msg}")
        self.events.append(msg)

    def send(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def call(self, command, event, timeout):
        self.send(command)
        return self.expect(event, timeout)

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(timeout=10)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log.close()


def raise_nofile():
    """Raises this process's open-file limit (inherited by Mosquitto)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(hard, 1 << 16)
    try:  # root may raise the hard limit too
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
