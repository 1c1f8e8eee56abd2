#!/usr/bin/env python3
"""A notification channel made through the dashboard API gets the receiver's alerts.

Real broker, receiver and dashboard on loopback, a local HTTP endpoint. An admin
creates a webhook channel with POST /api/channels; the dashboard publishes it
retained on mutuo/v1/channels/{id}, which the broker's read-only 'reader' role
may not see (its URL may hold a secret) and a viewer sees masked; the receiver
applies it without a restart. An agent then goes offline (its status published
with its own account, as its last will would be): exactly one webhook call,
naming the channel. Disabled through the API, the channel gets nothing more;
deleted, it is gone from the receiver too. Along the way: a silence made through
the API is on the bus, and the alert history the receiver wrote is served by
GET /api/alerts/history.
"""

import argparse
import http.server
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DashboardClient, System, log, read_log, wait_until  # noqa: E402


class Hook(http.server.BaseHTTPRequestHandler):
    received = []  # parsed bodies, in arrival order

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        Hook.received.append(json.loads(self.rfile.read(n)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def status(agent, online):
    doc = {"v": 1, "agent": agent, "state": "online" if online else "offline",
           "ts": int(time.time() * 1000)}
    if online:
        doc.update({"version": "0.1.0", "addrs": ["127.0.0.1"], "echo_port": 7777,
                    "labels": {"site": "lab"}, "probes": ["udp"]})
    else:
        doc["reason"] = "shutdown"
    return json.dumps(doc)


def alert_state(s, agent):
    payload = s.retained(f"mutuo/v1/alerts/peer/{agent}", timeout=0.5).get(f"mutuo/v1/alerts/peer/{agent}")
    return json.loads(payload)["state"] if payload else None


def offline_calls(agent):
    return [b for b in Hook.received
            if b["alert"]["subject"] == f"peer/{agent}" and b["alert"]["state"] == "offline"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/hook/secret-token"
    try:
        with System(args.bin_dir, "ops-channels") as s:
            s.start_broker()
            s.start_receiver(extra=["--alert-hold-s", "0.5"])  # back online: unknown within 1 s
            s.start_dashboard()
            admin = s.dashboard_client()
            wait_until("the dashboard on the bus",
                       lambda: admin.get("/api/agents").get("broker_connected"), 15)

            # The channel, through the API.
            st, body = admin.request("POST", "/api/channels",
                                     {"id": "ops-hook", "kind": "webhook", "url": url,
                                      "rate_per_min": 60, "burst": 5})
            assert st == 201, (st, body)
            assert body["channel"]["url"] == url, body
            st, body = admin.request("POST", "/api/users",
                                     {"username": "watcher", "password": "watcher-pass-123",
                                      "role": "viewer"})
            assert st == 201, (st, body)
            viewer = s.dashboard_client("watcher", "watcher-pass-123")
            seen = viewer.get("/api/channels")
            assert seen["channels"][0]["url"] == f"http://127.0.0.1:{server.server_port}/***", seen
            assert "secret-token" not in json.dumps(seen), seen
            st, body = viewer.request("PUT", "/api/channels/ops-hook", {"enabled": False})
            assert st == 403, (st, body)
            log("channel created by the admin; a viewer sees its URL masked and cannot change it")

            wait_until("the receiver applies the channel",
                       lambda: "notification channel ops-hook (webhook" in read_log(s, "receiver"), 10)
            assert "secret-token" not in read_log(s, "receiver"), "the receiver logged the secret"
            # Retained on the broker, but not for the read-only reader role.
            assert s.retained("mutuo/v1/channels/#") == {}, "the reader role can read channels"

            # A silence through the API is on the bus (the reader may see those).
            st, body = admin.request("POST", "/api/silences",
                                     {"id": "lab-works", "label": {"key": "site", "value": "other"},
                                      "duration_s": 600, "comment": "not this lab"})
            assert st == 201, (st, body)
            wait_until("the silence retained on the broker",
                       lambda: "mutuo/v1/silences/lab-works" in s.retained("mutuo/v1/silences/+"), 10)
            assert viewer.get("/api/silences")["silences"][0]["state"] == "active"

            # An alert: agent t-1 comes online, then goes offline (offline is sent at once).
            s.provision("agent", "t-1")
            rc, out = s.mqtt_pub("t-1", "mutuo/v1/agents/t-1/status", status("t-1", True), retain=True)
            assert rc == 0, out
            wait_until("t-1 known to the receiver (unknown: no observers)",
                       lambda: alert_state(s, "t-1") == "unknown", 10)
            t0 = time.monotonic()
            rc, out = s.mqtt_pub("t-1", "mutuo/v1/agents/t-1/status", status("t-1", False), retain=True)
            assert rc == 0, out
            wait_until("the webhook call about t-1", lambda: offline_calls("t-1"), 15, interval=0.1)
            took = time.monotonic() - t0
            call = offline_calls("t-1")[0]
            assert call["channel"] == "ops-hook" and call["kind"] == "alert", call
            time.sleep(1.5)
            assert len(offline_calls("t-1")) == 1, Hook.received
            log(f"offline to webhook call through the API-made channel: {took:.1f}s (1 call)")

            # The alert history, as the dashboard serves it.
            def history():
                st, body = viewer.request("GET", "/api/alerts/history?subject=peer%2Ft-1&limit=10")
                assert st in (200, 503), (st, body)
                return body["entries"] if st == 200 and body["entries"] else None
            entries = wait_until("the alert history through the dashboard", history, 10)
            assert entries[0]["kind"] == "alert" and entries[0]["alert"]["state"] == "offline", entries
            log(f"GET /api/alerts/history: {len(entries)} entries for peer/t-1, newest first")

            # Disabled: the next alert sends nothing.
            st, body = admin.request("PUT", "/api/channels/ops-hook", {"enabled": False})
            assert st == 200 and body["channel"]["enabled"] is False, (st, body)
            wait_until("the receiver disables the channel",
                       lambda: ", disabled" in read_log(s, "receiver"), 10)
            before = len(Hook.received)
            rc, out = s.mqtt_pub("t-1", "mutuo/v1/agents/t-1/status", status("t-1", True), retain=True)
            assert rc == 0, out
            wait_until("t-1 back (unknown)", lambda: alert_state(s, "t-1") == "unknown", 10)
            rc, out = s.mqtt_pub("t-1", "mutuo/v1/agents/t-1/status", status("t-1", False), retain=True)
            assert rc == 0, out
            wait_until("the second offline in the history",
                       lambda: len([e for e in (history() or []) if e["kind"] == "alert"]) >= 2, 10)
            time.sleep(1.0)
            assert len(Hook.received) == before, Hook.received[before:]
            log("disabled channel: the second offline alert is recorded, not sent")

            st, body = admin.request("DELETE", "/api/channels/ops-hook")
            assert st == 200, (st, body)
            wait_until("the receiver removes the channel",
                       lambda: "notification channel ops-hook removed" in read_log(s, "receiver"), 10)
            assert admin.get("/api/channels")["channels"] == []
            st, body = admin.request("DELETE", "/api/silences/lab-works")
            assert st == 200, (st, body)
            wait_until("the silence gone from the broker",
                       lambda: s.retained("mutuo/v1/silences/+") == {}, 10)
    finally:
        server.shutdown()
    print("test_ops_channels_webhook: OK", flush=True)


if __name__ == "__main__":
    main()
