"""dashboard_history_and_live_matrix

In a real Chromium: log in, three agents online, open a pair's history chart
(uPlot bundled into the dashboard) and switch its ranges, then stop one agent and
watch its matrix cells turn "down" without a reload. Screenshots go to
<build>/screenshots/history/.
Skipped (exit 77) when Node.js, playwright-core or Chromium is not installed.
"""

import argparse
import os
import select
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
from browser_env import SKIP, find_node  # noqa: E402
from harness import System, log  # noqa: E402

AGENTS = ["alpha", "bravo", "charlie"]
STOPPED = "charlie"


def read_line(proc, deadline):
    """The next stdout line of proc before deadline, or None (EOF or timeout)."""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            return line if line else None
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()
    node = find_node()
    if not node:
        return SKIP
    with System(args.bin_dir, "browser-history") as s:
        s.start_broker()
        s.start_receiver()
        s.start_tracker(interval_s=1)
        s.start_dashboard()
        for a in AGENTS:
            s.start_agent(a)
        shots = os.path.join(args.bin_dir, "screenshots", "history")
        os.makedirs(shots, exist_ok=True)
        proc = subprocess.Popen(
            [node, os.path.join(HERE, "dashboard_history.mjs"), f"http://127.0.0.1:{s.http_port}/",
             shots, STOPPED, *AGENTS],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
            env=dict(os.environ, MUTUO_USER=s.admin_user, MUTUO_PASSWORD=s.admin_password))
        try:
            deadline = time.monotonic() + 150
            ok = False
            while True:
                line = read_line(proc, deadline)
                if line is None:
                    break
                log(line.rstrip())
                if line.startswith("STOP "):
                    s.kill(STOPPED, signal.SIGTERM)
                    proc.stdin.write("stopped\n")
                    proc.stdin.flush()
                if line.startswith("browser: chart drawn"):
                    ok = True
            rc = proc.wait(timeout=max(1, deadline - time.monotonic()))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        if rc != 0 or not ok:
            raise AssertionError(f"browser check failed (exit {rc})")
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
