"""hostile_http_requests_are_refused_while_users_are_served

A stranger attacks the real dashboard over HTTP while an admin keeps using it:
a 10 MB body, bodies that are not JSON, NaN, deep nesting, duplicate keys,
wrong types, unicode tricks and NUL in user names, invalid UTF-8 and
traversal in paths, garbage and oversized cookies, forged CSRF tokens, foreign
origins, and a burst of 400 such requests from four threads.
Asserted: every hostile request gets a 4xx answer (never a 5xx, never a
dropped connection without an answer, except the oversized body which may be
cut short), no hostile request creates a user or a session, and the admin's
session, reads and changes keep working throughout.
"""

import argparse
import json
import socket
import sys
import threading

from harness import System, log, patience


def raw_request(port, request, timeout=10):
    """Sends raw bytes; returns the status code of the answer (0 if none)."""
    with socket.create_connection(("127.0.0.1", port), timeout=patience(timeout)) as s:
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    line = data.split(b"\r\n", 1)[0].split(b" ")
    return int(line[1]) if len(line) > 1 and line[1].isdigit() else 0


def http(port, method, path, body=b"", headers=None):
    h = {"Host": f"127.0.0.1:{port}", "Connection": "close", "Content-Length": str(len(body))}
    h.update(headers or {})
    head = f"{method} ".encode() + path + b" HTTP/1.1\r\n" + \
        b"".join(k.encode() + b": " + (v if isinstance(v, bytes) else v.encode()) + b"\r\n"
                 for k, v in h.items()) + b"\r\n"
    return raw_request(port, head + body)


def hostile_requests(port, csrf):
    j = {"Content-Type": "application/json"}
    login = b"/api/login"
    nested = b"[" * 10000 + b"]" * 10000
    cases = [
        ("POST", login, b"{not json", j),
        ("POST", login, b'{"username":"admin","password":NaN}', j),
        ("POST", login, b'{"username":"admin","password":1e999}', j),
        ("POST", login, nested, j),
        ("POST", login, b'{"username":"admin","password":"x","username":"root"}', j),
        ("POST", login, b'{"username":["admin"],"password":{"$ne":""}}', j),
        ("POST", login, '{"username":"\u0430dmin","password":"x"}'.encode(), j),   # Cyrillic a
        ("POST", login, b'{"username":"admin\\u0000","password":"x"}', j),
        ("POST", login, b'{"username":"adm\xffin","password":"x"}', j),             # invalid UTF-8
        ("POST", login, b'{"username":"admin","password":"x"}', {"Content-Type": "text/plain"}),
        ("POST", login, b'{"username":"admin","password":"x"}', {**j, "Origin": "http://evil.example"}),
        ("GET", b"/api/agents", b"", {"Cookie": "mutuo_session=" + "A" * 4000}),
        ("GET", b"/api/agents", b"", {"Cookie": b"mutuo_session=\xff\xfe; ;;=;mutuo_session"}),
        ("GET", b"/api/users", b"", {"Cookie": "mutuo_session=../../etc/passwd"}),
        ("GET", b"/api/\xff\xfe\x80", b"", {}),
        ("GET", b"/api/registry/..%2f..%2fetc%2fpasswd", b"", {}),
        ("GET", b"/%2e%2e/%2e%2e/etc/passwd", b"", {}),
        ("GET", b"/api/agents?limit=-1&limit=99999999999999999999&x=%00", b"", {}),
        ("DELETE", b"/api/users/admin", b"", {"X-CSRF-Token": csrf}),   # no cookie
        ("POST", b"/api/users", b'{"username":"eve","password":"eve-password-1234","role":"admin"}',
         {**j, "X-CSRF-Token": "forged"}),
        ("TRACE", b"/api/agents", b"", {}),
        ("POST", b"/api/setup", b'{"username":"eve","password":"eve-password-1234","token":""}', j),
    ]
    return cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--burst", type=int, default=400)
    args = ap.parse_args()

    with System(args.bin_dir, "hostile-http") as s:
        s.start_broker()
        s.start_receiver()
        s.start_dashboard()
        admin = s.dashboard_client()
        port = s.http_port
        users_before = admin.get("/api/users")["users"]

        # 1. Each hostile request once.
        for method, path, body, headers in hostile_requests(port, admin.csrf):
            status = http(port, method, path, body, headers)
            assert 400 <= status < 500, f"{method} {path[:60]!r} {body[:60]!r}: answered {status}"
        log("every hostile request answered 4xx")

        # 2. A 10 MB body: refused (413) or cut short, never read whole or a crash.
        status = http(port, "POST", b"/api/login", b"x" * (10 << 20),
                      {"Content-Type": "application/json"})
        assert status in (0, 413), status
        log(f"10 MB body: {status or 'connection closed'}")

        # 3. A burst from several threads while the admin keeps working.
        cases = hostile_requests(port, admin.csrf)
        bad = []
        admin_errors = []

        def attacker(k):
            for i in range(args.burst // 4):
                method, path, body, headers = cases[(i + k) % len(cases)]
                try:
                    status = http(port, method, path, body, headers)
                except OSError as e:
                    status = repr(e)
                if not (isinstance(status, int) and 400 <= status < 500):
                    bad.append((method, path[:40], status))

        def user():
            for i in range(20):
                try:
                    admin.get("/api/agents")
                    admin.get("/api/matrix")
                    st, _ = admin.request("POST", "/api/users",
                                          {"username": f"user{i}", "password": "user-password-1234",
                                           "role": "viewer"})
                    if st != 201:
                        admin_errors.append(("create", i, st))
                    st, _ = admin.request("DELETE", f"/api/users/user{i}")
                    if st != 200:
                        admin_errors.append(("delete", i, st))
                except Exception as e:  # noqa: BLE001 - any failure is the finding
                    admin_errors.append(repr(e))

        threads = [threading.Thread(target=attacker, args=(k,)) for k in range(4)]
        threads.append(threading.Thread(target=user))
        for t in threads:
            t.start()
        for t in threads:
            t.join(patience(180))
        assert not any(t.is_alive() for t in threads), "requests hung"
        assert not bad, bad[:10]
        assert not admin_errors, admin_errors[:10]
        log(f"burst of {args.burst} hostile requests refused; the admin made 100 requests meanwhile")

        assert s.procs["dashboard"].poll() is None, "the dashboard exited"
        users_after = admin.get("/api/users")["users"]
        assert users_after == users_before, (users_before, users_after)
        assert admin.get("/api/session")["user"] == s.admin_user
        log("no user created, the admin's session intact")
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
