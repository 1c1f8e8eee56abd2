"""alerts_offline_not_down

Four agents, the real tracker and receiver (with its health engine) and a local
webhook endpoint. Every agent's retained mutuo/v1/alerts/peer/{agent} becomes up.
Then one agent is SIGKILLed: its last will makes it "offline" (cause offline), never
"down by probes"; the webhook gets exactly one notice about it, an "alert" in state
offline, and no notice of any "down". Prints the time from the kill to the verdict.
"""

import argparse
import http.server
import json
import signal
import threading
import time

from harness import System, log, wait_until

KEEPALIVE = 4
AGENTS = ["alpha", "bravo", "charlie", "delta"]


class Hook(http.server.BaseHTTPRequestHandler):
    received = []  # parsed bodies, in arrival order

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def alerts(sys_):
    return {t.rsplit("/", 1)[1]: json.loads(v)
            for t, v in sys_.retained("mutuo/v1/alerts/peer/+").items() if v}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/hook"
    try:
        with System(args.bin_dir, "alerts") as sys_:
            sys_.start_broker()
            sys_.start_receiver(extra=["--webhook-url", url, "--alert-hold-s", "2"])
            sys_.start_tracker(interval_s=1)
            for a in AGENTS:
                sys_.start_agent(a, keepalive=KEEPALIVE)

            wait_until("every agent's retained alert is up",
                       lambda: {a: x["state"] for a, x in alerts(sys_).items()} ==
                       {a: "up" for a in AGENTS}, 40, interval=1)
            up = alerts(sys_)["delta"]
            assert sorted(up["observers"]) == ["alpha", "bravo", "charlie"], up
            log("all four agents up, delta observed by the three others")

            killed_at = time.monotonic()
            sys_.kill("delta", signal.SIGKILL)
            wait_until("delta offline in its retained alert",
                       lambda: alerts(sys_)["delta"]["state"] == "offline", 1.5 * KEEPALIVE + 10,
                       interval=0.5)
            log(f"fault to verdict (offline): {time.monotonic() - killed_at:.1f}s")
            a = alerts(sys_)["delta"]
            assert a["cause"] == "offline", a

            wait_until("one webhook notice about delta",
                       lambda: any(n["alert"]["subject"] == "peer/delta" for n in Hook.received), 10)
            time.sleep(4)  # rounds go on: the others' failing probes must not turn it down
            assert alerts(sys_)["delta"]["state"] == "offline"
            about_delta = [n for n in Hook.received if n["alert"]["subject"] == "peer/delta"]
            assert len(about_delta) == 1, about_delta
            assert about_delta[0]["kind"] == "alert", about_delta
            assert about_delta[0]["alert"]["state"] == "offline", about_delta
            downs = [n for n in Hook.received if n["alert"]["state"] == "down"]
            assert not downs, downs
            for other in ["alpha", "bravo", "charlie"]:
                assert alerts(sys_)[other]["state"] in ("up", "unknown"), alerts(sys_)[other]
            log(f"webhook received {len(Hook.received)} notice(s), none 'down'")
    finally:
        server.shutdown()
    log("PASS")


if __name__ == "__main__":
    main()
