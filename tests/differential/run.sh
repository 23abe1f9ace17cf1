#!/usr/bin/env bash
# Differential check of Hearth against the Django reference (test_differential.py):
# starts both on fresh SQLite databases with one SECRET_KEY and one superuser,
# sends them the same hypothesis-made request sequences, compares the answers.
#
#   bash tests/differential/run.sh HEARTH_BIN REFERENCE_DIR [pytest args]
#
# Env: DIFF_EXAMPLES (150 sequences), DIFF_SECONDS (120, a cap on the sending),
#      DIFF_DERANDOMIZE=1 for a fixed seed (CI sets it), DIFF_SEED=N for another,
#      DIFF_KEEP=1 to keep the servers' logs and databases (the folder is printed),
#      DIFF_SERVE=1 to only start both servers (with the world the test makes) and
#      print their addresses, for poking at a difference by hand (Ctrl-C stops them).
# Its own venv is cached under ~/.cache/hearth-differential/; the reference's is
# made and cached by REFERENCE_DIR/_venv.sh, as for every other use of it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ $# -lt 2 ]; then
  echo "usage: $0 HEARTH_BIN REFERENCE_DIR [pytest args]" >&2
  exit 2
fi
BIN="$(realpath "$1")"
REF="$(cd "$2" && pwd)"
shift 2

VENV="${DIFF_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/hearth-differential/venv}"
if [ ! -x "$VENV/bin/pytest" ] || ! cmp -s "$HERE/requirements.txt" "$VENV/.requirements.txt"; then
  [ -x "$VENV/bin/python" ] || "${PYTHON:-python3}" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/requirements.txt"
  cp "$HERE/requirements.txt" "$VENV/.requirements.txt"
fi

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    for log in "$WORK"/*.log; do
      [ -s "$log" ] || continue
      echo "--- last lines of $(basename "$log") ---" >&2
      tail -n 20 "$log" >&2 || true
    done
  fi
  if [ "${DIFF_KEEP:-0}" = "1" ]; then
    echo "kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_for_port() {
  local port="$1" pid="$2" name="$3"
  for _ in $(seq 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { echo "$name exited before listening on $port" >&2; return 1; }
    sleep 0.1
  done
  echo "$name did not listen on $port within 60 s" >&2
  return 1
}

SECRET="diff-$(python3 -c 'import secrets; print(secrets.token_urlsafe(40))')"
STAFF=staff
STAFF_PASSWORD="Staff-$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')-9"
# the settings both servers read, and nothing else from the caller's environment
UNSET=(-u DATABASE_URL -u CORS_ALLOWED_ORIGINS -u CSRF_TRUSTED_ORIGINS -u ACCESS_TOKEN_LIFETIME
       -u REFRESH_TOKEN_LIFETIME -u ROTATE_REFRESH_TOKENS -u ALLOWED_HOSTS -u DEBUG
       -u SESSION_COOKIE_SECURE -u CSRF_COOKIE_SECURE -u SESSION_COOKIE_AGE -u DJANGO_SETTINGS_MODULE)

HEARTH_PORT="$(free_port)"
HEARTH_ENV=(env "${UNSET[@]}" DATABASE_URL="sqlite://$WORK/hearth.db" SECRET_KEY="$SECRET" DEBUG=true
            LOGIN_RATE_LIMIT=1000000 LOGIN_RATE_LIMIT_ADDRESS=1000000 SIGNUP_RATE_LIMIT=1000000
            HEARTH_SUPERUSER_PASSWORD="$STAFF_PASSWORD")
(cd "$WORK" && "${HEARTH_ENV[@]}" "$BIN" createsuperuser --username "$STAFF" \
  --email "$STAFF@example.com" --noinput >"$WORK/hearth-setup.log" 2>&1)
(cd "$WORK" && exec setsid "${HEARTH_ENV[@]}" "$BIN" serve --addr "127.0.0.1:$HEARTH_PORT") \
  >"$WORK/hearth.log" 2>&1 &
PIDS+=($!)
HEARTH_PID=$!

REF_PORT="$(free_port)"
REF_ENV=(env "${UNSET[@]}" DATABASE_URL="sqlite:///$WORK/reference.sqlite3"
         REFERENCE_DATA_DIR="$WORK/reference-data" SECRET_KEY="$SECRET" WORKERS=2
         DJANGO_SETTINGS_MODULE=diff_refsettings PYTHONPATH="$HERE"
         DJANGO_SUPERUSER_PASSWORD="$STAFF_PASSWORD")
"${REF_ENV[@]}" bash "$REF/manage.sh" createsuperuser --username "$STAFF" \
  --email "$STAFF@example.com" --noinput >"$WORK/reference-setup.log" 2>&1 \
  || { cat "$WORK/reference-setup.log" >&2; exit 1; }
setsid "${REF_ENV[@]}" bash "$REF/run.sh" "127.0.0.1:$REF_PORT" >"$WORK/reference.log" 2>&1 &
PIDS+=($!)
REF_PID=$!

wait_for_port "$HEARTH_PORT" "$HEARTH_PID" hearth
wait_for_port "$REF_PORT" "$REF_PID" reference

cd "$HERE"
if [ "${DIFF_SERVE:-0}" = "1" ]; then
  echo "hearth:    http://127.0.0.1:$HEARTH_PORT"
  echo "reference: http://127.0.0.1:$REF_PORT"
  echo "SECRET_KEY=$SECRET  staff: $STAFF / $STAFF_PASSWORD"
  while kill -0 "$HEARTH_PID" 2>/dev/null && kill -0 "$REF_PID" 2>/dev/null; do sleep 1; done
  exit 1
fi
DIFF_HEARTH="http://127.0.0.1:$HEARTH_PORT" DIFF_REFERENCE="http://127.0.0.1:$REF_PORT" \
  DIFF_SECRET_KEY="$SECRET" DIFF_STAFF="$STAFF" DIFF_STAFF_PASSWORD="$STAFF_PASSWORD" \
  "$VENV/bin/python" -m pytest -q -s test_differential.py "$@"
