#!/usr/bin/env bash
# Property-based requests from the served OpenAPI document (schemathesis), as a
# plain user and as staff: no answer may be a 5xx or break the document's schema.
# The routes that end the run's own login are left out.
#
#   .ci/schemathesis.sh BASE_URL STAFF_USERNAME STAFF_PASSWORD [SECONDS_PER_CALLER]
set -euo pipefail

BASE="$1" STAFF="$2" STAFF_PASSWORD="$3" DURATION="${4:-45}"
VENV="${SCHEMATHESIS_VENV:-${TMPDIR:-/tmp}/hearth-schemathesis}"
if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'schemathesis>=4,<5'
fi

token() {
  curl -fsS -X POST "$BASE/api/token/" -H 'Content-Type: application/json' \
    -d "{\"username\": \"$1\", \"password\": \"$2\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access"])'
}

user="st_$(python3 -c 'import secrets; print(secrets.token_hex(4))')"
password="St-$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')"
curl -fsS -o /dev/null -X POST "$BASE/api/user/register/" -H 'Content-Type: application/json' \
  -d "{\"username\": \"$user\", \"password\": \"$password\"}"

# Both tokens first: the first run's failed logins can throttle this client's
# address (LOGIN_RATE_LIMIT_ADDRESS), and then a later login is refused with 429.
user_access="$(token "$user" "$password")"
staff_access="$(token "$STAFF" "$STAFF_PASSWORD")"

for caller in "$user:$user_access" "$STAFF:$staff_access"; do
  name="${caller%%:*}"
  access="${caller#*:}"
  echo "schemathesis as $name, ${DURATION}s" >&2
  # one worker: hypothesis describing strategies from two threads trips a CPython
  # 3.11 AST bug ("recursion depth mismatch"), an error of the tool, not of Hearth
  "$VENV/bin/schemathesis" run "$BASE/api/schema/" \
    -H "Authorization: Bearer $access" \
    --checks not_a_server_error,response_schema_conformance \
    --exclude-path-regex 'logout|/api/auth/sessions/\{id\}/' \
    --max-time "$DURATION" --request-timeout 10 -w 1 --no-color
done
