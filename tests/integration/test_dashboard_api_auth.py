"""dashboard_api_refuses_what_the_caller_may_not_do

Against the real dashboard over HTTP: every API request that changes state is
refused without a session (401), without or with a wrong CSRF token (403) and
from a foreign Origin (403), and then nothing changed (the registry on the
broker and in the API stay empty); reads need a login; a viewer cannot register
agents; the session cookie is HttpOnly, SameSite=Strict and expires; logins are
rate-limited; a dashboard started without an admin password offers a one-time
setup link instead of any default password.
"""

import argparse
import http.client
import os
import re
import sys
import urllib.parse
import urllib.request

from harness import DashboardClient, System, free_port, log, wait_port, wait_until

CHANGES = [
    ("POST", "/api/registry", {"id": "eve-1", "display_name": "Eve"}),
    ("POST", "/api/registry/eve-1/rotate", None),
    ("POST", "/api/registry/eve-1/disable", None),
    ("POST", "/api/registry/eve-1/enable", None),
    ("DELETE", "/api/registry/eve-1", None),
    ("POST", "/api/users", {"username": "eve", "password": "eve-password-123", "role": "admin"}),
    ("DELETE", "/api/users/admin", None),
    ("PATCH", "/api/registry/eve-1", {"labels": {"site": "x"}}),
    ("POST", "/api/checks", {"id": "web-1", "kind": "tcp", "target": "127.0.0.1:1"}),
    ("PUT", "/api/checks/web-1", {"kind": "tcp", "target": "127.0.0.1:1"}),
    ("DELETE", "/api/checks/web-1", None),
    ("POST", "/api/silences", {"id": "s-1", "subject": "peer/eve-1", "duration_s": 60}),
    ("PUT", "/api/silences/s-1", {"subject": "peer/eve-1", "duration_s": 60}),
    ("DELETE", "/api/silences/s-1", None),
    ("POST", "/api/channels", {"id": "c-1", "kind": "webhook", "url": "http://127.0.0.1:9/"}),
    ("PUT", "/api/channels/c-1", {"kind": "webhook", "url": "http://127.0.0.1:9/"}),
    ("DELETE", "/api/channels/c-1", None),
    ("PUT", "/api/status-page", {"enabled": True}),
    ("POST", "/api/logout", None),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()

    with System(args.bin_dir, "api-auth") as s:
        s.start_broker()
        s.start_dashboard()
        base = s.dashboard_url

        anon = DashboardClient(base)
        for path in ["/api/agents", "/api/matrix", "/api/registry", "/api/users", "/api/session"]:
            status, _ = anon.request("GET", path)
            assert status == 401, (path, status)
        status, _ = anon.request("GET", "/healthz")
        assert status == 200
        log("reads need a login (the page and /healthz do not)")

        # The page (tens of KiB) leaves in two writes, head then body, and a
        # small answer in one; both keep a keep-alive connection in step.
        url = urllib.parse.urlsplit(base)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            for _ in range(3):
                conn.request("GET", "/")
                r = conn.getresponse()
                page = r.read()
                assert r.status == 200 and len(page) == int(r.getheader("Content-Length")), r.status
                assert len(page) > 16 * 1024 and page.rstrip().endswith(b"</html>"), len(page)
                conn.request("GET", "/healthz")
                r = conn.getresponse()
                assert r.status == 200 and len(r.read()) == int(r.getheader("Content-Length"))
        finally:
            conn.close()
        log(f"a {len(page)}-byte page and a small answer, three times on one connection")

        admin = s.dashboard_client()
        req = urllib.request.Request(base + "/api/login", method="POST",
                                     data=('{"username":"%s","password":"%s"}' %
                                           (s.admin_user, s.admin_password)).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            set_cookie = r.headers["Set-Cookie"]
        for attr in ["HttpOnly", "SameSite=Strict", "Max-Age=", "Path=/"]:
            assert attr in set_cookie, (attr, set_cookie)
        log(f"the session cookie: {re.sub('=[^;]{20,}', '=…', set_cookie)}")

        # Unauthenticated, CSRF-less, wrong CSRF, foreign origin: all refused.
        other = s.dashboard_client()  # a second session: its CSRF token is not admin's
        for method, path, body in CHANGES:
            st, _ = anon.request(method, path, body)
            assert st == 401, (method, path, st)
            st, _ = admin.request(method, path, body, csrf=False)
            assert st == 403, ("no csrf", method, path, st)
            st, _ = admin.request(method, path, body, csrf=False, headers={"X-CSRF-Token": other.csrf})
            assert st == 403, ("wrong csrf", method, path, st)
            st, _ = admin.request(method, path, body, headers={"Origin": "http://evil.example"})
            assert st == 403, ("cross-origin", method, path, st)
            st, _ = anon.request(method, path, None if body is None else body,
                                 headers={"Content-Type": "text/plain"})
            assert st in (401, 415), (method, path, st)
        assert admin.get("/api/registry")["agents"] == []
        assert [u["name"] for u in admin.get("/api/users")["users"]] == [s.admin_user]
        for topics in ("mutuo/v1/registry/+", "mutuo/v1/checks/+", "mutuo/v1/silences/+",
                       "mutuo/v1/channels/+"):
            assert not s.retained(topics), ("a refused request changed the broker", topics)
        assert admin.get("/api/session")["user"] == s.admin_user, "a refused logout logged out"
        log(f"{len(CHANGES)} state-changing routes refuse no session (401), no or a wrong CSRF "
            "token and a foreign Origin (403); nothing changed")

        # A viewer reads but cannot register.
        st, _ = admin.request("POST", "/api/users",
                              {"username": "vera", "password": "vera-password-1", "role": "viewer"})
        assert st == 201, st
        viewer = s.dashboard_client("vera", "vera-password-1")
        assert viewer.get("/api/registry")["agents"] == []
        st, body = viewer.request("POST", "/api/registry", {"id": "eve-1"})
        assert st == 403 and body["error"] == "admins only", (st, body)
        st, _ = viewer.request("POST", "/api/users",
                               {"username": "vera2", "password": "vera-password-1", "role": "admin"})
        assert st == 403
        assert admin.get("/api/registry")["agents"] == []
        assert not s.retained("mutuo/v1/registry/+")
        log("a viewer can read but not register agents or create users")

        # Logout ends the session.
        st, _ = other.request("POST", "/api/logout")
        assert st == 200
        st, _ = other.request("GET", "/api/agents")
        assert st == 401
        log("logout ends the session")

        # A second dashboard without an admin password: one-time setup link.
        port = free_port()
        data = os.path.join(s.dir, "setup-data")
        env_backup = os.environ.pop("MUTUO_ADMIN_PASSWORD", None)
        s.spawn("dashboard-setup", [s.program("dashboard/mutuo-dashboard"), "--broker", s.broker_uri,
                                    "--token-file", s.token_file("dashboard"), "--id", "dashboard",
                                    "--data-dir", data, "--listen", f"127.0.0.1:{port}"])
        if env_backup is not None:
            os.environ["MUTUO_ADMIN_PASSWORD"] = env_backup
        wait_port(port)
        link = wait_until("the setup link in the log", lambda: re.search(
            r"#setup=([A-Za-z0-9_-]+)", open(s.log_path("dashboard-setup")).read()), 10)
        token = link.group(1)
        setup = DashboardClient(f"http://127.0.0.1:{port}")
        st, body = setup.request("GET", "/api/session")
        assert st == 401 and body["setup_needed"] is True, (st, body)
        for user, pw in [("admin", "admin"), ("admin", "password"), ("admin", "")]:
            st, _ = setup.request("POST", "/api/login", {"username": user, "password": pw}, csrf=False)
            assert st == 401, ("a default password works", user, pw, st)
        st, _ = setup.request("POST", "/api/setup",
                              {"token": "x" + token, "username": "root", "password": "root-password-1"})
        assert st == 403, st
        st, body = setup.request("POST", "/api/setup",
                                 {"token": token, "username": "root", "password": "root-password-1"})
        assert st == 200 and body["role"] == "admin", (st, body)
        st, _ = setup.request("POST", "/api/setup",
                              {"token": token, "username": "root2", "password": "root-password-1"})
        assert st == 409, st
        fresh = DashboardClient(f"http://127.0.0.1:{port}")
        fresh.login("root", "root-password-1")
        log("without an admin password: no default login; the one-time setup link works once")

        # Rate limit (last: it blocks this address for minutes).
        limited = DashboardClient(base)
        for i in range(5):
            st, _ = limited.request("POST", "/api/login",
                                    {"username": s.admin_user, "password": f"guess-{i}"}, csrf=False)
            assert st == 401, st
        st, body = limited.request("POST", "/api/login",
                                   {"username": s.admin_user, "password": s.admin_password}, csrf=False)
        assert st == 429, (st, body)
        log("after 5 failed logins even the right password is refused for a while (429)")

        logs = open(s.log_path("dashboard"), errors="replace").read()
        assert s.admin_password not in logs and "vera-password-1" not in logs
        log("no password in the dashboard's log")
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
