#!/usr/bin/env python3
"""The consumer commands in docs/operating.md work on real results and the schemas hold.

Starts a real system (broker, receiver, tracker, two agents probing each other),
takes the `mosquitto_sub` commands documented in docs/operating.md ("The bus")
as they are written there (only host port and token filled in), runs them, and
validates every message they print against schemas/ with Python's jsonschema:
result batches, presence, and retained peers and assignments. It then reads
the Telegraf configuration from the same document and applies its json_v2
mapping (path, timestamp key and format, tags, topic parsing) to the batches
received, checking that every result becomes a point with a timestamp, its
observer, target and probe, and at least one field, as Telegraf would make it.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REPO, System, log  # noqa: E402

SKIP = 77
DOC = os.path.join(REPO, "docs", "operating.md")
SCHEMAS = os.path.join(REPO, "schemas")


def documented_commands():
    """{comment: argv} of the mosquitto_sub lines in the doc's 'Watch the bus' block."""
    text = open(DOC).read()
    m = re.search(r"Watch the bus.*?```sh\n(.*?)```", text, re.S)
    assert m, "docs/operating.md lost its 'Watch the bus' example"
    commands, comment = {}, None
    for line in m.group(1).splitlines():
        if line.startswith("# "):
            comment = line[2:]
        elif line.startswith("mosquitto_sub"):
            commands[comment] = line
    return commands


def telegraf_config():
    text = open(DOC).read()
    m = re.search(r"## Results in Telegraf.*?```toml\n(.*?)```", text, re.S)
    assert m, "docs/operating.md lost its Telegraf example"
    return tomllib.loads(m.group(1))


def fill_in(line, port, token):
    """The documented command with this test's broker port and reader token."""
    assert "-p 1883" in line and '"$TOKEN"' in line, line
    line = line.replace("-p 1883", f"-p {port}").replace('"$TOKEN"', shlex.quote(token))
    return shlex.split(line)


def run_sub(argv, count, wait_s):
    """Runs a documented subscriber until it printed `count` messages or wait_s passed."""
    argv = argv + ["-C", str(count), "-W", str(wait_s)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=wait_s + 10)
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    # -W ends mosquitto_sub with exit code 27 when it times out: fine once it printed something.
    assert p.returncode in (0, 27), f"{argv[0]} exited {p.returncode}: {p.stderr}"
    return [l.partition(" ")[::2] for l in lines]


def validator(name):
    import jsonschema
    with open(os.path.join(SCHEMAS, f"{name}.schema.json")) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def validate_all(kind, messages, topic_agent_re):
    v = validator(kind)
    for topic, payload in messages:
        doc = json.loads(payload)
        errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
        assert not errors, f"{topic}: {payload[:300]}\n  " + "\n  ".join(e.message for e in errors)
        m = re.fullmatch(topic_agent_re, topic)
        assert m and m.group(1) == doc["agent"], f"{topic} carries agent {doc.get('agent')}"
    return len(messages)


def telegraf_points(conf, topic, payload):
    """The points Telegraf's json_v2 object mapping would make of one message."""
    consumer = conf["inputs"]["mqtt_consumer"][0]
    parsing = consumer["topic_parsing"][0]
    tags = {}
    for pattern_part, name, part in zip(parsing["topic"].split("/"), parsing["tags"].split("/"),
                                        topic.split("/")):
        assert pattern_part in ("+", part), (parsing["topic"], topic)
        if name != "_":
            tags[name] = part
    spec = consumer["json_v2"][0]
    obj = spec["object"][0]
    assert obj["timestamp_format"] == "unix_ms"
    doc = json.loads(payload)
    points = []
    for item in doc[obj["path"]]:
        point_tags = dict(tags)
        point_tags.update({t: item[t] for t in obj["tags"] if t in item})
        fields = {}
        for k, v in item.items():
            if k in obj["tags"] or k == obj["timestamp_key"] or k in obj.get("excluded_keys", []):
                continue
            if isinstance(v, dict):
                fields.update({f"{k}_{kk}": vv for kk, vv in v.items()})
            elif not isinstance(v, list):
                fields[k] = v
        points.append((spec["measurement_name"], point_tags, fields, item[obj["timestamp_key"]]))
    return points


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        print("SKIP: python3-jsonschema not installed (scripts/install-deps.sh test)")
        sys.exit(SKIP)

    commands = documented_commands()
    results_cmd = next(c for k, c in commands.items() if "result" in k)
    status_cmd = next(c for k, c in commands.items() if "online" in k)
    conf = telegraf_config()
    assert conf["inputs"]["mqtt_consumer"][0]["topics"] == ["mutuo/v1/results/+"]

    with System(args.bin_dir, "mutuo-consumer") as s:
        s.start_broker()
        s.start_receiver()
        s.start_tracker(interval_s=1)
        for a in ("alpha", "bravo"):
            s.start_agent(a, packets=3)
        s.provision("service", "reader")
        token = s.token("reader")

        results = run_sub(fill_in(results_cmd, s.mqtt_port, token), count=8, wait_s=30)
        assert len(results) >= 4, f"the documented results consumer printed only {results}"
        n = validate_all("results", results, r"mutuo/v1/results/([a-z0-9-]+)")
        observers = {t.rsplit("/", 1)[1] for t, _ in results}
        log(f"{n} result batches from {sorted(observers)} valid against results.schema.json")

        statuses = run_sub(fill_in(status_cmd, s.mqtt_port, token), count=2, wait_s=10)
        n = validate_all("status", statuses, r"mutuo/v1/agents/([a-z0-9-]+)/status")
        assert {json.loads(p)["state"] for _, p in statuses} == {"online"}
        log(f"{n} presence messages valid against status.schema.json")

        # The retained peers and assignments, read the same way.
        for kind, topic in (("peer", "mutuo/v1/peers/+"), ("assign", "mutuo/v1/assign/+")):
            argv = fill_in(status_cmd, s.mqtt_port, token)
            argv[argv.index("mutuo/v1/agents/+/status")] = topic
            msgs = [(t, p) for t, p in run_sub(argv + ["--retained-only"], count=2, wait_s=5) if p]
            assert len(msgs) == 2, f"{topic}: {msgs}"
            validate_all(kind, msgs, r"mutuo/v1/\w+/([a-z0-9-]+)")
            log(f"2 retained {kind} messages valid against {kind}.schema.json")

        points = [p for t, payload in results for p in telegraf_points(conf, t, payload)]
        assert points, "no points"
        for measurement, tags, fields, ts in points:
            assert measurement == "mutuo_result"
            assert tags["observer"] in ("alpha", "bravo") and tags["probe"] in ("udp", "icmp")
            assert tags.get("peer") in ("alpha", "bravo") and tags["peer"] != tags["observer"], tags
            assert fields and isinstance(ts, int) and ts > 1_600_000_000_000, (fields, ts)
            assert "sent" in fields and "recv" in fields, fields
        log(f"the documented Telegraf json_v2 mapping makes {len(points)} points, "
            f"e.g. {points[0]}")
    print("test_consumer_docs: OK", flush=True)


if __name__ == "__main__":
    main()
