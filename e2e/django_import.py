#!/usr/bin/env python3
"""End-to-end: a tutorial app moves from the Django reference to Hearth and back.

For each backend (SQLite, then PostgreSQL): start the reference on a fresh
database, create users (one staff), DRF tokens, JWT pairs (one refresh token
blacklisted by logout), a logged-in session and rows in every tutorial table
through its HTTP API, and record every list and detail. Then
`hearth import-django` into a fresh Hearth database and, against Hearth with the
same SECRET_KEY, show that every user logs in with the same password, the DRF
token, the access token, the live refresh token and the session cookie work, the
blacklisted refresh token is refused, every answer is the reference's, and new
rows get ids after the imported ones. Last, `hearth dumpdata` loads into a fresh
reference with `manage.py loaddata`, and the reference's `dumpdata` into a fresh
Hearth with `hearth loaddata`, both giving the same answers.

    python3 e2e/django_import.py --hearth target/release/hearth \
        --reference ../shared/reference [--backend sqlite|postgres|both]

Standard library only. PostgreSQL at 127.0.0.1:5432, user postgres, trusted.
"""

import argparse
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

PG = "postgres://postgres@127.0.0.1:5432"
CHECKS = 0


def check(cond, what):
    global CHECKS
    if not cond:
        raise AssertionError(what)
    CHECKS += 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, argv, env, log, port):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log = open(log, "w")
        self.proc = subprocess.Popen(
            argv, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited early; see {log}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{argv} did not listen on {port}; see {log}")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()

    def call(self, method, path, body=None, auth=None, cookies=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", auth)
        if cookies:
            req.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()))
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, raw, hdrs = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, raw, hdrs = e.code, e.read(), e.headers
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw.decode(errors="replace")
        return status, payload, hdrs


def set_cookies(hdrs):
    out = {}
    for line in hdrs.get_all("Set-Cookie") or []:
        name, _, rest = line.partition("=")
        out[name.strip()] = rest.split(";", 1)[0].strip('"')
    return out


QUIET_PG = dict(os.environ, PGOPTIONS="-c client_min_messages=warning")


def pg_db(name):
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", name],
                   check=True, env=QUIET_PG)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True, env=QUIET_PG)
    return f"{PG}/{name}"


class Run:
    """One backend's run, with its own folder and databases."""

    def __init__(self, args, backend, work):
        self.args, self.backend, self.work = args, backend, work
        self.secret = "e2e-" + secrets.token_urlsafe(40)
        self.pg_names = []

    def database(self, name):
        if self.backend == "sqlite":
            path = os.path.join(self.work, name)
            os.makedirs(path, exist_ok=True)
            return f"sqlite:///{path}/db.sqlite3"
        db = f"hearth_e2e_{name}_{os.getpid()}"
        self.pg_names.append(db)
        return pg_db(db)

    def ref_env(self, url, name):
        env = dict(os.environ)
        env.update(
            SECRET_KEY=self.secret,
            DATABASE_URL=url,
            REFERENCE_DATA_DIR=os.path.join(self.work, "data-" + name),
            WORKERS="2",
        )
        return env

    def manage(self, url, name, *argv, extra=None):
        env = self.ref_env(url, name)
        env.update(extra or {})
        return subprocess.run(
            ["bash", os.path.join(self.args.reference, "manage.sh"), *argv],
            env=env, check=True, capture_output=True, text=True,
        ).stdout

    def reference(self, url, name):
        port = free_port()
        return Server(
            ["bash", os.path.join(self.args.reference, "run.sh"), f"127.0.0.1:{port}"],
            self.ref_env(url, name), os.path.join(self.work, f"ref-{name}.log"), port,
        )

    def hearth_env(self, url):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "HEARTH"))}
        env.update(DATABASE_URL=url, SECRET_KEY=self.secret, DEBUG="true")
        return env

    def hearth(self, url, *argv, ok=True):
        r = subprocess.run([self.args.hearth, *argv], env=self.hearth_env(url), cwd=self.work,
                           capture_output=True, text=True)
        if ok and r.returncode != 0:
            raise RuntimeError(f"hearth {' '.join(argv)} failed:\n{r.stdout}\n{r.stderr}")
        return r

    def serve(self, url, name):
        port = free_port()
        return Server([self.args.hearth, "serve", "--addr", f"127.0.0.1:{port}"],
                      self.hearth_env(url), os.path.join(self.work, f"hearth-{name}.log"), port)


PASSWORDS = {
    "staff": "Staff-Pass-9431!",
    "alice": "Alice-Pass-5520!",
    "bob": "Bob-Pass-7788!x",
    "carol": "Carol-Pass-3141!",
}


def populate(ref, run, url):
    """Users, tokens, JWTs, a session and rows in every table, through the API."""
    run.manage(url, "src", "createsuperuser", "--username", "staff", "--email", "staff@example.com",
               "--noinput", extra={"DJANGO_SUPERUSER_PASSWORD": PASSWORDS["staff"]})
    for name in ("alice", "bob", "carol"):
        s, body, _ = ref.call("POST", "/api/user/register/", {"username": name, "password": PASSWORDS[name]})
        check(s == 201, f"register {name}: {s} {body}")
    state = {"drf": {}, "jwt": {}}
    for name in PASSWORDS:
        s, body, _ = ref.call("POST", "/api-token-auth/", {"username": name, "password": PASSWORDS[name]})
        check(s == 200, f"token {name}: {body}")
        state["drf"][name] = body["token"]
        s, body, _ = ref.call("POST", "/api/token/", {"username": name, "password": PASSWORDS[name]})
        check(s == 200, f"jwt {name}: {body}")
        state["jwt"][name] = body
    # bob's refresh token ends by logout: blacklisted
    s, body, _ = ref.call("POST", "/api/user/logout/", {"refresh": state["jwt"]["bob"]["refresh"]})
    check(s == 200, f"logout: {body}")
    s, body, _ = ref.call("POST", "/api/token/refresh/", {"refresh": state["jwt"]["bob"]["refresh"]})
    check(s == 401, f"blacklisted refresh on the reference: {s} {body}")
    # carol logs in with a session (seed 001)
    _, _, hdrs = ref.call("GET", "/authentication/login")
    csrf = set_cookies(hdrs)["csrftoken"]
    s, body, hdrs = ref.call("POST", "/authentication/login",
                             {"username": "carol", "password": PASSWORDS["carol"]},
                             cookies={"csrftoken": csrf}, headers={"X-CSRFToken": csrf})
    check(body == {"error": "None, login successful"}, f"session login: {body}")
    state["session"] = set_cookies(hdrs)["sessionid"]
    state["csrf"] = set_cookies(hdrs).get("csrftoken", csrf)

    def as_(name):
        return "Token " + state["drf"][name]

    for name, texts in (("alice", ["hello", "again"]), ("bob", ["hi alice"]), ("carol", ["hey"])):
        for text in texts:
            s, body, _ = ref.call("POST", "/api/messages", {"text": text}, auth=as_(name))
            check(s == 201, f"message: {s} {body}")
    for name, titles in (("alice", ["milk", "eggs"]), ("bob", ["bread"]), ("carol", ["tea"])):
        for title in titles:
            s, body, _ = ref.call("POST", "/api/tasks/", {"title": title, "completed": title == "eggs"},
                                  auth=as_(name))
            check(s == 201, f"task: {s} {body}")
    for name in ("alice", "bob"):
        s, body, _ = ref.call("POST", "/api/blogposts/", {"title": f"{name}'s post", "content": "Lorem ipsum."},
                              auth=as_(name))
        check(s == 201, f"post: {s} {body}")
    albums = []
    for name, artist, year in (("Blue", "Joni Mitchell", "1971-06-22"), ("Kind of Blue", "Miles Davis", "1959-08-17")):
        s, body, _ = ref.call("POST", "/music/album", {"name": name, "artist": artist, "year_released": year},
                              auth=as_("staff"))
        check(s == 201, f"album: {s} {body}")
        albums.append(body["id"])
    songs = []
    for song, album, streams in (("River", 0, 1200), ("Carey", 0, 800), ("So What", 1, 5000)):
        s, body, _ = ref.call("POST", "/music/song", {"song_name": song, "album": albums[album], "num_streams": streams},
                              auth=as_("staff"))
        check(s == 201, f"song: {s} {body}")
        songs.append(body["id"])
    for name, song in (("alice", 0), ("alice", 2), ("bob", 1)):
        s, body, _ = ref.call("POST", "/music/likes", {"song": songs[song]}, auth=as_(name))
        check(s == 201, f"like: {s} {body}")
    state["albums"], state["songs"] = albums, songs
    return state


def answers(server, state, *, by="drf"):
    """Every list and detail, as each user sees it (by DRF token)."""
    out = {}
    for name in PASSWORDS:
        auth = "Token " + state["drf"][name]
        for path in ("/api/messages", "/api/tasks/", "/api/blogposts/", "/music/album", "/music/song",
                     "/music/likes"):
            s, body, hdrs = server.call("GET", path, auth=auth)
            out[(name, path)] = (s, body, hdrs.get("X-Total-Count"))
            if s == 200 and isinstance(body, list):
                for row in body:
                    detail = {"/api/messages": "/api/messages/{}", "/api/tasks/": "/api/tasks/{}/",
                              "/api/blogposts/": "/api/blogposts/{}/", "/music/album": "/music/album/{}",
                              "/music/song": "/music/song/{}"}.get(path)
                    if detail:
                        p = detail.format(row["id"])
                        s2, b2, _ = server.call("GET", p, auth=auth)
                        out[(name, p)] = (s2, b2, None)
        for album in state["albums"]:
            p = f"/music/songInAlbum?album={album}"
            s, body, _ = server.call("GET", p, auth=auth)
            out[(name, p)] = (s, body, None)
    return out


MILLIS = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z")


def to_millis(value):
    """Django's dumpdata keeps milliseconds only: compare at that precision."""
    text = json.dumps(value, sort_keys=True)
    return MILLIS.sub(lambda m: m.group(1) + (m.group(2) or ".000").ljust(4, "0")[:4] + "Z", text)


def same(expected, got, what, millis=False):
    check(set(expected) == set(got), f"{what}: different requests")
    for key in expected:
        a, b = expected[key], got[key]
        if millis:
            a, b = to_millis(a), to_millis(b)
        check(a == b, f"{what}: {key} differs\n reference: {a}\n hearth:    {b}")


def backend_run(args, backend):
    work = tempfile.mkdtemp(prefix=f"hearth-e2e-{backend}-")
    run = Run(args, backend, work)
    servers = []
    try:
        t0 = time.time()
        src = run.database("src")
        ref = run.reference(src, "src")
        servers.append(ref)
        state = populate(ref, run, src)
        expected = answers(ref, state)
        ref.stop()
        print(f"[{backend}] reference populated, {len(expected)} answers recorded ({time.time() - t0:.0f} s)")

        # --- import into a fresh Hearth ---
        target = run.database("hearth")
        r = run.hearth(target, "import-django", "--from", src, "--dry-run")
        check("Dry run: nothing was written." in r.stdout, f"dry run: {r.stdout}")
        r = run.hearth(target, "import-django", "--from", src)
        print(r.stdout, end="")
        check(re.search(r"auth\.user\s+4 imported", r.stdout), "4 users imported")
        check("sessions.session" in r.stdout and "WARNING" not in r.stdout, "sessions verified")
        r = run.hearth(target, "import-django", "--from", src, ok=False)
        check(r.returncode != 0 and "not empty" in r.stderr, f"second import refused: {r.stderr}")

        hearth = run.serve(target, "import")
        servers.append(hearth)
        same(expected, answers(hearth, state), "imported answers")
        bob_access = state["jwt"]["bob"]["access"]
        s, body, _ = hearth.call("GET", "/api/tasks/", auth="Bearer " + state["jwt"]["alice"]["access"])
        check(s == 200 and [t["title"] for t in body] == ["milk", "eggs"], f"Django's access token: {s} {body}")
        s, body, _ = hearth.call("POST", "/api/token/refresh/", {"refresh": state["jwt"]["alice"]["refresh"]})
        check(s == 200 and "access" in body, f"live refresh token: {s} {body}")
        s, body, _ = hearth.call("POST", "/api/token/refresh/", {"refresh": state["jwt"]["bob"]["refresh"]})
        check(s == 401 and body.get("detail") == "Token is blacklisted", f"blacklisted refresh: {s} {body}")
        s, body, _ = hearth.call("GET", "/api/tasks/", cookies={"sessionid": state["session"]})
        check(s == 200 and [t["title"] for t in body] == ["tea"], f"session cookie: {s} {body}")
        # a write with the session needs Django's CSRF cookie, which Hearth reads the same way
        session_and_csrf = {"sessionid": state["session"], "csrftoken": state["csrf"]}
        s, body, _ = hearth.call("POST", "/api/tasks/", {"title": "by session"}, cookies=session_and_csrf)
        check(s == 403, f"a session write without the CSRF header: {s} {body}")
        s, body, _ = hearth.call("POST", "/api/tasks/", {"title": "by session"}, cookies=session_and_csrf,
                                 headers={"X-CSRFToken": state["csrf"]})
        check(s == 201 and body["title"] == "by session", f"a session write with Django's CSRF token: {s} {body}")
        s, body, _ = hearth.call("GET", "/api/tasks/", auth="Bearer " + bob_access)
        check(s == 200, f"bob's access token (the logout blacklists only the refresh): {s}")
        for name, password in list(PASSWORDS.items()) * 2:  # the second time on the argon2id hash
            s, body, _ = hearth.call("POST", "/api/token/", {"username": name, "password": password})
            check(s == 200 and "access" in body, f"{name} logs in with the same password: {s} {body}")
            s, body, _ = hearth.call("POST", "/api/token/", {"username": name, "password": password + "x"})
            check(s == 401, f"{name} with a wrong password: {s}")
        # new rows come after the imported ids
        last = {p: max(r["id"] for r in expected[("staff", p)][1])
                for p in ("/api/messages", "/api/blogposts/", "/music/album", "/music/song")}
        alice = "Token " + state["drf"]["alice"]
        staff = "Token " + state["drf"]["staff"]
        s, body, _ = hearth.call("POST", "/api/messages", {"text": "after"}, auth=alice)
        check(s == 201 and body["id"] == last["/api/messages"] + 1, f"new message id: {body}")
        s, body, _ = hearth.call("POST", "/api/blogposts/", {"title": "t", "content": "c"}, auth=alice)
        check(s == 201 and body["id"] == last["/api/blogposts/"] + 1, f"new post id: {body}")
        s, body, _ = hearth.call("POST", "/music/album", {"name": "n", "artist": "a", "year_released": "2000-01-01"},
                                 auth=staff)
        check(s == 201 and body["id"] == last["/music/album"] + 1, f"new album id: {body}")
        s, body, _ = hearth.call("POST", "/api/tasks/", {"title": "later"}, auth=alice)
        last_task = max(r["id"] for n in PASSWORDS for r in expected[(n, "/api/tasks/")][1])
        check(s == 201 and body["id"] == last_task + 2, f"new task id (after the session's): {body}")
        hearth.stop()
        print(f"[{backend}] import checked ({time.time() - t0:.0f} s)")

        # --- Hearth's dumpdata into a fresh reference (from an import without the new rows) ---
        imported_again = run.database("hearth2")
        run.hearth(imported_again, "import-django", "--from", src)
        dump = os.path.join(work, "hearth-dump.json")
        run.hearth(imported_again, "dumpdata", "--indent", "2", "--output", dump)
        ref_db = run.database("ref2")
        run.manage(ref_db, "ref2", "migrate", "--noinput", "-v", "0")
        run.manage(ref_db, "ref2", "loaddata", dump)
        ref2 = run.reference(ref_db, "ref2")
        servers.append(ref2)
        same(expected, answers(ref2, state), "the reference after loaddata of hearth dumpdata")
        ref2.stop()

        # --- the reference's dumpdata into a fresh Hearth ---
        django_dump = os.path.join(work, "django-dump.json")
        with open(django_dump, "w") as f:
            f.write(run.manage(src, "src", "dumpdata", "--indent", "2"))
        fresh = run.database("hearth3")
        r = run.hearth(fresh, "loaddata", django_dump)
        check(re.search(r"auth\.user\s+4 imported", r.stdout), f"loaddata: {r.stdout}")
        hearth3 = run.serve(fresh, "loaddata")
        servers.append(hearth3)
        same(expected, answers(hearth3, state), "hearth after loaddata of the reference's dumpdata", millis=True)
        hearth3.stop()
        print(f"[{backend}] fixtures checked both ways ({time.time() - t0:.0f} s)")
    except BaseException:
        for log in sorted(os.listdir(work)):
            if log.endswith(".log"):
                print(f"--- {log} (last lines) ---", file=sys.stderr)
                with open(os.path.join(work, log)) as f:
                    print("".join(f.readlines()[-15:]), file=sys.stderr)
        raise
    finally:
        for s in servers:
            s.stop()
        for db in run.pg_names:
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", db],
                           env=QUIET_PG)
        shutil.rmtree(work, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hearth", required=True)
    p.add_argument("--reference", required=True)
    p.add_argument("--backend", default="both", choices=["sqlite", "postgres", "both"])
    args = p.parse_args()
    args.hearth = os.path.abspath(args.hearth)
    args.reference = os.path.abspath(args.reference)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    failed = 0
    for backend in backends:
        try:
            backend_run(args, backend)
        except AssertionError as e:
            failed += 1
            print(f"[{backend}] FAILED: {e}", file=sys.stderr)
    print(f"{CHECKS} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
