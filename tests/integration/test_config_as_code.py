#!/usr/bin/env python3
"""A mutuo setup round-trips through scripts/mutuo-config (docs/operating.md, "Config as code").

Against a real dashboard (and broker): an admin sets up agents (labels, one
disabled) and service checks through the API; `mutuo-config export` writes the
document (no tokens in it); importing it again changes nothing; importing an
empty document with --prune wipes everything (reported); importing the export
recreates it, writing the new agents' tokens to files that the broker accepts;
and a second export is the same document as the first.
"""

import argparse
import json
import os
import subprocess
import sys

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

        first = cli("export")
        doc = json.loads(first)
        assert [a["id"] for a in doc["agents"]] == ["ams-2", "fra-1"], doc
        assert doc["agents"][1] == {"id": "fra-1", "display_name": "Frankfurt 1",
                                    "labels": {"site": "fra", "provider": "acme"}, "enabled": True}
        assert doc["agents"][0]["enabled"] is False
        assert [c["check"] for c in doc["checks"]] == ["db-port", "web-home"], doc
        assert "token" not in first, "an export must not carry tokens"
        path = os.path.join(s.dir, "setup.json")
        with open(path, "w") as f:
            f.write(first)
        log(f"exported {len(doc['agents'])} agents and {len(doc['checks'])} checks")

        out = cli("import", path)
        assert "changed 0, unchanged 4, problems 0" in out, out
        log("importing the export again changes nothing")

        empty = os.path.join(s.dir, "empty.json")
        with open(empty, "w") as f:
            json.dump({"mutuo_config": 1, "agents": [], "checks": []}, f)
        out = cli("import", empty, "--prune")
        for line in ("delete agent ams-2", "delete agent fra-1", "delete check db-port",
                     "delete check web-home", "changed 4,"):
            assert line in out, out
        wiped = json.loads(cli("export"))
        assert wiped["agents"] == [] and wiped["checks"] == [], wiped
        log("wiped: " + out.strip().splitlines()[-1])

        tokens = os.path.join(s.dir, "tokens")
        out = cli("import", path, "--tokens-dir", tokens)
        for line in ("register agent ams-2", "disable agent ams-2", "register agent fra-1",
                     "create check db-port", "create check web-home", "changed 5,"):
            assert line in out, out
        second = cli("export")
        assert second == first, f"export after wipe and import differs:\n{first}\n---\n{second}"
        log("export -> wipe -> import -> export gives the same document")
        assert cli("import", path).strip().endswith("changed 0, unchanged 4, problems 0")

        # The new token is real: the broker lets fra-1 in with it.
        assert oct(os.stat(os.path.join(tokens, "fra-1.token")).st_mode & 0o777) == "0o600"
        with open(os.path.join(tokens, "fra-1.token")) as f:
            tok = f.read().strip()
        rc, out = s.mqtt_sub_once("fra-1", "mutuo/v1/assign/fra-1", password=tok, wait_s=1)
        assert rc in (0, 27), f"exit {rc}: {out}"  # 27: -W ran out while connected
        rc, out = s.mqtt_sub_once("fra-1", "mutuo/v1/assign/fra-1", password=tok + "x", wait_s=1)
        assert rc not in (0, 27), f"a wrong token got in: {out}"
        log("fra-1's new token from the import connects to the broker")

        # A changed label is reported, not silently ignored; --replace-agents applies it.
        doc["agents"][1]["labels"]["site"] = "fra2"
        with open(path, "w") as f:
            json.dump(doc, f)
        out = cli("import", path, expect=1)
        out = cli("import", path, "--replace-agents", "--tokens-dir", tokens)
        assert "register agent fra-1" in out, out
        assert json.loads(cli("export"))["agents"][1]["labels"]["site"] == "fra2"
    print("test_config_as_code: OK", flush=True)


if __name__ == "__main__":
    main()
