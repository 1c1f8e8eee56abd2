"""agent_measures_real_targets_on_loopback

One agent is handed, through a retained assign/{agent} (published here as the
tracker would), a UDP echo peer behind a lossy relay and one check of every
kind against real servers this test starts on loopback: HTTP (ok, 404,
redirect, slow, an expected status and a body keyword that match and that do
not), HTTPS (trusted, expiring in 5 days, untrusted) with certificates made by
openssl, an open and a closed TCP port, dnsmasq (a name with one address, one
with three, one with only an IPv6 address, one it does not know), and ICMP to
127.0.0.1. Every figure the agent publishes on results/{agent} is checked
against what the target did (the certificates' days left against their
notAfter as openssl reads it, the DNS answer counts against the records
served). A second agent runs without privileges (as nobody, when the test runs
as root): its ICMP results say "unsupported" unless the host allows
unprivileged ICMP, never a fake figure. Last, the real tracker takes over:
http checks with expectations, published on checks/{id} as the dashboard would,
reach the agent through the tracker's assign/{agent} untouched and are judged
as the server answered.
"""

import argparse
import json
import os
import subprocess
import sys
import time

from agent_fixtures import HttpServer, OpenPort, cert_not_after, closed_port, make_cert, start_dnsmasq
from harness import System, free_port, log, wait_until
from lossy_relay import LossyRelay

INTERVAL_S = 2
UDP_PACKETS = 8  # the relay drops k = 0 and 4: 6 of 8 come back


def results_of(system, agent, seconds):
    """Every result the agent published during `seconds`, newest last, deduplicated
    by batch number (unconfirmed batches are resent: no receiver runs here)."""
    token = system.token("reader")
    out = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(system.mqtt_port), "-V", "5",
                          "-i", "reader", "-u", "reader", "-P", token, "-q", "1",
                          "-t", f"mutuo/v1/results/{agent}", "-W", str(seconds)],
                         capture_output=True, text=True, timeout=seconds + 10)
    batches = {}
    for line in out.stdout.splitlines():
        b = json.loads(line)
        batches[b["batch"]] = b
    results = []
    for n in sorted(batches):
        results.extend(batches[n]["results"])
    return results


def latest_by_target(results):
    latest = {}
    for r in results:
        latest[(r.get("peer") or r.get("check"), r["probe"])] = r
    return latest


def assign(system, agent, peers, checks, rev=1):
    payload = json.dumps({"v": 1, "agent": agent, "rev": rev, "peers": peers, "checks": checks})
    rc, out = system.mqtt_pub("tracker", f"mutuo/v1/assign/{agent}", payload, retain=True)
    assert rc == 0, out


def echo_port_of(system, agent):
    status = wait_until(f"{agent} online", lambda: system.retained(f"mutuo/v1/agents/{agent}/status")
                        .get(f"mutuo/v1/agents/{agent}/status"), 15)
    return json.loads(status)["echo_port"]


def check(c, kind, interval=INTERVAL_S, timeout_ms=1000, **fields):
    return {"check": c, "type": kind, "interval_s": interval, "timeout_ms": timeout_ms, **fields}


def through_tracker(s, web):
    """checks/{id} with http expectations -> the real tracker -> assign/prober ->
    the prober's http probe -> results/prober."""
    s.provision("service", "dashboard")  # the account that may publish checks
    published = {
        "via-tracker-match": {"url": web.url("/missing"), "expect_status": 404,  # shorthand
                              "expect_keyword": "nothing here"},
        "via-tracker-status": {"url": web.url("/ok"), "expect_status": [503]},
        "via-tracker-keyword": {"url": web.url("/ok"), "expect_status": [200, 204],
                                "expect_keyword": "not in the body"},
    }
    for cid, fields in published.items():
        payload = {"v": 1, "check": cid, "type": "http", "interval_s": INTERVAL_S, "timeout_ms": 1000,
                   "observers": 1, "agents": ["prober"], **fields}
        rc, out = s.mqtt_pub("dashboard", f"mutuo/v1/checks/{cid}", json.dumps(payload), retain=True)
        assert rc == 0, out
    # The tracker account exists (this test published assignments with it).
    s.spawn("tracker", [s.program("tracker/mutuo-tracker"), "--broker", s.broker_uri,
                        "--token-file", s.token_file("tracker"), "--interval-s", str(INTERVAL_S),
                        "--settle-ms", "500"])

    def assigned():
        raw = s.retained("mutuo/v1/assign/prober").get("mutuo/v1/assign/prober")
        a = json.loads(raw) if raw else {}
        checks = {c["check"]: c for c in a.get("checks", [])}
        return (a, checks) if a.get("rev", 0) > 1 and set(published) <= set(checks) else None
    a, checks = wait_until("the tracker's assignment with the checks", assigned, 20)
    for cid, fields in published.items():
        status = fields.get("expect_status")
        assert checks[cid].get("expect_status") == (status if isinstance(status, list) else [status]), checks
        assert checks[cid].get("expect_keyword") == fields.get("expect_keyword"), checks
        assert checks[cid]["url"] == fields["url"], checks
    log(f"tracker rev {a['rev']}: the checks' expectations reached assign/prober untouched")

    got = latest_by_target(results_of(s, "prober", 2 * INTERVAL_S + 2))
    for cid in published:
        assert (cid, "http") in got, f"no result for {cid}: {sorted(got)}"
    match = got[("via-tracker-match", "http")]
    assert match["ok"] and match["status"] == 404, match
    status = got[("via-tracker-status", "http")]
    assert not status["ok"] and status["error"] == "status 200, expected 503", status
    keyword = got[("via-tracker-keyword", "http")]
    assert not keyword["ok"] and keyword["status"] == 200 and keyword["error"] == "keyword not found", keyword
    log("through the tracker: expected 404 + keyword ok; 200 vs 503 and a missing keyword fail with reasons")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()

    with System(args.bin_dir, "agent-probes") as s:
        s.start_broker()
        s.provision("service", "tracker")
        s.provision("service", "reader")
        good = make_cert(s.dir, "good", 30)
        short = make_cert(s.dir, "short", 5)
        stranger = make_cert(s.dir, "stranger", 30)
        ca = os.path.join(s.dir, "trusted.pem")
        with open(ca, "w") as f:
            for cert in (good[0], short[0]):
                f.write(open(cert).read())
        servers = [HttpServer(), HttpServer(*good), HttpServer(*short), HttpServer(*stranger)]
        web, web_tls, web_short, web_stranger = servers
        open_port = OpenPort()
        dns_port = start_dnsmasq(s, {"www.mutuo.test": "127.0.0.5",
                                     "multi.mutuo.test": ["127.0.0.6", "127.0.0.7", "127.0.0.8"],
                                     "v6only.mutuo.test": ["::1"]})

        config = os.path.join(s.dir, "echoer.toml")  # options from a config file, flags win
        with open(config, "w") as f:
            f.write('label = ["site=from-config", "rack=r7"]\nudp-packets = 99\nstatus-interval-s = 5\n')
        s.start_agent("echoer", extra=["--config", config])
        relay = LossyRelay(echo_port_of(s, "echoer"), drop_every=4, delay_even_ms=20, delay_odd_ms=40)
        echoer_status = json.loads(s.retained("mutuo/v1/agents/echoer/status")["mutuo/v1/agents/echoer/status"])
        assert echoer_status["labels"] == {"site": "from-config", "rack": "r7"}, echoer_status
        log("config file read: labels announced")
        s.start_agent("prober", packets=UDP_PACKETS,
                      extra=["--http-ca-file", ca, "--status-interval-s", "3"])
        assign(s, "prober",
               [{"agent": "echoer", "addr": "127.0.0.1", "echo_port": relay.port, "probes": ["udp"],
                 "interval_s": INTERVAL_S}],
               [check("web-ok", "http", url=web.url("/ok")),
                check("web-missing", "http", url=web.url("/missing")),
                check("web-redirect", "http", url=web.url("/redirect")),
                check("web-slow", "http", timeout_ms=700, url=web.url("/slow")),
                check("web-expect-404", "http", url=web.url("/missing"), expect_status=[404]),
                check("web-expect-other", "http", url=web.url("/ok"), expect_status=[204, 301]),
                check("web-keyword", "http", url=web.url("/ok"), expect_keyword="mutuo agent test"),
                check("web-no-keyword", "http", url=web.url("/ok"), expect_keyword="not in the body"),
                check("tls-ok", "http", url=web_tls.url("/ok")),
                check("tls-short", "http", url=web_short.url("/ok")),
                check("tls-stranger", "http", url=web_stranger.url("/ok")),
                check("tcp-open", "tcp", host="127.0.0.1", port=open_port.port),
                check("tcp-closed", "tcp", host="127.0.0.1", port=closed_port()),
                check("dns-known", "dns", name="www.mutuo.test", host="127.0.0.1", port=dns_port),
                check("dns-unknown", "dns", name="missing.mutuo.test", host="127.0.0.1", port=dns_port),
                check("dns-multi", "dns", name="multi.mutuo.test", host="127.0.0.1", port=dns_port),
                check("dns-nodata", "dns", name="v6only.mutuo.test", host="127.0.0.1", port=dns_port),
                check("ping-lo", "icmp", host="127.0.0.1")])

        unprivileged = os.geteuid() == 0
        if unprivileged:  # the same agent binary without CAP_NET_RAW, as nobody
            os.chmod(s.dir, 0o755)
            buf = os.path.join(s.dir, "noroot-buffer")
            os.mkdir(buf)
            os.chmod(buf, 0o777)
            s.provision("agent", "noroot")
            s.spawn("noroot", ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               "--inh-caps=-all", s.program("agent/mutuo-agent"), "--id", "noroot",
                               "--broker", s.broker_uri, "--echo-port", str(free_port(2)),
                               "--echo-bind", "127.0.0.1", "--advertise", "127.0.0.1",
                               "--buffer-dir", buf],
                    env={"MUTUO_TOKEN": s.token("noroot")})
            assign(s, "noroot", [], [check("ping-lo", "icmp", host="127.0.0.1")])
        else:
            log("not root: the unprivileged ICMP case is covered by this user itself")

        log("collecting results for 3 rounds")
        got = latest_by_target(results_of(s, "prober", 3 * INTERVAL_S + 2))
        log(f"{len(got)} series: {sorted(got)}")

        def r(target, probe):
            assert (target, probe) in got, f"no {probe} result for {target}: {sorted(got)}"
            return got[(target, probe)]

        u = r("echoer", "udp")
        assert u["sent"] == UDP_PACKETS and u["recv"] == 6, u  # the relay dropped k = 0, 4
        # The relay delays even k by 20 ms and odd k by 40 ms (late timers on a busy
        # host only add): every reply took at least 20 ms, some at least 40, and
        # consecutive replies differ (ideal jitter: deltas 20,20,0,20,20 -> 16 ms).
        assert 19 <= u["rtt_ms"]["min"] < 1000, u
        assert 39 <= u["rtt_ms"]["max"] < 1000, u
        assert 5 <= u["jitter_ms"] < 1000, u
        log(f"udp through the relay: {u['recv']}/{u['sent']}, rtt {u['rtt_ms']}, jitter {u['jitter_ms']}")

        ok = r("web-ok", "http")
        assert ok["ok"] and ok["status"] == 200 and ok["bytes"] == 32, ok
        assert ok["ms"]["connect"] <= ok["ms"]["ttfb"] <= ok["ms"]["total"], ok
        missing = r("web-missing", "http")
        assert not missing["ok"] and missing["status"] == 404 and missing["error"] == "status 404", missing
        redirect = r("web-redirect", "http")
        assert redirect["ok"] and redirect["status"] == 200, redirect
        slow = r("web-slow", "http")
        assert not slow["ok"] and slow["error"] == "timeout", slow
        tls = r("tls-ok", "http")
        assert tls["ok"] and tls["status"] == 200, tls
        assert tls["ms"]["connect"] <= tls["ms"]["tls"] <= tls["ms"]["ttfb"], tls
        expiring = r("tls-short", "http")
        assert not expiring["ok"] and expiring["error"].startswith("certificate expires in 4 days"), expiring
        assert expiring["status"] == 200, expiring
        stranger_r = r("tls-stranger", "http")
        assert not stranger_r["ok"] and "certificate" in stranger_r["error"], stranger_r
        assert "status" not in stranger_r, stranger_r
        log("http/https: ok, 404, redirect, timeout, trusted, expiring and untrusted certificates as served")

        # Days left, as openssl reads the served certificate's notAfter: the agent
        # measures during the round that starts at ts, counts whole seconds (up to
        # 1 s = 1.2e-5 day more) and rounds down to 0.01 day.
        assert "cert_days_left" not in ok, ok  # plain http has no certificate
        for result, (cert, _), days in ((tls, good, 30), (expiring, short, 5)):
            expected = (cert_not_after(cert) - result["ts"] / 1000) / 86400
            assert expected - 0.011 <= result["cert_days_left"] <= expected + 2e-5, (expected, result)
            assert days - 0.1 < result["cert_days_left"] <= days, result
        log(f"certificate days left: {tls['cert_days_left']} (30-day cert), "
            f"{expiring['cert_days_left']} (5-day cert), as openssl reads them")

        match404 = r("web-expect-404", "http")
        assert match404["ok"] and match404["status"] == 404 and "error" not in match404, match404
        other = r("web-expect-other", "http")
        assert not other["ok"] and other["status"] == 200, other
        assert other["error"] == "status 200, expected 204 or 301", other
        kw = r("web-keyword", "http")
        assert kw["ok"] and kw["status"] == 200 and kw["bytes"] == 32, kw
        no_kw = r("web-no-keyword", "http")
        assert not no_kw["ok"] and no_kw["status"] == 200 and no_kw["error"] == "keyword not found", no_kw
        log("expected status and keyword: matches pass, mismatches fail with the reason")

        t_open = r("tcp-open", "tcp")
        assert t_open["ok"] and 0 <= t_open["ms"]["connect"] < 1000, t_open
        assert open_port.accepted > 0
        t_closed = r("tcp-closed", "tcp")
        assert not t_closed["ok"] and t_closed["error"] == "refused", t_closed
        known = r("dns-known", "dns")
        assert known["ok"] and known["status"] == 0 and known["ms"]["total"] >= 0, known
        assert known["answers"] == 1, known
        unknown = r("dns-unknown", "dns")
        assert not unknown["ok"] and unknown["status"] == 3 and unknown["error"] == "nxdomain", unknown
        assert unknown["answers"] == 0, unknown
        multi = r("dns-multi", "dns")
        assert multi["ok"] and multi["status"] == 0 and multi["answers"] == 3, multi
        # 12-byte header, the question (18 + 4), three 16-byte A records after it.
        assert multi["bytes"] == 12 + 22 + 3 * 16, multi
        nodata = r("dns-nodata", "dns")
        assert not nodata["ok"] and nodata["status"] == 0 and nodata["answers"] == 0, nodata
        assert nodata["error"] == "no answers", nodata
        log("tcp open/closed and dns known/unknown/3 answers/no A record as served")

        ping = r("ping-lo", "icmp")
        if "error" in ping:
            assert ping["error"] == "unsupported" and "sent" not in ping and "rtt_ms" not in ping, ping
            log("icmp unsupported for this user: reported as such")
        else:
            assert ping["sent"] == 5 and ping["recv"] == 5 and ping["rtt_ms"]["max"] < 1000, ping
            log(f"icmp to 127.0.0.1: {ping['recv']}/{ping['sent']}, rtt {ping['rtt_ms']}")

        if unprivileged:
            status = json.loads(s.retained("mutuo/v1/agents/noroot/status")["mutuo/v1/agents/noroot/status"])
            np = latest_by_target(results_of(s, "noroot", INTERVAL_S + 2)).get(("ping-lo", "icmp"))
            assert np is not None, "no icmp result from the unprivileged agent"
            if "icmp" in status["probes"]:
                assert np["recv"] == np["sent"] == 5, np  # the host allows datagram ICMP
                log("unprivileged agent: datagram ICMP allowed by ping_group_range")
            else:
                assert np["error"] == "unsupported" and "sent" not in np, np
                with open(s.log_path("noroot")) as f:
                    lines = [l for l in f if "icmp: unsupported" in l]
                assert len(lines) == 1, lines
                log("unprivileged agent: one log line, icmp results say 'unsupported', no figures")

        st = subprocess.run([s.program("agent/mutuo-agent"), "--id", "prober", "--buffer-dir",
                             s.agent_buffer_dir("prober"), "--status"],
                            capture_output=True, text=True, timeout=10)
        assert st.returncode == 0 and 'mutuo_agent_rounds_total{probe="http"}' in st.stdout, st
        with open(s.log_path("prober")) as f:
            assert any("status: connected" in l for l in f), "no periodic status line"
        log("--status prints the metrics; the periodic status line is logged")

        through_tracker(s, web)

        relay.close()
        open_port.close()
        for srv in servers:
            srv.close()
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
