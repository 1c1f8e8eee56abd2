"""dashboard_page_shows_agents_and_mesh

The dashboard page, in a real Chromium, after logging in, lists three live agents
as online and fills the mesh matrix with their six healthy pairs.
Skipped (exit 77) when Node.js, playwright-core or Chromium is not installed.
"""

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
from browser_env import SKIP, find_node  # noqa: E402
from harness import System, log  # noqa: E402

AGENTS = ["alpha", "bravo", "charlie"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()
    node = find_node()
    if not node:
        return SKIP
    with System(args.bin_dir, "browser") as s:
        s.start_broker()
        s.start_receiver()
        s.start_tracker(interval_s=1)
        s.start_dashboard()
        for a in AGENTS:
            s.start_agent(a)
        shots = os.path.join(args.bin_dir, "screenshots")
        os.makedirs(shots, exist_ok=True)
        shot = os.path.join(shots, "dashboard_mesh.png")
        r = subprocess.run([node, os.path.join(HERE, "dashboard_shows_mesh.mjs"),
                            f"http://127.0.0.1:{s.http_port}/", shot, *AGENTS], timeout=120,
                           env=dict(os.environ, MUTUO_USER=s.admin_user, MUTUO_PASSWORD=s.admin_password))
        if r.returncode != 0:
            raise AssertionError("browser check failed")
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
