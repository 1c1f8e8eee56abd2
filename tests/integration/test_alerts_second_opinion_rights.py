"""alerts_second_opinion_rights

Who may ask for second opinions (docs/health.md, "Second opinions"), enforced by
the broker (dynamic-security roles from broker-config/mutuo-broker): a plain
agent can neither publish a probe request nor a probe-now for another agent, nor
read another agent's probe-now; it may read its own. The receiver's account may
publish probe requests and the tracker's may publish probe-now. Against a real
tracker: a request published by the agent never reaches it (its
mutuo_tracker_probe_requests_total stays 0), the receiver's does.
"""

import argparse
import json
import sys
import time

from harness import System, free_port, log, scrape_metrics, wait_until


def request(subject, failing):
    return json.dumps({"v": 1, "subject": subject, "ts": int(time.time() * 1000),
                       "reason": "first-failure", "want": 2, "failing": [failing],
                       "observers": [failing]})


def probe_now(agent, target):
    now = int(time.time() * 1000)
    return json.dumps({"v": 1, "agent": agent, "subject": f"peer/{target}", "ts": now,
                       "expires": now + 10000, "rounds": 1, "every_ms": 1000,
                       "peers": [{"agent": target, "addr": "127.0.0.1", "echo_port": 9,
                                  "probes": ["udp"], "interval_s": 10}]})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()

    with System(args.bin_dir, "so-rights") as s:
        s.start_broker()
        port = free_port()
        s.start_tracker(extra=["--metrics-listen", f"127.0.0.1:{port}"])
        s.provision("service", "receiver")
        s.provision("agent", "mallory")
        s.provision("agent", "victim")
        wait_until("tracker metrics", lambda: "mutuo_tracker_probe_requests_total" in
                   scrape_metrics(port), 15)

        for topic, payload in [
            ("mutuo/v1/probe-requests/peer/victim", request("peer/victim", "mallory")),
            ("mutuo/v1/probe-now/victim", probe_now("victim", "mallory")),
            ("mutuo/v1/probe-now/mallory", probe_now("mallory", "victim")),
        ]:
            rc, out = s.mqtt_pub("mallory", topic, payload)
            assert "not authori" in out.lower(), f"publish to {topic} was not refused: {out}"
        log("an agent may not publish probe requests nor probe-now, not even its own")

        rc, out = s.mqtt_sub_once("mallory", "mutuo/v1/probe-now/victim")
        assert "denied" in out.lower(), out
        rc, out = s.mqtt_sub_once("mallory", "mutuo/v1/probe-requests/#")
        assert "denied" in out.lower(), out
        rc, out = s.mqtt_sub_once("mallory", "mutuo/v1/probe-now/mallory")
        assert "denied" not in out.lower(), out
        log("an agent may read its own probe-now only, and no probe request")

        time.sleep(1)
        assert scrape_metrics(port)["mutuo_tracker_probe_requests_total"] == 0
        rc, out = s.mqtt_pub("receiver", "mutuo/v1/probe-requests/peer/victim",
                             request("peer/victim", "mallory"))
        assert rc == 0 and "not authori" not in out.lower(), out
        wait_until("the tracker received the receiver's request",
                   lambda: scrape_metrics(port)["mutuo_tracker_probe_requests_total"] == 1, 10)
        rc, out = s.mqtt_pub("tracker", "mutuo/v1/probe-now/victim", probe_now("victim", "mallory"))
        assert rc == 0 and "not authori" not in out.lower(), out
        log("the receiver may ask, the tracker may answer; the agent's request never arrived")
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
