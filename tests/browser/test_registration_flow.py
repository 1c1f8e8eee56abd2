"""admin_registers_an_agent_in_the_browser

In a real Chromium: an admin logs in, registers an agent whose display name is
markup (shown as text), copies the token with the page's button; the agent,
started with that token, comes online on the page. See registration_flow.mjs.
Skipped (exit 77) when Node.js, playwright-core or Chromium is not installed.
"""

import argparse
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
from browser_env import SKIP, find_node  # noqa: E402
from harness import System, free_port, log, wait_until  # noqa: E402

AGENT = "browser-1"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()
    node = find_node()
    if not node:
        return SKIP
    with System(args.bin_dir, "browser-registration") as s:
        s.start_broker()
        s.start_dashboard()
        shots = os.path.join(args.bin_dir, "screenshots")
        os.makedirs(shots, exist_ok=True)
        token_file = os.path.join(s.dir, "agent-host-token")
        browser = subprocess.Popen(
            [node, os.path.join(HERE, "registration_flow.mjs"), s.dashboard_url + "/", AGENT,
             token_file, os.path.join(shots, "registration_flow.png")],
            env=dict(os.environ, MUTUO_USER=s.admin_user, MUTUO_PASSWORD=s.admin_password))
        try:
            wait_until("the token copied to the agent host", lambda: os.path.exists(token_file) and
                       os.path.getsize(token_file) > 0 or browser.poll() is not None, 60)
            if browser.poll() is None:
                s.spawn(AGENT, [s.program("agent/mutuo-agent"), "--id", AGENT, "--broker", s.broker_uri,
                                "--token-file", token_file,
                                "--echo-port", str(free_port(socket.SOCK_DGRAM)),
                                "--echo-bind", "127.0.0.1", "--advertise", "127.0.0.1",
                                "--buffer-dir", s.agent_buffer_dir(AGENT)])
            rc = browser.wait(timeout=90)
        finally:
            if browser.poll() is None:
                browser.kill()
                browser.wait(timeout=10)
        if rc != 0:
            raise AssertionError("browser check failed")
        with open(token_file) as f:
            token = f.read().strip()
        with open(s.log_path("dashboard"), errors="replace") as f:
            assert token not in f.read(), "the token is in the dashboard's log"
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
