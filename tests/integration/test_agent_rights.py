"""agent_acts_only_as_itself

With the broker as the enforcer (dynamic-security, one role per agent): a wrong
token is refused; an agent cannot publish results or status as another agent,
cannot publish assignments, cannot read another agent's assignment; the receiver
stores what an agent publishes as itself and nothing it tried as another.
"""

import argparse
import json
import sys
import time

from harness import System, log, wait_until


def batch(agent, target, ts):
    return json.dumps({"v": 1, "agent": agent, "batch": 1, "results": [
        {"peer": target, "probe": "udp", "ts": ts, "sent": 10, "recv": 10,
         "rtt_ms": {"min": 1.0, "avg": 2.0, "max": 3.0}, "jitter_ms": 0.1}]})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()

    with System(args.bin_dir, "rights") as s:
        s.start_broker()
        s.start_receiver()
        s.start_dashboard()
        s.provision("agent", "mallory")
        s.provision("agent", "victim")
        now = int(time.time() * 1000)

        rc, out = s.mqtt_sub_once("mallory", "mutuo/v1/assign/mallory", password="not-the-token")
        assert rc != 0 and "not authori" in out.lower(), out
        log("a wrong token is refused")

        rc, out = s.mqtt_sub_once("mallory", "mutuo/v1/assign/victim")
        assert "denied" in out.lower(), out
        log("reading another agent's assignment is denied")

        for topic, payload in [
            ("mutuo/v1/results/victim", batch("victim", "mallory", now)),
            ("mutuo/v1/agents/victim/status",
             json.dumps({"v": 1, "agent": "victim", "state": "offline", "ts": now, "reason": "shutdown"})),
            ("mutuo/v1/assign/mallory", json.dumps({"v": 1, "agent": "mallory", "rev": 99, "peers": []})),
            ("mutuo/v1/acks/victim", json.dumps({"v": 1, "agent": "victim", "batches": [1]})),
        ]:
            rc, out = s.mqtt_pub("mallory", topic, payload, retain=True)
            assert "not authori" in out.lower(), f"publish to {topic} was not refused: {out}"
        log("publishing as another agent, or on service topics, is refused by the broker")

        rc, out = s.mqtt_pub("mallory", "mutuo/v1/results/mallory", batch("mallory", "victim", now))
        assert rc == 0 and "not authori" not in out.lower(), out

        def stored_pairs():
            return {(c["observer"], c["target"]) for c in s.api("/api/matrix")["cells"]}
        wait_until("mallory's own result stored", lambda: ("mallory", "victim") in stored_pairs(), 15)
        time.sleep(1)
        assert ("victim", "mallory") not in stored_pairs(), stored_pairs()
        retained = s.retained("mutuo/v1/#")
        assert not any(t.startswith(("mutuo/v1/assign/", "mutuo/v1/agents/victim")) for t in retained), retained
        log("the receiver stored mallory's own result and nothing published as victim")
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
