"""dashboard_series_serves_history_from_the_store

Against the real system (broker, receiver, tracker, two agents, dashboard):
GET /api/series answers a pair's history from the receiver's store, from the raw
tier for the last hour and from the hour tier for 30 days, in columns of equal
length; bad parameters are 400, an anonymous caller 401, a POST 405, all as JSON
errors; the bundled uPlot is served without a login.
"""

import argparse
import sys
import urllib.request

from harness import DashboardClient, System, log, wait_until


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()

    with System(args.bin_dir, "dash-series") as s:
        s.start_broker()
        s.start_receiver()
        s.start_tracker(interval_s=1)
        s.start_dashboard()
        s.start_agent("alpha")
        s.start_agent("bravo")
        admin = s.dashboard_client()

        path = "/api/series?observer=alpha&target=bravo&probe=udp&range=1h"
        got = {}

        def enough():
            status, body = admin.request("GET", path)
            got["body"] = body
            return status == 200 and len(body["points"]["ts"]) >= 3

        wait_until("three raw points of alpha->bravo", enough, timeout=40)
        d = got["body"]
        assert d["tier"] == "raw" and d["step_ms"] == 0, d
        assert (d["observer"], d["target"], d["probe"], d["kind"]) == ("alpha", "bravo", "udp", "peer")
        cols = d["points"]
        n = len(cols["ts"])
        for name in ["count", "min", "p50", "p90", "max", "mean", "loss"]:
            assert len(cols[name]) == n, (name, cols)
        assert cols["ts"] == sorted(cols["ts"]), cols["ts"]
        assert all(d["from"] <= t < d["to"] for t in cols["ts"]), d
        assert cols["loss"][-1] == 0, cols
        assert cols["p50"][-1] is not None and cols["min"][-1] <= cols["p50"][-1] <= cols["max"][-1]
        log(f"1h: {n} raw points, median {cols['p50'][-1]:.3f} ms")

        d30 = admin.get("/api/series?observer=alpha&target=bravo&range=30d")
        assert d30["tier"] == "hour" and d30["step_ms"] == 3600000, d30
        assert len(d30["points"]["ts"]) <= 720
        assert d30["to"] - d30["from"] == 30 * 24 * 3600 * 1000
        log(f"30d: hour tier, {len(d30['points']['ts'])} points")

        d24 = admin.get("/api/series?observer=alpha&target=bravo&range=24h&points=1000")
        assert d24["tier"] == "minute", d24["tier"]
        log("24h at 1000 points: minute tier")

        for bad in ["/api/series?observer=alpha", "/api/series?observer=a&target=b&range=2w",
                    "/api/series?observer=a&target=b&kind=x", "/api/series?observer=a&target=b&points=0",
                    "/api/series?observer=a&target=b&from=10&to=5"]:
            status, body = admin.request("GET", bad)
            assert status == 400 and isinstance(body.get("error"), str), (bad, status, body)
        status, body = admin.request("POST", path, {})
        assert status == 405 and "error" in body, (status, body)
        status, body = DashboardClient(s.dashboard_url).request("GET", path)
        assert status == 401 and "error" in body, (status, body)
        log("errors: 400 for bad parameters, 405 for POST, 401 without login, all JSON")

        with urllib.request.urlopen(s.dashboard_url.rstrip("/") + "/assets/uplot.js", timeout=5) as r:
            js = r.read().decode()
            assert r.headers["Content-Type"].startswith("text/javascript"), r.headers
        assert "uPlot" in js and len(js) > 10000, len(js)
        log(f"uplot.js served without login ({len(js)} bytes)")
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
