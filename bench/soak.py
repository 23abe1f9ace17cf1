#!/usr/bin/env python3
"""A soak: mixed traffic against one `hearth serve` for a long while, on loopback.

Starts the release binary on a fresh SQLite file (or, with --database-url, on the
database given), then for --minutes keeps --workers threads busy with what a day of
the tutorials' frontends sends: reads of every list and detail, message and task
writes, edits and deletes, JWT logins and refreshes, session logins, DRF tokens, and
--streams clients that read /api/messages/stream and reconnect with Last-Event-ID.
It samples the server's resident memory every --every seconds and prints the curve,
the answers by status and every 5xx. Exit status 1 when any answer was a 5xx, a
stream doubled a message, memory went over --max-rss-mib, or (in a run of three
minutes or more) memory kept growing.

  python3 bench/soak.py                       # 10 minutes, SQLite
  python3 bench/soak.py --minutes 0.5         # the short run CI makes
  python3 bench/soak.py --database-url postgres://postgres@127.0.0.1:5432/soak
"""

import argparse
import collections
import http.client
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "Soak-" + secrets.token_urlsafe(12)
# seconds of soak before memory's trend is judged
TREND_AFTER = 180


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = collections.Counter()
        self.routes = collections.Counter()
        self.errors = []

    def statuses_of(self, what):
        with self.lock:
            return self.routes[what]

    def add(self, what, status, body=b""):
        with self.lock:
            self.statuses[status] += 1
            self.routes[what] += 1
            if status >= 500 or status == 0:
                self.errors.append((what, status, body[:200]))


class Client:
    """One keep-alive connection, reopened when the server closes it."""

    def __init__(self, port, tally):
        self.port, self.tally, self.conn = port, tally, None

    def call(self, method, path, body=None, headers=None, what=None):
        headers = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                self.conn.request(method, path, data, headers)
                r = self.conn.getresponse()
                raw = r.read()
                self.tally.add(what or f"{method} {path.split('?')[0]}", r.status, raw)
                return r.status, raw, r
            except (ConnectionError, http.client.HTTPException, OSError) as e:
                self.conn = None
                if attempt == 1:
                    self.tally.add(what or f"{method} {path}", 0, str(e).encode())
                    return 0, b"", None
        return 0, b"", None


def jwt(client, username):
    status, raw, _ = client.call("POST", "/api/token/", {"username": username, "password": PASSWORD})
    return json.loads(raw) if status == 200 else None


def worker(port, tally, stop, n, album_id, song_ids):
    client = Client(port, tally)
    name = f"soak{n}_{secrets.token_hex(3)}"
    client.call("POST", "/api/user/register/", {"username": name, "password": PASSWORD})
    pair = jwt(client, name)
    bearer = {"Authorization": f"Bearer {pair['access']}"} if pair else {}
    my_tasks = []
    while not stop.is_set():
        roll = random.random()
        if roll < 0.25:
            client.call("GET", f"/api/messages?limit=20&offset={random.randint(0, 200)}", headers=bearer)
        elif roll < 0.40:
            client.call("GET", "/api/tasks/", headers=bearer)
        elif roll < 0.50:
            client.call("GET", f"/music/song/{random.choice(song_ids)}")
            client.call("GET", f"/music/songInAlbum?album={album_id}")
        elif roll < 0.60:
            client.call("GET", "/api/blogposts/?limit=10")
        elif roll < 0.72:
            client.call("POST", "/api/messages", {"text": f"soak {name} {time.time()}"}, bearer)
        elif roll < 0.82:
            status, raw, _ = client.call("POST", "/api/tasks/", {"title": "soak"}, bearer)
            if status == 201:
                my_tasks.append(json.loads(raw)["id"])
        elif roll < 0.88 and my_tasks:
            task = my_tasks.pop(random.randrange(len(my_tasks)))
            client.call("PATCH", f"/api/tasks/{task}/", {"completed": True}, bearer, "PATCH /api/tasks/{id}/")
            client.call("DELETE", f"/api/tasks/{task}/", None, bearer, "DELETE /api/tasks/{id}/")
        elif roll < 0.91:
            client.call("POST", f"/api/blogposts/", {"title": "soak", "content": "x" * 200}, bearer)
        elif roll < 0.94 and pair:
            status, raw, _ = client.call("POST", "/api/token/refresh/", {"refresh": pair["refresh"]})
            if status == 200:
                fresh = json.loads(raw)
                pair = {"access": fresh["access"], "refresh": fresh.get("refresh", pair["refresh"])}
                bearer = {"Authorization": f"Bearer {pair['access']}"}
        elif roll < 0.96:
            pair = jwt(client, name) or pair
            bearer = {"Authorization": f"Bearer {pair['access']}"} if pair else bearer
        elif roll < 0.98:
            client.call("POST", "/api-token-auth/", {"username": name, "password": PASSWORD})
        else:
            session_login(port, tally, name)


def session_login(port, tally, name):
    client = Client(port, tally)
    status, _, r = client.call("GET", "/authentication/login")
    cookie = r.getheader("Set-Cookie", "") if r else ""
    csrf = cookie.split("csrftoken=", 1)[1].split(";", 1)[0] if "csrftoken=" in cookie else ""
    headers = {"X-CSRFToken": csrf, "Cookie": f"csrftoken={csrf}"}
    client.call("POST", "/authentication/login", {"username": name, "password": PASSWORD}, headers)


def streamer(port, tally, stop, n, seen):
    """Reads the stream, drops the connection now and then, resumes with Last-Event-ID."""
    client = Client(port, tally)
    name = f"stream{n}_{secrets.token_hex(3)}"
    client.call("POST", "/api/user/register/", {"username": name, "password": PASSWORD})
    last = None
    while not stop.is_set():
        pair = jwt(client, name)
        if not pair:
            time.sleep(1)
            continue
        headers = {"Authorization": f"Bearer {pair['access']}", "Accept": "text/event-stream"}
        if last is not None:
            headers["Last-Event-ID"] = str(last)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", "/api/messages/stream", headers=headers)
            r = conn.getresponse()
            tally.add("GET /api/messages/stream", r.status)
            if r.status != 200:
                time.sleep(1)
                continue
            until = time.time() + random.uniform(3, 15)
            while time.time() < until and not stop.is_set():
                line = r.fp.readline()
                if not line:
                    break
                # the SSE id is where to resume; the message's own id is in its data
                if line.startswith(b"id: "):
                    last = int(line[4:])
                elif line.startswith(b"data: "):
                    seen[n].append(json.loads(line[6:])["id"])
        except (OSError, http.client.HTTPException) as e:
            tally.add("GET /api/messages/stream", 0, str(e).encode())
        finally:
            conn.close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--streams", type=int, default=4)
    p.add_argument("--every", type=float, default=10, help="seconds between memory samples")
    p.add_argument("--max-rss-mib", type=float, default=256, help="the most resident memory allowed")
    p.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    p.add_argument("--binary", default=os.path.join(REPO, "target", "release", "hearth"))
    args = p.parse_args()
    if not os.path.exists(args.binary):
        subprocess.run(["cargo", "build", "--release"], cwd=REPO, check=True)

    work = tempfile.mkdtemp(prefix="hearth-soak-")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": args.database_url or f"sqlite://{work}/soak.db",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        # every soak client comes from 127.0.0.1: the limits would only measure themselves
        "LOGIN_RATE_LIMIT": "1000000",
        "SIGNUP_RATE_LIMIT": "1000000",
        "RUST_LOG": "warn",
        "HEARTH_SUPERUSER_PASSWORD": PASSWORD,
    }
    subprocess.run([args.binary, "createsuperuser", "--username", "soakadmin", "--noinput"],
                   env=env, cwd=work, check=True, capture_output=True)
    log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([args.binary, "serve", "--addr", f"127.0.0.1:{port}"],
                              env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT)
    tally = Tally()
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    sys.exit("soak: the server did not start; see " + log.name)
                time.sleep(0.1)
        admin = Client(port, tally)
        access = jwt(admin, "soakadmin")["access"]
        staff = {"Authorization": f"Bearer {access}"}
        _, raw, _ = admin.call("POST", "/music/album/create",
                               {"name": "Soak", "artist": "Hearth", "year_released": "2026-01-01"}, staff)
        album_id = json.loads(raw)["id"]
        song_ids = []
        for i in range(20):
            _, raw, _ = admin.call("POST", "/music/song/create",
                                   {"song_name": f"s{i}", "album": album_id, "num_streams": i}, staff)
            song_ids.append(json.loads(raw)["id"])

        stop = threading.Event()
        seen = collections.defaultdict(list)
        threads = [threading.Thread(target=worker, args=(port, tally, stop, n, album_id, song_ids))
                   for n in range(args.workers)]
        threads += [threading.Thread(target=streamer, args=(port, tally, stop, n, seen))
                    for n in range(args.streams)]
        for t in threads:
            t.start()
        started = time.time()
        end = started + args.minutes * 60
        samples = [(0.0, rss_kib(server.pid), 0)]
        while time.time() < end and server.poll() is None:
            time.sleep(min(args.every, max(0.1, end - time.time())))
            with tally.lock:
                answered = sum(tally.statuses.values())
            samples.append((time.time() - started, rss_kib(server.pid), answered))
        stop.set()
        for t in threads:
            t.join(timeout=60)
        alive = server.poll() is None
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    print(f"\n{'seconds':>8} {'RSS MiB':>8} {'answers':>9}")
    for t, kib, n in samples:
        print(f"{t:8.0f} {kib / 1024:8.1f} {n:9d}")
    total = sum(tally.statuses.values())
    print(f"\nanswers: {total} in {samples[-1][0]:.0f} s "
          f"({total / max(samples[-1][0], 1):.0f}/s); by status: {dict(sorted(tally.statuses.items()))}")
    failures = [e for e in tally.errors if e[1] >= 500]
    dropped = [e for e in tally.errors if e[1] == 0]
    print(f"5xx: {len(failures)}; connection errors: {len(dropped)}")
    for what, status, body in (failures + dropped)[:20]:
        print(f"  {status} {what}: {body!r}")
    broken = []
    postgres = (args.database_url or "").startswith("postgres")
    for n, ids in seen.items():
        if len(ids) != len(set(ids)):
            broken.append(f"stream {n} got a message twice")
        # SQLite announces in commit order, which is id order; PostgreSQL's ids come
        # from a sequence, and concurrent commits may land out of id order
        if ids != sorted(ids) and not postgres:
            broken.append(f"stream {n} got messages out of order")
    events = sum(len(ids) for ids in seen.values())
    resumes = tally.statuses_of("GET /api/messages/stream")
    print(f"stream events: {events} to {len(seen)} clients over {resumes} connections")
    if args.streams and not events:
        broken.append("no stream client received a message")
    for line in broken:
        print("  " + line)
    # growth: the last third's mean against the middle third's, after warm-up
    rss = [kib for _, kib, _ in samples[1:]]
    third = max(1, len(rss) // 3)
    middle = sum(rss[third:2 * third] or rss) / max(1, len(rss[third:2 * third] or rss))
    last = sum(rss[-third:]) / third
    # warm-up (caches, pools, allocator arenas) takes a step of some 25 MiB in the
    # first minute, later on a slow machine: a trend is judged on long runs only,
    # a short run is held to a ceiling
    judged = samples[-1][0] >= TREND_AFTER and len(rss) >= 6
    growing = judged and last > middle * 1.25
    peak = max(rss or [0]) / 1024
    over = peak > args.max_rss_mib
    trend = " (still growing)" if growing else "" if judged else " (too short to judge a trend)"
    print(f"memory: {rss[0] / 1024 if rss else 0:.1f} -> {rss[-1] / 1024 if rss else 0:.1f} MiB, "
          f"peak {peak:.1f} MiB{trend}")
    if over:
        print(f"  the peak is over --max-rss-mib {args.max_rss_mib}")
    if not alive:
        print("the server exited during the soak; see " + log.name)
    sys.exit(1 if failures or dropped or broken or growing or over or not alive else 0)


if __name__ == "__main__":
    main()
