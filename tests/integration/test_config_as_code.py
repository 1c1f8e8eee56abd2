#!/usr/bin/env python3
"""A mutuo setup round-trips through scripts/mutuo-config (docs/operating.md, "Config as code").

Against a real dashboard (and broker): an admin sets up agents (labels, one
disabled), service checks, silences and a notification channel through the
API; `mutuo-config export` writes the document (no tokens in it); importing it
again changes nothing; importing an empty document with --prune wipes
everything (reported); importing the export recreates it, writing the new
agents' tokens to files that the broker accepts; and a second export is the same
document as the first. A changed label, silence end or channel setting in the
file is then applied in place (the agent keeps its token) and reported.
"""

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REPO, System, log, wait_until  # noqa: E402

CLI = os.path.join(REPO, "scripts", "mutuo-config")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()

    with System(args.bin_dir, "mutuo-config") as s:
        s.start_broker()
        s.start_dashboard()
        admin = s.dashboard_client()
        wait_until("the dashboard on the bus", lambda: admin.get("/api/agents").get("broker_connected"),
                   15)
        status, body = admin.request("POST", "/api/tokens", {"name": "config", "role": "admin"})
        assert status in (200, 201), (status, body)
        token_file = os.path.join(s.dir, "api.token")
        with open(token_file, "w") as f:
            f.write(body["token"])

        def cli(*argv, expect=0):
            p = subprocess.run([sys.executable, CLI, "--url", s.dashboard_url, "--token-file", token_file,
                                *argv], capture_output=True, text=True, timeout=60)
            assert p.returncode == expect, f"mutuo-config {argv}: exit {p.returncode}\n{p.stdout}{p.stderr}"
            return p.stdout

        s.register_agent("fra-1", "Frankfurt 1", {"site": "fra", "provider": "acme"})
        s.register_agent("ams-2", "Amsterdam 2", {"site": "ams"})
        status, body = admin.request("POST", "/api/registry/ams-2/disable")
        assert status == 200, (status, body)
        for check in ({"id": "web-home", "type": "http", "url": "https://example.org/",
                       "expect_status": [200, 204], "interval_s": 30, "timeout_ms": 5000,
                       "observers": 2, "selector": {"site": "fra"}},
                      {"id": "db-port", "type": "tcp", "host": "db.example.org", "port": 5432,
                       "interval_s": 60, "agents": ["fra-1"]}):
            status, body = admin.request("POST", "/api/checks", check)
            assert status == 201, (status, body)

        now_ms = int(time.time() * 1000)
        for silence in ({"id": "fra-works", "label": {"key": "site", "value": "fra"},
                         "starts": now_ms, "ends": now_ms + 3_600_000, "comment": "CHG-1"},
                        {"id": "web-deploy", "check": "web-home", "duration_s": 900}):
            status, body = admin.request("POST", "/api/silences", silence)
            assert status == 201, (status, body)
        status, body = admin.request("POST", "/api/channels",
                                     {"id": "ops", "kind": "webhook", "rate_per_min": 12,
                                      "url": "https://hooks.example.org/T0/secret"})
        assert status == 201, (status, body)
        wait_until("the silences and channel back from the broker",
                   lambda: len(admin.get("/api/silences")["silences"]) == 2
                   and len(admin.get("/api/channels")["channels"]) == 1, 10)

        first = cli("export")
        doc = json.loads(first)
        assert [a["id"] for a in doc["agents"]] == ["ams-2", "fra-1"], doc
        assert doc["agents"][1] == {"id": "fra-1", "display_name": "Frankfurt 1",
                                    "labels": {"site": "fra", "provider": "acme"}, "enabled": True}
        assert doc["agents"][0]["enabled"] is False
        assert [c["check"] for c in doc["checks"]] == ["db-port", "web-home"], doc
        assert [x["id"] for x in doc["silences"]] == ["fra-works", "web-deploy"], doc
        assert doc["silences"][1]["subject"] == "check/web-home", doc
        assert doc["channels"] == [{"id": "ops", "kind": "webhook", "enabled": True, "burst": 10,
                                    "rate_per_min": 12, "url": "https://hooks.example.org/T0/secret"}], doc
        assert "token" not in first, "an export must not carry tokens"
        path = os.path.join(s.dir, "setup.json")
        with open(path, "w") as f:
            f.write(first)
        log(f"exported {len(doc['agents'])} agents, {len(doc['checks'])} checks, "
            f"{len(doc['silences'])} silences and {len(doc['channels'])} channels")

        out = cli("import", path)
        assert "changed 0, unchanged 7, problems 0" in out, out
        log("importing the export again changes nothing")

        empty = os.path.join(s.dir, "empty.json")
        with open(empty, "w") as f:
            json.dump({"mutuo_config": 1, "agents": [], "checks": []}, f)
        out = cli("import", empty, "--prune")
        for line in ("delete agent ams-2", "delete agent fra-1", "delete check db-port",
                     "delete check web-home", "delete silence fra-works", "delete silence web-deploy",
                     "delete channel ops", "changed 7,"):
            assert line in out, out
        wiped = wait_until("the wipe back from the broker", lambda: (lambda d: d if not any(
            d[k] for k in ("agents", "checks", "silences", "channels")) else None)(
                json.loads(cli("export"))), 10)
        assert wiped["agents"] == [] and wiped["checks"] == [], wiped
        log("wiped: " + out.strip().splitlines()[-1])

        tokens = os.path.join(s.dir, "tokens")
        out = cli("import", path, "--tokens-dir", tokens)
        for line in ("register agent ams-2", "disable agent ams-2", "register agent fra-1",
                     "create check db-port", "create check web-home", "create silence fra-works",
                     "create silence web-deploy", "create channel ops", "changed 8,"):
            assert line in out, out
        second = cli("export")
        assert second == first, f"export after wipe and import differs:\n{first}\n---\n{second}"
        log("export -> wipe -> import -> export gives the same document (silences and channels too)")
        assert cli("import", path).strip().endswith("changed 0, unchanged 7, problems 0")

        # The new token is real: the broker lets fra-1 in with it.
        assert oct(os.stat(os.path.join(tokens, "fra-1.token")).st_mode & 0o777) == "0o600"
        with open(os.path.join(tokens, "fra-1.token")) as f:
            tok = f.read().strip()
        rc, out = s.mqtt_sub_once("fra-1", "mutuo/v1/assign/fra-1", password=tok, wait_s=1)
        assert rc in (0, 27), f"exit {rc}: {out}"  # 27: -W ran out while connected
        rc, out = s.mqtt_sub_once("fra-1", "mutuo/v1/assign/fra-1", password=tok + "x", wait_s=1)
        assert rc not in (0, 27), f"a wrong token got in: {out}"
        log("fra-1's new token from the import connects to the broker")

        # Changes in the file are applied in place and reported: a label (the
        # agent keeps its token), a silence's end and comment, a channel's rate.
        doc["agents"][1]["labels"]["site"] = "fra2"
        doc["silences"][0]["ends"] += 60_000
        del doc["silences"][0]["comment"]
        doc["channels"][0]["rate_per_min"] = 6
        with open(path, "w") as f:
            json.dump(doc, f)
        out = cli("import", path)
        for line in ("change agent fra-1 (labels)", "change silence fra-works (comment, ends)",
                     "change channel ops (rate_per_min)", "changed 3, unchanged 4, problems 0"):
            assert line in out, out
        after = json.loads(cli("export"))
        assert after["agents"][1]["labels"]["site"] == "fra2", after
        assert after["silences"][0] == doc["silences"][0], after
        assert after["channels"][0]["rate_per_min"] == 6, after
        rc, out = s.mqtt_sub_once("fra-1", "mutuo/v1/assign/fra-1", password=tok, wait_s=1)
        assert rc in (0, 27), f"fra-1's token stopped working after the label change: {rc} {out}"
        assert cli("import", path).strip().endswith("changed 0, unchanged 7, problems 0")
        log("label, silence and channel changes applied in place; importing again changes nothing")
        out = cli("import", path, "--replace-agents", "--tokens-dir", tokens)
        assert "changed 0" in out, out
    print("test_config_as_code: OK", flush=True)


if __name__ == "__main__":
    main()
