#!/usr/bin/env python3
"""Message posts while an admin changes passwords: does slow work in one write hold
up the others?

On SQLite every write of the process runs on one writer thread. A write that does
slow work inside its `Db::run` closure (an argon2 hash takes tens of milliseconds)
holds every other write until it ends. This posts messages with oha for a while
alone, then again while admin sessions change a user's password in a loop, and
prints the posts' throughput and p99 for each binary given, alternating.

    python3 bench/stall.py --binary A --binary B [--rounds 2] [--duration 8] [--admins 2]
"""

import argparse
import http.cookiejar
import json
import os
import secrets
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import Server, find_oha, free_port, log, run, run_oha  # noqa: E402

PASSWORD = "Stall-bench-" + secrets.token_hex(6)


def request(opener, base, method, path, body=None, headers=None, form=None):
    data, hdrs = None, dict(headers or {})
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=data, method=method, headers=hdrs)
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def admin_session(base, username):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    request(opener, base, "GET", "/admin/login/")
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    status, _ = request(opener, base, "POST", "/admin/login/", headers={"Referer": base + "/admin/login/"},
                        form={"csrfmiddlewaretoken": csrf, "username": username, "password": PASSWORD,
                              "next": "/admin/"})
    if status != 302:
        sys.exit(f"admin login answered {status}")
    return opener, jar


def change_passwords(base, admin, user, stop, counts):
    """Sets `user`'s password again and again, as an admin does on the user's page."""
    opener, jar = admin_session(base, admin)
    path = f"/admin/accounts/user/{user['id']}/change/"
    while not stop.is_set():
        csrf = next(c.value for c in jar if c.name == "csrftoken")
        status, _ = request(opener, base, "POST", path, headers={"Referer": base + path},
                            form={"csrfmiddlewaretoken": csrf, "username": user["username"],
                                  "password": "Changed-" + secrets.token_hex(8), "is_active": "on"})
        counts[status] = counts.get(status, 0) + 1


def measure(binary, oha, args, work):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DATABASE_URL="sqlite://" + os.path.join(work, f"stall-{secrets.token_hex(3)}.db"),
               SECRET_KEY=secrets.token_urlsafe(48), DEBUG="false", RUST_LOG="warn",
               HEARTH_SUPERUSER_PASSWORD=PASSWORD)
    admin = "stall_admin"
    run([binary, "createsuperuser", "--username", admin, "--email", "a@example.com", "--noinput"], env=env, cwd=work)
    port = free_port()
    server = Server("hearth", [binary, "serve", "--addr", f"127.0.0.1:{port}"], env, work, port,
                    os.path.join(work, "stall.log")).start()
    try:
        server.wait_status("/music/song?limit=1", 200, limit=30)
        base = server.base
        plain = urllib.request.build_opener()
        poster, target = f"poster_{secrets.token_hex(3)}", f"target_{secrets.token_hex(3)}"
        for name in (poster, target):
            status, body = request(plain, base, "POST", "/api/user/register/",
                                   body={"username": name, "password": PASSWORD})
            if status != 201:
                sys.exit(f"register answered {status}: {body[:200]}")
        _, body = request(plain, base, "POST", "/api/token/", body={"username": poster, "password": PASSWORD})
        access = json.loads(body)["access"]
        _, body = request(plain, base, "POST", "/api/token/", body={"username": target, "password": PASSWORD})
        target_id = json.loads(
            request(plain, base, "GET", "/api/auth/me/",
                    headers={"Authorization": "Bearer " + json.loads(body)["access"]})[1])["id"]
        url = base + "/api/messages"
        headers = {"Authorization": "Bearer " + access, "Content-Type": "application/json"}
        post = '{"text":"stall bench"}'
        run_oha(oha, url, "POST", headers, post, args.connections, 2)  # warm-up
        alone = run_oha(oha, url, "POST", headers, post, args.connections, args.duration)
        stop, counts = threading.Event(), {}
        admins = [threading.Thread(target=change_passwords,
                                   args=(base, admin, {"id": target_id, "username": target}, stop, counts))
                  for _ in range(args.admins)]
        for t in admins:
            t.start()
        time.sleep(0.5)
        busy = run_oha(oha, url, "POST", headers, post, args.connections, args.duration)
        stop.set()
        for t in admins:
            t.join()
        return alone, busy, counts
    finally:
        server.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", action="append", required=True, help="a hearth binary (repeat to compare)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--duration", type=float, default=8)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--admins", type=int, default=2, help="admin sessions changing passwords at once")
    p.add_argument("--oha")
    args = p.parse_args()
    oha = find_oha(args.oha)
    work = tempfile.mkdtemp(prefix="hearth-stall-")
    rows = []
    for r in range(args.rounds):
        for binary in args.binary:
            alone, busy, counts = measure(binary, oha, args, work)
            rows.append((binary, r, alone, busy, counts))
            log(f"stall: {binary} round {r}: alone {alone['rps']:.0f}/s p99 {alone['p99_ms']} ms; "
                f"with admins {busy['rps']:.0f}/s p99 {busy['p99_ms']} ms; admin answers {counts}")
    print(f"\n| binary | round | posts/s alone | p99 ms | posts/s with {args.admins} admins | p99 ms | "
          "password changes |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for binary, r, alone, busy, counts in rows:
        print(f"| {binary} | {r} | {alone['rps']:,.0f} | {alone['p99_ms']} | {busy['rps']:,.0f} | "
              f"{busy['p99_ms']} | {counts} |")


if __name__ == "__main__":
    main()
