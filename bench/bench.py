#!/usr/bin/env python3
"""Hearth's benchmark: one command, standard-library Python.

Builds the release binary when needed, starts `hearth serve` on a fresh database in a
temporary folder (SQLite, or with --postgres a fresh PostgreSQL database that is dropped
afterwards), measures start-up time on the migrated database, seeds it through the HTTP
API exactly as ../shared/bench/compare.py does, drives the endpoints of issue 4 with oha
and prints req/s, p50/p99 latency, non-2xx counts and memory (VmRSS, PSS, VmHWM).

  python3 bench/bench.py                     # Hearth alone, SQLite
  python3 bench/bench.py --compare           # + the Django reference (gunicorn), side by side
  python3 bench/bench.py --postgres --compare
  python3 bench/bench.py --floor             # + ../shared/floor's floor-rusqlite (3 reads)
  python3 bench/bench.py --postgres --pg-floor  # + bench/pg-floor on Hearth's database (the list)
  python3 bench/bench.py --compare --floor --json /tmp/run.json
  python3 bench/bench.py --report /tmp/run.json      # the tables again, from the raw results

Every knob is a flag (see --help); ROUNDS, DURATION, WARMUP, CONNECTIONS and OHA are also
read from the environment. Only loopback; every step is bounded in time; all servers are
stopped (process groups) and temporary databases removed at the end, also on error or ^C.
"""

import argparse
import datetime
import http.client
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHARED = os.path.abspath(os.environ.get("HEARTH_SHARED", os.path.join(REPO, "..", "shared")))
SHARED_BENCH = os.path.join(SHARED, "bench")
REFERENCE = os.path.join(SHARED, "reference")
FLOOR = os.path.join(SHARED, "floor")
PG_FLOOR = os.path.join(HERE, "pg-floor")
COUNTS = {"ALBUMS": 20, "SONGS": 200, "MESSAGES": 1000, "TASKS": 200}
STAFF = "admin"
HZ = os.sysconf("SC_CLK_TCK")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def die(msg):
    raise SystemExit(f"bench: {msg}")


# --- seeding: compare.py's seed() when ../shared/bench is there, else a minimal copy ---------

try:
    sys.path.insert(0, SHARED_BENCH)
    import compare  # noqa: E402

    seed, api_login = compare.seed, compare.login
    SEED_SOURCE = os.path.join(SHARED_BENCH, "compare.py")
except ImportError:  # the same requests, in order, without compare.py's thread pool
    compare = None
    SEED_SOURCE = "bench.py (copy of compare.py's seed)"

    def _call(base, method, path, body=None, token=None, expect=(200, 201)):
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                status, raw, hdrs = resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as e:
            status, raw, hdrs = e.code, e.read(), e.headers
        if status not in expect:
            die(f"{method} {base}{path} -> {status} {raw[:300]!r}")
        return status, (json.loads(raw) if raw else None), hdrs

    def api_login(base, username, password):
        return _call(base, "POST", "/api/token/", {"username": username, "password": password},
                     expect=(200,))[1]["access"]

    def seed(base, staff_user, staff_pass, bench_user, bench_pass, counts):
        staff = api_login(base, staff_user, staff_pass)
        user = _call(base, "POST", "/api/auth/signup/", {"username": bench_user, "password": bench_pass},
                     expect=(200,))[1]["access"]
        albums = [_call(base, "POST", "/music/album", {"name": f"Album {i}", "artist": f"Artist {i % 7}",
                                                        "year_released": f"{1960 + i}-01-01"}, staff)[1]
                  for i in range(counts["ALBUMS"])]
        songs = [_call(base, "POST", "/music/song", {"song_name": f"Song {i}", "album": albums[i % len(albums)]["id"],
                                                     "num_streams": i * 37}, staff)[1]
                 for i in range(counts["SONGS"])]
        for i in range(counts["MESSAGES"]):
            _call(base, "POST", "/api/messages", {"text": f"seed message {i}"}, user)
        for i in range(counts["TASKS"]):
            _call(base, "POST", "/api/tasks/", {"title": f"task {i}", "completed": i % 3 == 0}, user)
        totals = {p: _call(base, "GET", p + "?limit=1", token=user, expect=(200,))[2].get("X-Total-Count")
                  for p in ("/music/song", "/api/messages", "/api/tasks/")}
        return {"user_token": user, "song_id": songs[len(songs) // 2]["id"], "totals": totals}


# --- /proc: process trees, memory, CPU ---------------------------------------------------------

def tree(pid):
    """pid and its descendants (gunicorn: master and workers)."""
    kids = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(p))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def memory(pid):
    """VmRSS, PSS (smaps_rollup) and VmHWM in MiB, summed over pid and its descendants."""
    tot = {"rss_mib": 0, "pss_mib": 0, "hwm_mib": 0}
    pids = tree(pid)
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                st = {l.split(":")[0]: int(l.split()[1]) for l in f if l.startswith(("VmRSS:", "VmHWM:"))}
            with open(f"/proc/{p}/smaps_rollup") as f:
                pss = next(int(l.split()[1]) for l in f if l.startswith("Pss:"))
        except (OSError, StopIteration, IndexError, ValueError):
            continue
        tot["rss_mib"] += st.get("VmRSS", 0)
        tot["hwm_mib"] += st.get("VmHWM", 0)
        tot["pss_mib"] += pss
    out = {k: round(v / 1024, 1) for k, v in tot.items()}
    out["processes"] = len(pids)
    return out


def system_ticks():
    """(busy, steal) clock ticks of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    return user + nice + system + irq + softirq, steal


def own_ticks(mine):
    """CPU ticks of this script's process tree (servers, oha), with reaped children's time."""
    total = 0
    for p in mine:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            if p == os.getpid():  # oha, once reaped, is counted in our cutime/cstime
                total += int(fields[13]) + int(fields[14])
        except (OSError, IndexError, ValueError):
            pass
    return total


def cpu_ticks():
    ticks = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                ticks[int(p)] = int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                pass
    return ticks


def named_ticks(before, after, mine, comm):
    """Ticks used by other long-lived processes called comm (the PostgreSQL server's backends)."""
    total = 0
    for p in after:
        if p in mine or after[p] <= before.get(p, 0):
            continue
        try:
            with open(f"/proc/{p}/comm") as f:
                if f.read().strip() == comm:
                    total += after[p] - before.get(p, 0)
        except OSError:
            pass
    return total


def busiest_foreign(before, after, mine, n=3):
    """The other long-lived processes that used the most CPU between two cpu_ticks() snapshots."""
    used = sorted(((after[p] - before.get(p, 0), p) for p in after if p not in mine), reverse=True)[:n]
    out = []
    for ticks, p in used:
        if ticks <= 0:
            continue
        try:
            with open(f"/proc/{p}/comm") as f:
                name = f.read().strip()
        except OSError:
            name = "?"
        out.append(f"{name}:{ticks}")
    return out


# --- servers -------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One server process in its own process group; stop() ends the whole group."""

    live = []

    def __init__(self, name, cmd, env, cwd, port, logfile):
        self.name, self.cmd, self.env, self.cwd, self.port, self.logfile = name, cmd, env, cwd, port, logfile
        self.proc = None
        self.base = f"http://127.0.0.1:{port}"

    def start(self):
        self.out = open(self.logfile, "a+")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=self.cwd, stdout=self.out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        Server.live.append(self)
        return self

    def wait_status(self, path, want=200, limit=60.0):
        """Milliseconds from spawn until GET path answers `want` (None: any status)."""
        while time.monotonic() - self.t0 < limit:
            if self.proc.poll() is not None:
                die(f"{self.name} exited ({self.proc.returncode}) before answering; log:\n{self.tail()}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", path)
                status = c.getresponse().status
                c.close()
                if want is None or status == want:
                    return (time.monotonic() - self.t0) * 1000
            except OSError:
                pass
            time.sleep(0.001)
        die(f"{self.name}: no {want} on {path} within {limit}s; log:\n{self.tail()}")

    def tail(self, n=3000):
        try:
            with open(self.logfile) as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # the group may outlive its leader (gunicorn workers): make sure it is gone
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc = None
        self.out.close()
        if self in Server.live:
            Server.live.remove(self)


def run(cmd, env=None, cwd=None, timeout=120, quiet=True):
    out = subprocess.run(cmd, env=env, cwd=cwd, timeout=timeout, capture_output=True, text=True)
    if out.returncode != 0:
        die(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout[-1500:]}{out.stderr[-1500:]}")
    if not quiet:
        log(out.stdout.strip())
    return out.stdout


# --- prerequisites ---------------------------------------------------------------------------

def find_oha(explicit):
    shared = os.path.join(SHARED_BENCH, ".tools", "bin", "oha")
    for cand in (explicit, shared, shutil.which("oha"), os.path.expanduser("~/.cargo/bin/oha")):
        if cand and os.access(cand, os.X_OK):
            return cand
    # `cargo install oha --root ../shared/bench/.tools` may be running (compare.sh starts one)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and installing_oha():
        log("bench: waiting for the running `cargo install oha` ...")
        time.sleep(15)
        if os.access(shared, os.X_OK):
            return shared
    die("oha not found: `cargo install oha --locked --root ../shared/bench/.tools`, or --oha PATH")


def installing_oha():
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if b"install" in argv and b"oha" in argv:
                return True
    return False


def build_hearth(args):
    if args.hearth_bin:
        if not os.access(args.hearth_bin, os.X_OK):
            die(f"--hearth-bin {args.hearth_bin}: not an executable")
        return os.path.abspath(args.hearth_bin)
    if not args.no_build:
        log("bench: cargo build --release (a no-op when up to date)")
        run(["cargo", "build", "--release", "--quiet"], cwd=REPO, timeout=3600)
    path = os.path.join(REPO, "target", "release", "hearth")
    if not os.access(path, os.X_OK):
        die(f"{path} missing: run `cargo build --release`")
    return path


def build_floor():
    bins = [os.path.join(FLOOR, "target", "release", b) for b in ("floor", "floor-rusqlite")]
    if not all(os.access(b, os.X_OK) for b in bins):
        if not os.path.isdir(FLOOR):
            die(f"--floor needs {FLOOR}")
        log(f"bench: building the floor (cd {FLOOR} && cargo build --release --bin floor --bin floor-rusqlite)")
        run(["cargo", "build", "--release", "--quiet", "--bin", "floor", "--bin", "floor-rusqlite"], cwd=FLOOR,
            timeout=3600)
    return bins


def build_pg_floor():
    log("bench: cargo build --release in bench/pg-floor (a no-op when up to date)")
    run(["cargo", "build", "--release", "--quiet"], cwd=PG_FLOOR, timeout=3600)
    return os.path.join(PG_FLOOR, "target", "release", "pg-floor")


def git_state():
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock",
                                "migrations"], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
        with open("/proc/meminfo") as f:
            mem_kib = next(int(l.split()[1]) for l in f if l.startswith("MemTotal:"))
    except (OSError, StopIteration):
        mem_kib = 0
    return {"nproc": os.cpu_count(), "cpu": model, "mem_gib": round(mem_kib / 1024 / 1024, 1),
            "kernel": platform.release(), "loadavg_at_start": os.getloadavg()}


# --- PostgreSQL --------------------------------------------------------------------------------

def pg_admin_url(base):
    u = urllib.parse.urlsplit(base)
    if u.scheme not in ("postgres", "postgresql"):
        die(f"--pg-url {base}: want postgres://user@host:port")
    if (u.hostname or "") not in LOOPBACK and not (u.hostname or "").startswith("127."):
        die(f"--pg-url {base}: only a loopback PostgreSQL is allowed")
    return u


def pg_sql(base, sql):
    u = pg_admin_url(base)
    url = urllib.parse.urlunsplit((u.scheme, u.netloc, "/postgres", "", ""))
    run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], timeout=60)


def pg_db_url(base, name):
    u = pg_admin_url(base)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, "", ""))


# --- load --------------------------------------------------------------------------------------

def run_oha(oha, url, method, headers, body, connections, duration):
    """compare.py's oha invocation (-z, -w, JSON), keeping p50 as well as p99."""
    cmd = [oha, "-z", f"{duration}s", "-w", "-c", str(connections), "--no-tui", "--output-format", "json",
           "-m", method]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    if body is not None:
        cmd += ["-d", body]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    if out.returncode != 0:
        die(f"oha failed ({out.returncode}): {out.stderr[-500:]}")
    data = json.loads(out.stdout)
    summary = data["summary"]
    codes = {str(k): v for k, v in (data.get("statusCodeDistribution") or {}).items()}
    errs = {str(k): v for k, v in (data.get("errorDistribution") or {}).items() if "deadline" not in k}
    ok = sum(v for k, v in codes.items() if k.startswith("2"))
    pct = data.get("latencyPercentiles") or {}
    ms = lambda v: round(v * 1000, 3) if v is not None else None  # noqa: E731
    return {
        "rps": ok / summary["total"] if summary.get("total") else 0.0,
        "p50_ms": ms(pct.get("p50")),
        "p99_ms": ms(pct.get("p99")),
        "ok": ok,
        "non_2xx": sum(v for k, v in codes.items() if not k.startswith("2")),
        "socket_errors": sum(errs.values()),
        "codes": codes,
        "errors": errs,
    }


def endpoints(login_conns, conns):
    """(label, method, path, needs bearer, body, connections, which targets serve it)."""
    reads = ("hearth", "reference", "floor")
    both = ("hearth", "reference")
    return [
        ("GET /music/song", "GET", "/music/song", False, None, conns, reads),
        ("GET /music/song/<id>", "GET", "/music/song/{song}", False, None, conns, reads),
        ("GET /api/messages?limit=100", "GET", "/api/messages?limit=100", True, None, conns, reads + ("pg-floor",)),
        ("GET /api/tasks/", "GET", "/api/tasks/", True, None, conns, both),
        ("POST /api/messages", "POST", "/api/messages", True, '{"text":"bench message"}', conns, both),
        ("POST /api/tasks/", "POST", "/api/tasks/", True, '{"title":"bench task","completed":false}', conns, both),
        (f"POST /api/token/ (logins/s, c={login_conns})", "POST", "/api/token/", False, "{creds}", login_conns,
         both),
    ]


# --- main --------------------------------------------------------------------------------------

def parse_args():
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--compare", action="store_true", help="also run the Django reference (../shared/reference)")
    p.add_argument("--floor", action="store_true", help="also run ../shared/floor's floor-rusqlite (3 reads)")
    p.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite (fresh databases)")
    p.add_argument("--pg-floor", action="store_true",
                   help="with --postgres: also run bench/pg-floor, the least code for the message list, on Hearth's "
                        "database")
    p.add_argument("--pg-url", default=env("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"),
                   help="PostgreSQL server for --postgres (loopback; default %(default)s)")
    p.add_argument("--json", metavar="PATH", help="write the raw results as JSON")
    p.add_argument("--rounds", type=int, default=int(env("ROUNDS", 3)), help="rounds per endpoint (ROUNDS, 3)")
    p.add_argument("--duration", type=int, default=int(env("DURATION", 10)), help="seconds per run (DURATION, 10)")
    p.add_argument("--warmup", type=int, default=int(env("WARMUP", 2)),
                   help="unmeasured seconds per target before an endpoint's first round (WARMUP, 2)")
    p.add_argument("--connections", type=int, default=int(env("CONNECTIONS", 64)), help="(CONNECTIONS, 64)")
    p.add_argument("--login-connections", type=int, default=int(env("LOGIN_CONNECTIONS", 2)), help="(2)")
    p.add_argument("--starts", type=int, default=int(env("STARTS", 5)), help="start-time samples (5)")
    p.add_argument("--only", default=env("ONLY", ""), help="comma list of substrings of endpoint names")
    p.add_argument("--rust-log", default=env("BENCH_RUST_LOG", "warn"), help="RUST_LOG of Hearth (warn)")
    p.add_argument("--hearth-bin", help="use this hearth binary; skip cargo build")
    p.add_argument("--no-build", action="store_true", help="use target/release/hearth as it is")
    p.add_argument("--oha", default=env("OHA"), help="oha binary (default: ../shared/bench/.tools/bin/oha, PATH)")
    p.add_argument("--label", default="", help="free text for the report's first line (e.g. the build measured)")
    p.add_argument("--report", metavar="PATH", help="only print the tables of an earlier run's --json file")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (databases, server logs)")
    return p.parse_args()


def main():
    args = parse_args()
    if args.report:
        with open(args.report) as f:
            return report(json.load(f))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    oha = find_oha(args.oha)
    hearth_bin = build_hearth(args)
    floor_bins = build_floor() if args.floor else None
    if args.pg_floor and not args.postgres:
        die("--pg-floor needs --postgres")
    pg_floor_bin = build_pg_floor() if args.pg_floor else None
    if args.floor and args.postgres:
        log("bench: note: floor-rusqlite serves SQLite only; with --postgres it is Hearth on PostgreSQL "
            "against the floor on SQLite")
    only = [x.strip() for x in args.only.split(",") if x.strip()]
    backend = "postgresql" if args.postgres else "sqlite"
    staff_pass = "Bench-staff-" + secrets.token_hex(8)
    bench_user, bench_pass = f"bench_{secrets.token_hex(4)}", "Tr0ub4dor&3-" + secrets.token_hex(6)
    started = datetime.datetime.now(datetime.timezone.utc)
    res = {
        "date": started.isoformat(timespec="seconds"), "machine": machine(), "git": git_state(),
        "label": args.label, "hearth_bin": hearth_bin, "oha": oha, "backend": backend, "rounds": args.rounds,
        "duration": args.duration,
        "warmup": args.warmup, "connections": args.connections, "login_connections": args.login_connections,
        "rust_log": args.rust_log, "seed": {"source": SEED_SOURCE, **COUNTS},
        "start_ms": {}, "memory": {}, "runs": [], "totals": {},
    }
    work = tempfile.mkdtemp(prefix="hearth-bench-")
    pg_dbs = []
    log(f"bench: work dir {work}; {backend}; {args.rounds} round(s) x {args.duration}s, warm-up {args.warmup}s, "
        f"{args.connections} connections (login {args.login_connections}); oha {oha}")
    try:
        # --- Hearth: fresh database, staff user, start-up samples, then the server under test
        henv = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HEARTH_ADDR")}
        if args.postgres:
            name = f"hearth_bench_{secrets.token_hex(4)}"
            pg_sql(args.pg_url, f'CREATE DATABASE "{name}"')
            pg_dbs.append(name)
            henv["DATABASE_URL"] = pg_db_url(args.pg_url, name)
        else:
            henv["DATABASE_URL"] = "sqlite://" + os.path.join(work, "hearth.db")
        henv.update(SECRET_KEY=secrets.token_urlsafe(48), DEBUG="false", RUST_LOG=args.rust_log,
                    HEARTH_SUPERUSER_PASSWORD=staff_pass)
        run([hearth_bin, "createsuperuser", "--username", STAFF, "--email", "admin@example.com", "--noinput"],
            env=henv, cwd=work)  # applies the migrations: every start below is on a migrated database
        hport = free_port()
        hcmd = [hearth_bin, "serve", "--addr", f"127.0.0.1:{hport}"]
        samples = []
        for _ in range(args.starts):
            s = Server("hearth", hcmd, henv, work, hport, os.path.join(work, "hearth.log")).start()
            samples.append(round(s.wait_status("/music/song?limit=1", 200, limit=30), 1))
            s.stop()
        res["start_ms"]["hearth"] = {"median": statistics.median(samples) if samples else None, "samples": samples}
        log(f"hearth start to first 200 (migrated db): {samples} ms")
        hearth = Server("hearth", hcmd, henv, work, hport, os.path.join(work, "hearth.log")).start()
        hearth.wait_status("/music/song?limit=1", 200, limit=30)
        time.sleep(2)
        res["memory"]["hearth"] = {"idle_after_start": memory(hearth.proc.pid)}
        targets = {"hearth": {"server": hearth}}

        # --- the Django reference, deployed as its tutorial does (run.sh: gunicorn, 2 x cores + 1)
        if args.compare:
            renv = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "WORKERS", "SECRET_KEY")}
            renv.update(REFERENCE_DATA_DIR=os.path.join(work, "ref-data"), DJANGO_SUPERUSER_PASSWORD=staff_pass,
                        DEBUG="false")
            if args.postgres:
                name = f"reference_bench_{secrets.token_hex(4)}"
                pg_sql(args.pg_url, f'CREATE DATABASE "{name}"')
                pg_dbs.append(name)
                renv["DATABASE_URL"] = pg_db_url(args.pg_url, name)
            run(["bash", os.path.join(REFERENCE, "manage.sh"), "createsuperuser", "--username", STAFF, "--email",
                 "admin@example.com", "--noinput"], env=renv, timeout=900)
            rport = free_port()
            ref = Server("reference", ["bash", os.path.join(REFERENCE, "run.sh"), f"127.0.0.1:{rport}"], renv,
                         REFERENCE, rport, os.path.join(work, "reference.log")).start()
            res["start_ms"]["reference"] = {"median": round(ref.wait_status("/music/song?limit=1", 200, 120), 1),
                                            "note": "one sample, through run.sh (migrate check + gunicorn boot)"}
            time.sleep(3)
            res["memory"]["reference"] = {"idle_after_start": memory(ref.proc.pid)}
            targets["reference"] = {"server": ref}

        # --- floor-rusqlite on a database the sqlx floor made and seeded (same rows as compare.py's seed)
        if floor_bins:
            fenv = dict(os.environ, FLOOR_DB=os.path.join(work, "floor.db"))
            fport = free_port()
            maker = Server("floor (seeding)", [floor_bins[0]], dict(fenv, FLOOR_ADDR=f"127.0.0.1:{fport}"), work,
                           fport, os.path.join(work, "floor-seed.log")).start()
            maker.wait_status("/hello", None, limit=60)
            token = next((l.split()[1] for l in maker.tail(100000).splitlines() if l.startswith("token ")), None)
            maker.stop()
            if not token:
                die("the floor printed no token")
            floor = Server("floor-rusqlite", [floor_bins[1]], dict(fenv, FLOOR_ADDR=f"127.0.0.1:{fport}"), work,
                           fport, os.path.join(work, "floor-rusqlite.log")).start()
            res["start_ms"]["floor"] = {"median": round(floor.wait_status("/music/song?limit=1", 200, 30), 1),
                                        "note": "one sample, floor-rusqlite on the seeded database"}
            time.sleep(2)
            res["memory"]["floor"] = {"idle_after_start": memory(floor.proc.pid)}
            targets["floor"] = {"server": floor, "token": token, "song": 101}

        # --- bench/pg-floor on Hearth's own database: the same rows, and Hearth's tokens hold there
        if pg_floor_bin:
            penv = dict(os.environ, PG_FLOOR_URL=henv["DATABASE_URL"], SECRET_KEY=henv["SECRET_KEY"])
            pport = free_port()
            pg_floor = Server("pg-floor", [pg_floor_bin], dict(penv, PG_FLOOR_ADDR=f"127.0.0.1:{pport}"), work,
                              pport, os.path.join(work, "pg-floor.log")).start()
            pg_floor.wait_status("/api/messages", None, limit=30)
            res["memory"]["pg-floor"] = {"idle_after_start": memory(pg_floor.proc.pid)}
            targets["pg-floor"] = {"server": pg_floor, "login_at": "hearth"}

        # --- seed Hearth and the reference through the API (compare.py's seed)
        log(f"bench: seeding {COUNTS}, bench user {bench_user} (seed from {SEED_SOURCE})")
        for n in ("hearth", "reference"):
            if n in targets:
                s = seed(targets[n]["server"].base, STAFF, staff_pass, bench_user, bench_pass, COUNTS)
                targets[n].update(song=s["song_id"], login=(bench_user, bench_pass))
                res["totals"][n] = s["totals"]
        if len({json.dumps(t) for t in res["totals"].values()}) > 1:
            log(f"bench: note: row counts differ between targets: {res['totals']}")
        # what autovacuum does a minute or two after a bulk insert, done now on every
        # database alike: otherwise the runs differ by whether it has passed yet
        for name in pg_dbs:
            run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pg_db_url(args.pg_url, name), "-c", "VACUUM ANALYZE"],
                timeout=120)
        time.sleep(2)
        for n, t in targets.items():
            res["memory"][n]["idle_after_seed"] = memory(t["server"].proc.pid)
        log("memory:", json.dumps(res["memory"]))

        # --- load: each endpoint on every target serving it, order alternating per round
        creds = json.dumps({"username": bench_user, "password": bench_pass})
        for label, method, path, auth, body, conns, serves in endpoints(args.login_connections, args.connections):
            if only and not any(o in label for o in only):
                continue
            names = [n for n in targets if n in serves]
            tokens = {n: targets[n].get("token") or api_login(
                targets[targets[n].get("login_at", n)]["server"].base,
                *targets[targets[n].get("login_at", n)]["login"]) for n in names if auth}  # a fresh access token per endpoint (they live 30 minutes)
            for r in range(args.rounds):
                for n in (names if r % 2 == 0 else names[::-1]):
                    headers = {"Authorization": f"Bearer {tokens[n]}"} if auth else {}
                    if body:
                        headers["Content-Type"] = "application/json"
                    url = targets[n]["server"].base + path.format(song=targets[n].get("song"))
                    data = creds if body == "{creds}" else body
                    if r == 0 and args.warmup > 0:
                        run_oha(oha, url, method, headers, data, conns, args.warmup)
                    mine = set(tree(os.getpid()))
                    before, sys0, own0, t0 = cpu_ticks(), system_ticks(), own_ticks(mine), time.monotonic()
                    out = run_oha(oha, url, method, headers, data, conns, args.duration)
                    after, sys1, own1, wall = cpu_ticks(), system_ticks(), own_ticks(mine), time.monotonic() - t0
                    pct = lambda ticks: round(100 * ticks / HZ / wall, 1)  # noqa: E731  (100 = one core)
                    pg = named_ticks(before, after, mine, "postgres") if args.postgres else 0
                    out.update(endpoint=label, target=n, round=r, postgres_cpu_pct=pct(pg),
                               foreign_cpu_pct=pct(max(0, (sys1[0] - sys0[0]) - (own1 - own0) - pg)),
                               steal_pct=pct(sys1[1] - sys0[1]),
                               foreign_top=busiest_foreign(before, after, mine))
                    res["runs"].append(out)
                    log(f"  {label:<36} {n:<9} r{r}: {out['rps']:9.1f} req/s  p50 {out['p50_ms']:7.2f} ms  "
                        f"p99 {out['p99_ms']:7.2f} ms  non-2xx {out['non_2xx']} errors {out['socket_errors']}  "
                        f"{'postgres %s%%, ' % out['postgres_cpu_pct'] if args.postgres else ''}"
                        f"others' CPU {out['foreign_cpu_pct']}% "
                        f"(steal {out['steal_pct']}%) "
                        f"{' '.join(out['foreign_top'])}")
            for n in names:  # memory after each endpoint: shows which load grows it
                res["memory"][n].setdefault("after_endpoint", {})[label] = memory(targets[n]["server"].proc.pid)
        time.sleep(1)
        for n, t in targets.items():
            res["memory"][n]["after_load"] = memory(t["server"].proc.pid)
            if n == "hearth":
                res["hearth_log_tail"] = t["server"].tail(2000)
    finally:
        for s in list(Server.live):
            s.stop()
        for name in pg_dbs:
            try:
                pg_sql(args.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except (SystemExit, Exception) as e:  # noqa: BLE001 - report, keep cleaning up
                log(f"bench: could not drop database {name}: {e}")
        res["wall_s"] = round((datetime.datetime.now(datetime.timezone.utc) - started).total_seconds())
        if args.json:
            with open(args.json, "w") as f:
                json.dump(res, f, indent=2)
            log(f"bench: raw results in {args.json}")
        if args.keep:
            log(f"bench: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report(res)


# --- report ------------------------------------------------------------------------------------

def report(res):
    runs = res["runs"]
    labels = list(dict.fromkeys(x["endpoint"] for x in runs))
    present = [n for n in ("hearth", "reference", "floor", "pg-floor") if any(x["target"] == n for x in runs)]
    names = {"hearth": "Hearth", "reference": "reference", "floor": "floor-rusqlite", "pg-floor": "pg-floor"}

    def med(label, n, key):
        xs = [x[key] for x in runs if x["endpoint"] == label and x["target"] == n and x[key] is not None]
        return statistics.median(xs) if xs else None

    def bad(label, n):
        xs = [x for x in runs if x["endpoint"] == label and x["target"] == n]
        return (sum(x["non_2xx"] + x["socket_errors"] for x in xs)) if xs else None

    f0 = lambda v: "-" if v is None else f"{v:,.0f}"  # noqa: E731
    f1 = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
    f2 = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    ratio = lambda a, b: "-" if not a or not b else f"{a / b:.2f}x"  # noqa: E731

    m = res["machine"]
    own = res["hearth_bin"] == os.path.join(REPO, "target", "release", "hearth")
    built = f"Hearth {res['git']}" if own else f"Hearth {res['hearth_bin']}"
    label = res.get("label", "") + ": " if res.get("label") else ""
    print(f"\n{label}{built} on {res['backend']}; {res['date']}; {m['nproc']} cores ({m['cpu']}), "
          f"{m['mem_gib']} GiB; oha, {res['connections']} connections (login {res['login_connections']}), "
          f"medians of {res['rounds']} x {res['duration']} s per target, alternating, {res['warmup']} s warm-up; "
          f"RUST_LOG={res['rust_log']}")
    for n in present:
        print(f"\n{names[n]}:\n")
        print("| endpoint | req/s | p50 ms | p99 ms | non-2xx |")
        print("|---|---:|---:|---:|---:|")
        for label in labels:
            if med(label, n, "rps") is None:
                continue
            print(f"| {label} | {f0(med(label, n, 'rps'))} | {f2(med(label, n, 'p50_ms'))} | "
                  f"{f1(med(label, n, 'p99_ms'))} | {bad(label, n)} |")
    if len(present) > 1:
        print("\nside by side (req/s, p99 ms):\n")
        head = "| endpoint | Hearth req/s |"
        for n in present[1:]:
            head += f" {names[n]} req/s | Hearth / {names[n]} |"
        head += " Hearth p99 |" + "".join(f" {names[n]} p99 |" for n in present[1:])
        print(head)
        print("|---|" + "---:|" * (head.count("|") - 2))
        for label in labels:
            h = med(label, "hearth", "rps")
            row = f"| {label} | {f0(h)} |"
            for n in present[1:]:
                o = med(label, n, "rps")
                row += f" {f0(o)} | {ratio(h, o)} |"
            row += f" {f1(med(label, 'hearth', 'p99_ms'))} |" + "".join(
                f" {f1(med(label, n, 'p99_ms'))} |" for n in present[1:])
            print(row)
    print("\nmemory, MiB (RSS / PSS; peak = VmHWM; the reference summed over gunicorn's master and workers):\n")
    print("| target | idle after start | idle after seeding | after the load | peak | processes |")
    print("|---|---:|---:|---:|---:|---:|")
    for n in present or ["hearth"]:
        mem = res["memory"].get(n, {})
        cell = lambda k: f"{mem[k]['rss_mib']} / {mem[k]['pss_mib']}" if k in mem else "-"  # noqa: E731
        last = mem.get("after_load") or mem.get("idle_after_seed") or {}
        print(f"| {names[n]} | {cell('idle_after_start')} | {cell('idle_after_seed')} | {cell('after_load')} | "
              f"{last.get('hwm_mib', '-')} | {last.get('processes', '-')} |")
    for n in present:
        after = res["memory"].get(n, {}).get("after_endpoint", {})
        if after:
            print(f"  {names[n]} RSS after each endpoint: " + ", ".join(
                f"{lbl.split(' (')[0]} {v['rss_mib']}" for lbl, v in after.items()))
    print("\nstart to first 200 of GET /music/song?limit=1, migrated database (ms):")
    for n, st in res["start_ms"].items():
        extra = f" (samples {st['samples']})" if "samples" in st else f" ({st.get('note', '')})"
        print(f"  {names[n]}: {st['median']}{extra}")
    total_bad = sum(x["non_2xx"] + x["socket_errors"] for x in runs)
    others = sorted(x["foreign_cpu_pct"] for x in runs)
    print(f"\nnon-2xx answers + socket errors over all runs: {total_bad}")
    if others:
        print(f"CPU used by other processes (not this run's servers, oha or PostgreSQL) during the runs "
              f"(100% = one core of {m['nproc']}): median "
              f"{statistics.median(others):.0f}%, max {others[-1]:.0f}%; load average at start "
              f"{', '.join(f'{x:.1f}' for x in m['loadavg_at_start'])}")
    if total_bad:
        for x in runs:
            if x["non_2xx"] or x["socket_errors"]:
                print(f"  {x['endpoint']} {x['target']} r{x['round']}: {x['codes']} {x['errors']}")
    print(f"row counts after seeding: {json.dumps(res['totals'])}; wall time {res.get('wall_s')} s")


if __name__ == "__main__":
    main()
