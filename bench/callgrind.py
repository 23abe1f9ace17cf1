#!/usr/bin/env python3
"""Instructions per request of Hearth's hot reads, counted by callgrind.

Counts are repeatable for the same binary and inputs whatever else the machine is
doing, so two builds can be compared on a busy machine. SQLite, RUST_LOG=warn unless
--rust-log says otherwise. The counted requests share one kept-alive connection,
as the benchmark's clients do (--connection new: one each, its set-up counted).

  python3 bench/callgrind.py --binary target/release/hearth [--binary other/hearth]
  python3 bench/callgrind.py --binary target/release/hearth --keep /tmp/cg
      (keeps each read's dump there, for callgrind_annotate --inclusive=yes)
"""
import argparse
import glob
import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

N = 200


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=120) as resp:
        payload = resp.read()
        return json.loads(payload) if payload else None


def keep_alive_gets(port, path, token, n):
    """`n` GETs on one kept-alive connection, as the benchmark's clients send them
    (urllib opens a connection per request, whose set-up would be counted too)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for _ in range(n):
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            sys.exit(f"GET {path}: {resp.status}")
    conn.close()


def measure(binary, rust_log, keep=None, connection="keep-alive"):
    work = tempfile.mkdtemp(prefix="hearth-callgrind-")
    env = dict(os.environ, DATABASE_URL=f"sqlite://{work}/hearth.db", RUST_LOG=rust_log,
               SECRET_KEY=secrets.token_urlsafe(48), DEBUG="true",
               HEARTH_SUPERUSER_PASSWORD="callgrind-pass-1")
    subprocess.run([binary, "createsuperuser", "--username", "cg", "--email", "cg@example.com",
                    "--noinput"], env=env, check=True, cwd=work, capture_output=True)
    port = free_port()
    out = os.path.join(work, "callgrind.out")
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
         binary, "serve", "--addr", f"127.0.0.1:{port}"],
        env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                call(base, "GET", "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit("the server did not start under valgrind")
                time.sleep(0.5)
        token = call(base, "POST", "/api/token/",
                     {"username": "cg", "password": "callgrind-pass-1"})["access"]
        album = call(base, "POST", "/music/album",
                     {"name": "A", "artist": "B", "year_released": "2001-01-01"}, token)["id"]
        song = call(base, "POST", "/music/song",
                    {"song_name": "S", "album": album, "num_streams": 1}, token)["id"]
        for i in range(100):
            call(base, "POST", "/api/messages", {"text": f"message {i}"}, token)
        reads = {
            "song read (GET /music/song/<id>)": (f"/music/song/{song}", None),
            "messages list (GET /api/messages?limit=100, Bearer)": ("/api/messages?limit=100", token),
        }
        results = {}
        for name, (path, auth) in reads.items():
            for _ in range(20):
                call(base, "GET", path, token=auth)
            subprocess.run(["callgrind_control", "-z", str(server.pid)], check=True,
                           capture_output=True)
            subprocess.run(["callgrind_control", "-i", "on", str(server.pid)], check=True,
                           capture_output=True)
            if connection == "keep-alive":
                keep_alive_gets(port, path, auth, N)
            else:
                for _ in range(N):
                    call(base, "GET", path, token=auth)
            subprocess.run(["callgrind_control", "-i", "off", str(server.pid)], check=True,
                           capture_output=True)
            before = set(glob.glob(out + "*"))
            subprocess.run(["callgrind_control", "-d", str(server.pid)], check=True,
                           capture_output=True)
            time.sleep(1)
            dumps = sorted(set(glob.glob(out + "*")) - before) or sorted(glob.glob(out + "*"))
            total = 0
            for line in open(dumps[-1]):
                m = re.match(r"(?:summary|totals):\s+(\d+)", line)
                if m:
                    total = int(m.group(1))
            results[name] = total / N
            if keep:
                os.makedirs(keep, exist_ok=True)
                slug = re.sub(r"[^a-z]+", "-", name.split(" (")[0])
                subprocess.run(["cp", dumps[-1], os.path.join(keep, f"{slug}.out")], check=True)
        return results
    finally:
        server.terminate()
        server.wait(timeout=60)
        subprocess.run(["rm", "-rf", work], check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", action="append", required=True)
    parser.add_argument("--rust-log", default="warn")
    parser.add_argument("--keep", help="a directory to keep each read's callgrind dump in")
    parser.add_argument("--connection", choices=["keep-alive", "new"], default="keep-alive",
                        help="one kept-alive connection for the counted requests (as the "
                             "benchmark), or a new one per request (counts its set-up too)")
    args = parser.parse_args()
    table = {b: measure(b, args.rust_log, args.keep, args.connection) for b in args.binary}
    names = list(next(iter(table.values())))
    print("| read | " + " | ".join(args.binary) + " |")
    print("|---|" + "---:|" * len(args.binary))
    for name in names:
        print(f"| {name} | " + " | ".join(f"{table[b][name] / 1000:.1f} k" for b in args.binary)
              + " |")


if __name__ == "__main__":
    main()
