"""dashboard_checks_and_public_status_page

In a real Chromium: an admin creates an HTTP check in the page against a local
HTTP server this test starts on 127.0.0.1, sees its first result ("up", status
200) on the check's page and the check on the overview; turns the public status
page on for that check and an agent; then, logged out, the status page shows
both operational with 90-day uptime bars. A second browser page without
WebSocket support still shows the agents and the mesh by polling. Screenshots go
to <build>/screenshots/checks/.
Skipped (exit 77) when Node.js, playwright-core or Chromium is not installed.
"""

import argparse
import http.server
import os
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
from browser_env import SKIP, find_node  # noqa: E402
from harness import System, free_port, log  # noqa: E402

AGENTS = ["alpha", "bravo", "charlie"]


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"mutuo test service: ok\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()
    node = find_node()
    if not node:
        return SKIP
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with System(args.bin_dir, "browser-checks") as s:
            s.start_broker()
            s.start_receiver()
            s.start_tracker(interval_s=1)
            s.start_dashboard()
            for a in AGENTS:
                s.start_agent(a)
            shots = os.path.join(args.bin_dir, "screenshots", "checks")
            os.makedirs(shots, exist_ok=True)
            r = subprocess.run([node, os.path.join(HERE, "dashboard_checks_status.mjs"),
                                f"http://127.0.0.1:{s.http_port}/", shots,
                                f"http://127.0.0.1:{port}/health", *AGENTS],
                               timeout=150, env=dict(os.environ, MUTUO_USER=s.admin_user,
                                                     MUTUO_PASSWORD=s.admin_password))
            if r.returncode != 0:
                raise AssertionError("browser check failed")
    finally:
        server.shutdown()
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
