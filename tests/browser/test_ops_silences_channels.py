"""ops_silences_channels_in_the_page

In a real Chromium: an admin starts a silence for an agent, adds and disables a
webhook channel, edits the agent's labels in place, finds the agent's alert in
the alert history and ends the silence; a viewer sees the channel's URL masked
and no way to change anything (tests/browser/ops_silences_channels.mjs). The
alert comes from the real receiver: the agent's status goes online, then
offline. Screenshots go to <build>/screenshots/ops/.
Skipped (exit 77) when Node.js, playwright-core or Chromium is not installed.
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
from browser_env import SKIP, find_node  # noqa: E402
from harness import System, log, wait_until  # noqa: E402

AGENT = "lab-1"


def status(online):
    doc = {"v": 1, "agent": AGENT, "state": "online" if online else "offline",
           "ts": int(time.time() * 1000)}
    if online:
        doc.update({"addrs": ["127.0.0.1"], "echo_port": 7777, "labels": {"site": "lab"}})
    else:
        doc["reason"] = "shutdown"
    return json.dumps(doc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()
    node = find_node()
    if not node:
        return SKIP
    with System(args.bin_dir, "browser-ops") as s:
        s.start_broker()
        s.start_receiver(extra=["--alert-hold-s", "0.5"])
        s.start_dashboard()
        token = s.register_agent(AGENT, "Lab 1", {"site": "lab"})
        with open(token) as f:
            password = f.read().strip()
        admin = s.dashboard_client()
        st, body = admin.request("POST", "/api/users", {"username": "watcher", "role": "viewer",
                                                         "password": "watcher-password-1"})
        assert st == 201, (st, body)
        # An alert in the history: the agent online, then offline.
        for online in (True, False):
            out = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(s.mqtt_port), "-V", "5",
                                  "-i", AGENT, "-u", AGENT, "-P", password, "-q", "1", "-r",
                                  "-t", f"mutuo/v1/agents/{AGENT}/status", "-m", status(online)],
                                 capture_output=True, text=True, timeout=10)
            assert out.returncode == 0, out.stderr
            time.sleep(1.5)
        wait_until("the offline alert in the history", lambda: admin.get(
            f"/api/alerts/history?subject=peer%2F{AGENT}")["entries"], 10)
        shots = os.path.join(args.bin_dir, "screenshots", "ops")
        os.makedirs(shots, exist_ok=True)
        r = subprocess.run([node, os.path.join(HERE, "ops_silences_channels.mjs"),
                            f"http://127.0.0.1:{s.http_port}/", AGENT,
                            "http://127.0.0.1:9/hooks/secret-token", shots],
                           timeout=120, env=dict(os.environ, MUTUO_USER=s.admin_user,
                                                 MUTUO_PASSWORD=s.admin_password,
                                                 MUTUO_VIEWER="watcher",
                                                 MUTUO_VIEWER_PASSWORD="watcher-password-1"))
        if r.returncode != 0:
            raise AssertionError("browser check failed")
        agent = [a for a in admin.get("/api/registry")["agents"] if a["id"] == AGENT][0]
        assert agent["labels"] == {"site": "lab2", "rack": "r7"}, agent
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
