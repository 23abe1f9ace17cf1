"""Hearth behind nginx, checked through the proxy (run by .ci/proxy-test).

nginx sends each request to the next instance in turn, so two requests in a row
reach both; each request carries an X-Request-Id, and the instances' logs say
which one served it.

    python3 proxy_check.py PORT CA_CERT LOG_1 LOG_2 ADDRESS_LIMIT
"""

import http.client
import json
import ssl
import sys
import threading
import time
import uuid

PORT, CA, LOGS, LIMIT = int(sys.argv[1]), sys.argv[2], sys.argv[3:5], int(sys.argv[5])
ORIGIN = f"https://localhost:{PORT}"
TLS = ssl.create_default_context(cafile=CA)


def request(method, path, body=None, headers=None, source="127.0.0.1", timeout=10):
    """(status, headers, body, instance) of one request on a new connection."""
    rid = uuid.uuid4().hex
    conn = http.client.HTTPSConnection(
        "localhost", PORT, context=TLS, timeout=timeout, source_address=(source, 0)
    )
    sent = {"X-Request-Id": rid, "Origin": ORIGIN, "Referer": ORIGIN + "/"}
    if body is not None:
        body = json.dumps(body)
        sent["Content-Type"] = "application/json"
    sent.update(headers or {})
    conn.request(method, path, body=body, headers=sent)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, r.headers, data, rid


def instance(rid):
    """Which instance's log mentions the request id (1 or 2)."""
    deadline = time.time() + 5
    while time.time() < deadline:
        for n, log in enumerate(LOGS, 1):
            with open(log, encoding="utf-8", errors="replace") as f:
                if rid in f.read():
                    return n
        time.sleep(0.05)
    raise AssertionError(f"no instance logged request {rid}")


def check(name, ok, detail=""):
    if not ok:
        raise AssertionError(f"{name}: {detail}")
    print(f"ok   {name}")


def pair(first, second):
    """Runs `first`, then `second` until it lands on the other instance."""
    a = first()
    for _ in range(4):
        b = second()
        if instance(b[3]) != instance(a[3]):
            return a, b
    raise AssertionError("nginx sent both requests to one instance")


def cookies(headers):
    return [v for k, v in headers.items() if k.lower() == "set-cookie"]


def main():
    name = "proxy_" + uuid.uuid4().hex[:8]
    password = "Tr0ub4dor&3-proxy"
    creds = {"username": name, "password": password}

    # registered on one instance, logs in on the other
    reg, login = pair(
        lambda: request("POST", "/api/user/register/", creds),
        lambda: request("POST", "/api/token/", creds),
    )
    check("register on one instance", reg[0] == 201, reg[:3])
    check("log in on the other", login[0] == 200, login[:3])
    tokens = json.loads(login[2])

    # a refresh token blacklisted by a logout on one is refused by the other
    out, again = pair(
        lambda: request(
            "POST", "/api/user/logout/", {"refresh": tokens["refresh"]},
            {"Authorization": "Bearer " + tokens["access"]},
        ),
        lambda: request("POST", "/api/token/refresh/", {"refresh": tokens["refresh"]}),
    )
    check("logout on one instance", out[0] in (200, 205), out[:3])
    check("its refresh token refused by the other", again[0] == 401, again[:3])

    # a session made on one works on the other; cookies are Secure behind TLS
    page = request("GET", "/authentication/login")
    csrf = next(c for c in cookies(page[1]) if c.startswith("csrftoken="))
    check("the CSRF cookie is Secure", "; Secure" in csrf, csrf)
    token = csrf.split(";")[0].split("=", 1)[1]
    status, headers, body, rid = request(
        "POST", "/authentication/login", creds,
        {"Cookie": f"csrftoken={token}", "X-CSRFToken": token},
    )
    check("session login", status == 200, (status, body))
    sid = next(c for c in cookies(headers) if c.startswith("sessionid="))
    check("the session cookie is Secure", "; Secure" in sid, sid)
    session = sid.split(";")[0]
    where = instance(rid)
    for _ in range(4):
        me = request("GET", "/api/auth/me/", headers={"Cookie": session})
        if instance(me[3]) != where:
            break
    check("the session works on the other instance",
          me[0] == 200 and json.loads(me[2]).get("username") == name and instance(me[3]) != where,
          me[:3])

    # a message posted through either instance reaches a stream, within a second
    access = tokens_for(creds)
    seen, ready = [], threading.Event()

    def listen():
        conn = http.client.HTTPSConnection("localhost", PORT, context=TLS, timeout=30)
        conn.request("GET", "/api/messages/stream", headers={"Authorization": "Bearer " + access})
        r = conn.getresponse()
        ready.set()
        buffer = b""
        while len(seen) < 2:
            chunk = r.read1(4096)
            if not chunk:
                return
            buffer += chunk
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                for line in block.decode().splitlines():
                    if line.startswith("data: "):
                        seen.append((json.loads(line[6:])["text"], time.time()))

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    ready.wait(10)
    time.sleep(0.3)
    first, second = pair(
        lambda: post_message(access, "one"), lambda: post_message(access, "two")
    )
    posted = {"one": first[4], "two": second[4]}
    listener.join(5)
    texts = {text: at for text, at in seen}
    for text, at in posted.items():
        check(f"message {text!r} reached the stream within a second",
              text in texts and texts[text] - at < 1.0, seen)

    # throttling counts the real client address, not the proxy's
    spoofed = {"X-Forwarded-For": "203.0.113.7"}
    statuses = []
    for i in range(LIMIT + 1):
        wrong = {"username": f"nobody{i}_{name}", "password": "wrong-password"}
        statuses.append(request("POST", "/api/token/", wrong, spoofed, source="127.0.0.2")[0])
    check("one address is throttled after its failures", statuses[-1] == 429, statuses)
    other = request("POST", "/api/token/", {"username": "x" + name, "password": "nope"},
                    source="127.0.0.3")
    check("another address is not", other[0] == 401, other[:3])
    print("proxy checks passed")


def tokens_for(creds):
    status, _, body, _ = request("POST", "/api/token/", creds)
    assert status == 200, body
    return json.loads(body)["access"]


def post_message(access, text):
    at = time.time()
    r = request("POST", "/api/messages", {"text": text}, {"Authorization": "Bearer " + access})
    assert r[0] == 201, r[:3]
    return (*r, at)


if __name__ == "__main__":
    main()
