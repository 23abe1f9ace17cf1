"""The two servers, the logical world both are driven through, and the comparison.

Every request is described once, logically (`Req`): "PATCH alice's second task
with Bob's DRF token". `World.send` turns it into one concrete request per server
(each server's own ids, tokens, cookies and origin), sends both, updates the
world from the two answers (a row both created, a row both deleted, a session
ended) and returns the differences between the answers, as `Diff`s.

Rows are paired by creation: the same users and rows are made on both servers,
through the API, in the same order, so "another user's task" is the same
logical task on both, whatever id each server gave it.
"""

import base64
import dataclasses
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass, field

import httpx

SIDES = ("hearth", "reference")
BOUNDARY = b"diffcheckboundary7MA4YWxk"
REUSE_GRACE = 8.0   # seconds; Hearth's REFRESH_REUSE_GRACE is 10 s: count a reuse a little early
DEV_ORIGIN = "http://localhost:5173"
EVIL_ORIGIN = "http://evil.example"

# keys whose values differ legitimately between the servers: compared by JSON
# type only (ids are paired through the world instead)
VOLATILE_KEYS = {
    "id", "user", "song", "album", "sender_id",
    "created_at", "updated_at", "timestamp", "date_joined", "last_login",
    "access", "refresh", "token", "csrfToken",
}


# --- the logical world ------------------------------------------------------------

@dataclass(eq=False)
class Obj:
    """One row that exists (or existed) on both servers."""

    kind: str                # message, task, blogpost, album, song, like
    owner: str               # the logical user who made it
    ids: dict                # side -> id on that server
    parent: "Obj" = None     # a song's album, a like's song
    alive: bool = True

    def label(self):
        state = "" if self.alive else ", deleted"
        return f"{self.kind}#{self.ids['reference']}({self.owner}{state})"


@dataclass(frozen=True)
class Ref:
    """An id inside a body or query: a paired row's id on each server, as an
    int, or written as a str, a float or a one-item list (fmt)."""

    obj: Obj
    fmt: str = "int"

    def value(self, side):
        i = self.obj.ids[side]
        return {"int": i, "str": str(i), "float": float(i), "list": [i], "padded": f"00{i}"}[self.fmt]

    def __repr__(self):
        fmt = "" if self.fmt == "int" else f" as {self.fmt}"
        return f"<id of {self.obj.label()}{fmt}>"


@dataclass(eq=False)
class Login:
    """One JWT login (an obtain or a sign-up) and what became of it."""

    logged_out: bool = False         # its refresh token went through /api/user/logout/
    reuse_revoked: bool = False      # a rotated refresh token of it came back after the grace period


@dataclass(eq=False)
class TokenPair:
    """A JWT that exists on both servers, one value each."""

    name: str
    values: dict             # side -> the token's text
    state: str = "live"      # live, rotated, blacklisted, diverged
    login: Login = field(default_factory=Login)
    rotated_at: float = 0.0

    def __repr__(self):
        return f"<{self.state} {self.name}>"


# --- what the generator draws: picks, resolved against the world only when sent ---
# (hypothesis needs its draws not to depend on the servers' state, so a draw says
# "the 7th alive task", and `World.pick` finds which one that is right now)

@dataclass(frozen=True)
class Pick:
    """A row: which is alive, dead, own (alive and the caller's, when it has one);
    index is taken modulo the candidates."""

    kind: str
    which: str
    index: int
    fmt: str = ""            # "" the row itself (path ids); else a Ref written as fmt


@dataclass(frozen=True)
class PickToken:
    """A JWT from the world's pools: which is refresh, live_refresh, access."""

    which: str
    index: int


@dataclass(frozen=True)
class PickUser:
    """A known username (transform: as_is, upper, padded) or its password
    (password: own for the username drawn with the same index, any)."""

    index: int
    transform: str = "as_is"
    password: str = ""


@dataclass
class Req:
    method: str
    route: str                       # template: /api/tasks/{id}/
    auth: str = "none"               # see World.auth_for
    path_id: object = None           # Obj, Ref (an Obj's id written another way), or a raw string
    toggle_slash: bool = False       # the path without its trailing slash, or with one added
    query: tuple = ()                # ((name, value), ...); a value may be a Ref
    body: object = None              # JSON value (may hold Ref / TokenPair), or None
    encoding: str = "json"           # json, json_ascii, form, multipart, raw, none
    raw: bytes = None                # the body bytes when encoding == raw
    content_type: str = "application/json"
    headers: tuple = ()              # extra ((name, value), ...)
    note: str = ""                   # what the generator meant, for the report

    def path_template(self):
        return self.route

    def describe(self):
        parts = [f"{self.method} {self.route}"]
        if self.path_id is not None:
            pid = self.path_id.label() if isinstance(self.path_id, Obj) else repr(self.path_id)
            parts.append(f"id={pid}")
        if self.toggle_slash:
            parts.append("(trailing slash toggled)")
        if self.query:
            parts.append(f"query={list(self.query)!r}")
        parts.append(f"auth={self.auth}")
        if self.encoding == "raw":
            raw = self.raw if len(self.raw) <= 200 else self.raw[:200] + b"...(%d bytes)" % len(self.raw)
            parts.append(f"body(raw, {self.content_type!r})={raw!r}")
        elif self.encoding == "none":
            parts.append("no body")
        else:
            text = repr(self.body)
            if len(text) > 400:
                text = text[:400] + f"...({len(text)} chars)"
            parts.append(f"body({self.encoding}, {self.content_type!r})={text}")
        if self.headers:
            parts.append(f"headers={list(self.headers)!r}")
        if self.note:
            parts.append(f"[{self.note}]")
        return " ".join(parts)


@dataclass
class Answer:
    status: int
    content_type: str
    headers: httpx.Headers
    text: str
    json: object             # parsed body, or NOT_JSON
    cookies_set: dict        # name -> value ("" when deleted)

    def summary(self, limit=600):
        body = self.text if len(self.text) <= limit else self.text[:limit] + f"...({len(self.text)} chars)"
        extra = []
        for name in ("www-authenticate", "allow", "retry-after"):
            if name in self.headers:
                extra.append(f"{name}: {self.headers[name]}")
        if self.cookies_set:
            extra.append("set-cookie: " + ", ".join(sorted(self.cookies_set)))
        head = f"{self.status} [{self.content_type or 'no content-type'}]"
        if extra:
            head += " {" + "; ".join(extra) + "}"
        return f"{head} {body}"


NOT_JSON = object()


@dataclass
class Diff:
    aspect: str              # status, content-type, body, header
    where: str               # a JSON path or a header name
    detail: str
    hearth: object = None    # the two differing values, where there are two
    reference: object = None

    def __str__(self):
        return f"{self.aspect} {self.where}: {self.detail}"


@dataclass
class User:
    name: str
    password: str
    staff: bool = False
    access: dict = field(default_factory=dict)     # side -> JWT access
    refresh: dict = field(default_factory=dict)    # side -> JWT refresh of the main login
    drf: dict = field(default_factory=dict)        # side -> DRF key
    session: dict = field(default_factory=dict)    # side -> (sessionid, csrftoken)
    session_stale: bool = True
    old_session: dict = field(default_factory=dict)  # the session before the last session-view POST


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def mint(secret, payload, header=None):
    header = header or {"alg": "HS256", "typ": "JWT"}
    head = b64url(json.dumps(header, separators=(",", ":")).encode())
    body = b64url(json.dumps(payload, separators=(",", ":")).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


def set_cookies(headers):
    out = {}
    for line in headers.get_list("set-cookie"):
        name, _, rest = line.partition("=")
        value = rest.split(";", 1)[0].strip('"')
        out[name.strip()] = value
    return out


class World:
    """Both servers and everything that exists on both."""

    def __init__(self, bases, secret_key):
        self.bases = bases                          # side -> base URL
        self.secret = secret_key
        self.clients = {s: httpx.Client(base_url=b, timeout=60.0) for s, b in bases.items()}
        self.users = {}                             # name -> User
        self.objects = []                           # every Obj, alive or not
        self.tokens = []                            # spare JWT refresh tokens (TokenPair)
        self.accesses = []                          # spare JWT access tokens (TokenPair)
        self.anon_csrf = {}                         # side -> csrftoken of an anonymous client
        self.minted = {}                            # variant -> JWT text (same on both)
        self.credentials = []                       # (username, password) known to exist
        self.requests = 0
        self.staff_name = "staff"
        self.out_of_step = []                       # what could not be put back in step
        self.diverged_names = set()                 # usernames that exist on one server only

    # --- raw sending ------------------------------------------------------------

    def raw(self, side, method, path, *, json_body=None, content=None, headers=None, cookies=None):
        h = dict(headers or {})
        if json_body is not None:
            content = json.dumps(json_body).encode()
            h.setdefault("Content-Type", "application/json")
        if cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        c = self.clients[side]
        c.cookies.clear()
        r = c.request(method, path, content=content, headers=h)
        c.cookies.clear()
        return r

    def must(self, side, method, path, status, **kw):
        r = self.raw(side, method, path, **kw)
        if r.status_code != status:
            raise RuntimeError(f"setup: {side} {method} {path} -> {r.status_code} {r.text[:300]}")
        return r

    def both(self, method, path, status, body_of=None, **kw):
        """The same setup request on both servers; body_of(side) gives a side's body."""
        out = {}
        for side in SIDES:
            extra = dict(kw)
            if body_of is not None:
                extra["json_body"] = body_of(side)
            out[side] = self.must(side, method, path, status, **extra)
        return out

    # --- setup --------------------------------------------------------------------

    def add_user(self, name, password, how, staff=False):
        u = User(name, password, staff=staff)
        self.users[name] = u
        body = {"username": name, "password": password}
        if how == "register":
            self.both("POST", "/api/user/register/", 201, json_body=body)
        elif how == "music":
            self.both("POST", "/music/register", 201, json_body=body)
        elif how == "signup":
            self.both("POST", "/api/auth/signup/", 200, json_body=body)
        self.credentials.append((name, password))
        for side in SIDES:
            pair = self.must(side, "POST", "/api/token/", 200, json_body=body).json()
            u.access[side], u.refresh[side] = pair["access"], pair["refresh"]
            u.drf[side] = self.must(side, "POST", "/api-token-auth/", 200, json_body=body).json()["token"]
        self.login_session(u)
        return u

    def anon_csrf_token(self, side):
        if side not in self.anon_csrf:
            r = self.must(side, "GET", "/authentication/login", 200)
            self.anon_csrf[side] = set_cookies(r.headers)["csrftoken"]
        return self.anon_csrf[side]

    def login_session(self, u):
        for side in SIDES:
            csrf = self.anon_csrf_token(side)
            r = self.must(side, "POST", "/authentication/login", 200,
                          json_body={"username": u.name, "password": u.password},
                          headers={"X-CSRFToken": csrf}, cookies={"csrftoken": csrf})
            got = set_cookies(r.headers)
            if r.json() != {"error": "None, login successful"} or "sessionid" not in got:
                raise RuntimeError(f"setup: session login of {u.name} on {side}: {r.text} {got}")
            u.session[side] = (got["sessionid"], got.get("csrftoken", csrf))
        u.session_stale = False

    def spare_login(self, u):
        """Another JWT login of u, for the refresh/verify/logout routes to use up."""
        vals_r, vals_a = {}, {}
        for side in SIDES:
            pair = self.must(side, "POST", "/api/token/", 200,
                             json_body={"username": u.name, "password": u.password}).json()
            vals_r[side], vals_a[side] = pair["refresh"], pair["access"]
        login = Login()
        self.tokens.append(TokenPair(f"refresh of {u.name}", vals_r, login=login))
        self.accesses.append(TokenPair(f"access of {u.name}", vals_a, login=login))

    def create(self, kind, owner, path, body, parent=None):
        u = self.users[owner]
        ids = {}
        for side in SIDES:
            b = self.resolve_value(body, side)
            r = self.must(side, "POST", path, 201, json_body=b,
                          headers={"Authorization": f"Bearer {u.access[side]}"})
            ids[side] = r.json()["id"]
        obj = Obj(kind, owner, ids, parent)
        self.objects.append(obj)
        return obj

    def setup(self, staff_name, staff_password):
        now = int(time.time())
        self.staff_name = staff_name
        self.users[staff_name] = User(staff_name, staff_password, staff=True)
        self.credentials.append((staff_name, staff_password))
        staff = self.users[staff_name]
        for side in SIDES:
            body = {"username": staff_name, "password": staff_password}
            pair = self.must(side, "POST", "/api/token/", 200, json_body=body).json()
            staff.access[side], staff.refresh[side] = pair["access"], pair["refresh"]
            staff.drf[side] = self.must(side, "POST", "/api-token-auth/", 200, json_body=body).json()["token"]
        self.login_session(staff)
        self.add_user("alice", "Alice-Pass-5520!", "register")
        self.add_user("bob", "Bob-Pass-7788!x", "register")
        self.add_user("carol", "Carol-Pass-3141!", "music")
        # dora's refresh token is logged out: her access token of that login is
        # what "an access token after logout" means
        dora = self.add_user("dora", "Dora-Pass-2718!", "signup")
        for side in SIDES:
            self.must(side, "POST", "/api/user/logout/", 200, json_body={"refresh": dora.refresh[side]})
        for name in ("alice", "bob", "carol", staff_name):
            self.spare_login(self.users[name])
        # rows, in the same order on both
        for name in ("alice", "bob", staff_name):
            self.create("message", name, "/api/messages", {"text": f"hello from {name}"})
            self.create("task", name, "/api/tasks/", {"title": f"{name}'s task"})
            self.create("blogpost", name, "/api/blogposts/", {"title": f"{name}'s post", "content": "text"})
        a1 = self.create("album", staff_name, "/music/album",
                         {"name": "First", "artist": "Someone", "year_released": "2001-02-03"})
        a2 = self.create("album", staff_name, "/music/album",
                         {"name": "Second", "artist": "Another", "year_released": "1999-12-31"})
        s1 = self.create("song", staff_name, "/music/song",
                         {"song_name": "One", "album": Ref(a1), "num_streams": 10}, a1)
        s2 = self.create("song", staff_name, "/music/song",
                         {"song_name": "Two", "album": Ref(a1), "num_streams": 0}, a1)
        self.create("song", staff_name, "/music/song",
                    {"song_name": "Three", "album": Ref(a2), "num_streams": 5}, a2)
        self.create("like", "alice", "/music/likes", {"song": Ref(s1)}, s1)
        self.create("like", "bob", "/music/likes", {"song": Ref(s2)}, s2)
        # tokens minted here with the servers' shared SECRET_KEY: the same text on both
        alice_id = str(self.user_id("alice"))

        def claims(**kw):
            base = {"token_type": "access", "exp": now + 1800, "iat": now,
                    "jti": hashlib.sha256(repr(sorted(kw.items())).encode()).hexdigest()[:32],
                    "user_id": alice_id}
            base.update(kw)
            return {k: v for k, v in base.items() if v is not None}

        s = self.secret
        self.minted = {
            "minted_alice": mint(s, claims()),
            "minted_int_user_id": mint(s, claims(user_id=int(alice_id))),
            "minted_expired": mint(s, claims(exp=now - 60, iat=now - 3600)),
            "minted_bad_signature": mint("not-the-key", claims()),
            "minted_refresh_type": mint(s, claims(token_type="refresh")),
            "minted_no_type": mint(s, claims(token_type=None)),
            "minted_no_jti": mint(s, claims(jti=None)),
            "minted_no_user": mint(s, claims(user_id=None)),
            "minted_unknown_user": mint(s, claims(user_id="987654")),
            "minted_alg_none": (b64url(b'{"alg":"none","typ":"JWT"}') + "."
                                + b64url(json.dumps(claims()).encode()) + "."),
        }

    def user_id(self, name):
        r = self.must("reference", "POST", "/api/token/", 200,
                      json_body={"username": name, "password": self.users[name].password})
        payload = r.json()["access"].split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["user_id"]

    # --- the pools the generator draws from ---------------------------------------

    def alive(self, kind, owner=None):
        return [o for o in self.objects if o.kind == kind and o.alive and (owner is None or o.owner == owner)]

    def dead(self, kind):
        return [o for o in self.objects if o.kind == kind and not o.alive]

    # --- turning a drawn request into a logical one, then into two concrete ones ---

    def pick(self, value, actor=None):
        if isinstance(value, Pick):
            if value.which == "own":
                pool = self.alive(value.kind, actor) or self.alive(value.kind)
            else:
                pool = self.alive(value.kind) if value.which == "alive" else self.dead(value.kind)
            if not pool:
                return "987654" if not value.fmt else 987654
            obj = pool[value.index % len(pool)]
            return obj if not value.fmt else Ref(obj, value.fmt)
        if isinstance(value, PickToken):
            pool = {"refresh": [t for t in self.tokens if t.state != "diverged"], "access": self.accesses,
                    "live_refresh": [t for t in self.tokens if t.state == "live"]}[value.which]
            return pool[value.index % len(pool)] if pool else "no-such-token"
        if isinstance(value, PickUser):
            names = [u for u, _ in self.credentials]
            name, password = self.credentials[value.index % len(self.credentials)]
            if value.password == "own":
                return password
            if value.password in ("own_padded", "own_stripped"):
                if not isinstance(password, str):
                    return password
                return f"  {password} " if value.password == "own_padded" else password.strip()
            if value.password == "any":
                return self.credentials[(value.index * 7 + 3) % len(self.credentials)][1]
            name = str(name)
            return {"as_is": name, "upper": name.upper(), "padded": f" {name} "}[value.transform] if names else "x"
        if isinstance(value, dict):
            return {k: self.pick(v, actor) for k, v in value.items()}
        if isinstance(value, list):
            return [self.pick(v, actor) for v in value]
        if isinstance(value, tuple):
            return tuple(self.pick(v, actor) for v in value)
        return value

    def resolve(self, req):
        """The drawn request with its picks made."""
        actor = self.actor(req.auth)
        return dataclasses.replace(req, path_id=self.pick(req.path_id, actor), query=self.pick(req.query, actor),
                                   body=self.pick(req.body, actor))

    def resolve_value(self, value, side):
        if isinstance(value, Ref):
            return value.value(side)
        if isinstance(value, TokenPair):
            return value.values[side]
        if isinstance(value, dict):
            return {k: self.resolve_value(v, side) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve_value(v, side) for v in value]
        return value

    def auth_for(self, auth, side):
        """(headers, cookies) of an auth variant on one side. Variants:
        none; bearer:U, token:U, session:U (with CSRF), session_nocsrf:U,
        session_badcsrf:U, session_evil_origin:U, session_trusted_origin:U,
        session_same_origin:U, session_nocookie:U (header but no csrftoken cookie),
        bearer_lower:U, token_lower:U, spare_access, after_logout (dora's),
        refresh_as_bearer:U, minted_* (see setup), bearer_garbage, bearer_empty,
        bearer_three_parts, token_bad, token_empty, token_three_parts, basic,
        anon_csrf (a csrftoken cookie and header, no session),
        bearer:U+session:V and token:U+session:V (no CSRF token), bearer_garbage+session:U."""
        headers, cookies = {}, {}
        for part in auth.split("+"):
            kind, _, name = part.partition(":")
            u = self.users.get(name)
            if kind == "none":
                pass
            elif kind == "bearer":
                headers["Authorization"] = f"Bearer {u.access[side]}"
            elif kind == "bearer_lower":
                headers["Authorization"] = f"bearer {u.access[side]}"
            elif kind == "token":
                headers["Authorization"] = f"Token {u.drf[side]}"
            elif kind == "token_lower":
                headers["Authorization"] = f"token {u.drf[side]}"
            elif kind == "refresh_as_bearer":
                headers["Authorization"] = f"Bearer {u.refresh[side]}"
            elif kind == "after_logout":
                headers["Authorization"] = f"Bearer {self.users['dora'].access[side]}"
            elif kind.startswith("minted_"):
                headers["Authorization"] = f"Bearer {self.minted[kind]}"
            elif kind == "bearer_garbage":
                headers["Authorization"] = "Bearer not.a.jwt"
            elif kind == "bearer_empty":
                headers["Authorization"] = "Bearer"
            elif kind == "bearer_three_parts":
                headers["Authorization"] = f"Bearer {self.users['alice'].access[side]} extra"
            elif kind == "token_bad":
                headers["Authorization"] = "Token " + "0123456789abcdef" * 2 + "01234567"
            elif kind == "token_empty":
                headers["Authorization"] = "Token"
            elif kind == "token_three_parts":
                headers["Authorization"] = f"Token {self.users['alice'].drf[side]} extra"
            elif kind == "basic":
                headers["Authorization"] = "Basic " + base64.b64encode(b"alice:Alice-Pass-5520!").decode()
            elif kind == "anon_csrf":
                csrf = self.anon_csrf_token(side)
                cookies["csrftoken"] = csrf
                headers["X-CSRFToken"] = csrf
            elif kind == "session_old":
                cookies["sessionid"], cookies["csrftoken"] = u.old_session[side]
            elif kind.startswith("session"):
                if u.session_stale:
                    self.login_session(u)
                sid, csrf = u.session[side]
                cookies["sessionid"] = sid
                if kind != "session_nocookie":
                    cookies["csrftoken"] = csrf
                if kind in ("session", "session_evil_origin", "session_trusted_origin",
                            "session_same_origin", "session_nocookie"):
                    headers["X-CSRFToken"] = csrf
                elif kind == "session_badcsrf":
                    headers["X-CSRFToken"] = "A" * 32
                if kind == "session_evil_origin":
                    headers["Origin"] = EVIL_ORIGIN
                elif kind == "session_trusted_origin":
                    headers["Origin"] = DEV_ORIGIN
                elif kind == "session_same_origin":
                    headers["Origin"] = self.bases[side].rstrip("/")
            else:
                raise ValueError(f"unknown auth variant {auth}")
        return headers, cookies

    def concrete(self, req, side):
        path = req.route
        if "{id}" in path:
            pid = req.path_id
            if isinstance(pid, Obj):
                pid = pid.ids[side]
            elif isinstance(pid, Ref):
                pid = pid.value(side)
            path = path.replace("{id}", str(pid))
        if req.toggle_slash:
            path = path[:-1] if path.endswith("/") else path + "/"
        if req.query:
            q = [(k, self.resolve_value(v, side)) for k, v in req.query]
            path += "?" + str(httpx.QueryParams(q))
        headers, cookies = self.auth_for(req.auth, side)
        headers.update(dict(req.headers))
        content = None
        if req.encoding in ("json", "json_ascii"):
            body = self.resolve_value(req.body, side)
            content = json.dumps(body, ensure_ascii=req.encoding == "json_ascii").encode("utf-8", "surrogatepass")
        elif req.encoding == "form":
            body = self.resolve_value(req.body, side)
            content = str(httpx.QueryParams(body)).encode()
        elif req.encoding == "multipart":
            body = self.resolve_value(req.body, side)
            content = b"".join(
                b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                % (BOUNDARY, k.encode(), str(v).encode()) for k, v in body.items()) + b"--%s--\r\n" % BOUNDARY
        elif req.encoding == "raw":
            content = req.raw
        if req.content_type is not None and content is not None:
            headers["Content-Type"] = req.content_type
        return path, content, headers, cookies

    def send_one(self, req, side):
        path, content, headers, cookies = self.concrete(req, side)
        try:
            r = self.raw(side, req.method, path, content=content, headers=headers, cookies=cookies)
        except httpx.HTTPError as exc:
            return Answer(0, "", httpx.Headers(), f"transport error: {exc!r}", NOT_JSON, {}), path
        ctype = r.headers.get("content-type", "")
        try:
            parsed = r.json() if r.content and "json" in ctype else NOT_JSON
        except ValueError:
            parsed = NOT_JSON
        return Answer(r.status_code, ctype, r.headers, r.text, parsed, set_cookies(r.headers)), path

    def send(self, req):
        """Send req to both; [(req, answers, paths)], with the follow-ups it calls for."""
        answers, paths = {}, {}
        for side in SIDES:
            answers[side], paths[side] = self.send_one(req, side)
        self.requests += 1
        sessions = self.session_users(req)
        for name in sessions:
            self.users[name].old_session = dict(self.users[name].session)
        self.learn(req, answers)
        self.resync(req, answers)
        out = [(req, answers, paths)]
        if req.method == "POST" and req.route.startswith("/authentication/") and \
                answers["hearth"].status == answers["reference"].status == 200 and \
                answers["hearth"].json == answers["reference"].json:
            # what became of the session the request came with
            for name in sessions:
                follow = Req("GET", "/api/tasks/", f"session_old:{name}", encoding="none", content_type=None,
                             note=f"{name}'s session from before POST {req.route}")
                fa, fp = {}, {}
                for side in SIDES:
                    fa[side], fp[side] = self.send_one(follow, side)
                self.requests += 1
                out.append((follow, fa, fp))
        return out

    def session_users(self, req):
        """The users whose session cookie req carries."""
        out = []
        for part in req.auth.split("+"):
            kind, _, name = part.partition(":")
            if kind.startswith("session") and kind != "session_nocookie" and name in self.users:
                out.append(name)
        return out

    # --- what the two answers change in the world --------------------------------

    CREATES = {
        "/api/messages": "message", "/api/tasks/": "task", "/api/blogposts/": "blogpost",
        "/music/album": "album", "/music/album/create": "album",
        "/music/song": "song", "/music/song/create": "song", "/music/likes": "like",
    }

    def actor(self, auth):
        """The user a (valid) auth variant acts as, or None."""
        kind, _, name = auth.split("+")[0].partition(":")
        if kind in ("bearer", "token", "session") and name:
            return name
        if kind in ("minted_alice", "minted_int_user_id"):
            return "alice"
        return None

    def learn(self, req, answers):
        h, r = answers["hearth"], answers["reference"]
        both = {h.status, r.status}
        if req.method == "POST" and req.route in self.CREATES and both == {201}:
            if isinstance(h.json, dict) and isinstance(r.json, dict) and "id" in h.json and "id" in r.json:
                kind = self.CREATES[req.route]
                parent = None
                if kind == "song" and isinstance(req.body, dict) and isinstance(req.body.get("album"), Ref):
                    parent = req.body["album"].obj
                if kind == "like" and isinstance(req.body, dict) and isinstance(req.body.get("song"), Ref):
                    parent = req.body["song"].obj
                owner = self.actor(req.auth) or "?"
                self.objects.append(Obj(kind, owner, {"hearth": h.json["id"], "reference": r.json["id"]}, parent))
        target = req.path_id.obj if isinstance(req.path_id, Ref) else req.path_id
        if req.method == "DELETE" and isinstance(target, Obj) and both == {204}:
            self.kill(target)
        if req.route.startswith("/authentication/") and req.method == "POST":
            # login/register/logout may end the session: log in again when next needed
            for name in self.session_users(req):
                self.users[name].session_stale = True
        # JWT bookkeeping
        if req.route in ("/api/token/", "/api/auth/token/", "/api/auth/signup/") and both == {200}:
            if isinstance(h.json, dict) and isinstance(r.json, dict) and "refresh" in h.json and "refresh" in r.json:
                login = Login()
                self.tokens.append(TokenPair("refresh from " + req.route,
                                             {"hearth": h.json["refresh"], "reference": r.json["refresh"]},
                                             login=login))
                self.accesses.append(TokenPair("access from " + req.route,
                                               {"hearth": h.json["access"], "reference": r.json["access"]},
                                               login=login))
            if isinstance(req.body, dict) and isinstance(req.body.get("username"), str):
                pair = (req.body["username"], req.body.get("password"))
                if req.route == "/api/auth/signup/" and pair not in self.credentials:
                    self.credentials.append(pair)
        if req.route in ("/api/user/register/", "/music/register") and both == {201}:
            names = {a.json.get("username") if isinstance(a.json, dict) else None for a in (h, r)}
            if len(names) > 1:        # the servers stored different names (a defect shows it)
                self.diverged_names.update(str(n) for n in names)
                self.out_of_step.append(f"one user, two names: {sorted(map(str, names))}")
            elif isinstance(req.body, dict):
                self.credentials.append((str(req.body.get("username")).strip(), req.body.get("password")))
        if req.route == "/authentication/register" and req.method == "POST" and both == {200}:
            if h.json == r.json == {"error": "None, user creation successful"}:
                self.credentials.append((str(req.body.get("username")), req.body.get("password")))
        token = req.body.get("refresh") if isinstance(req.body, dict) else None
        if isinstance(token, TokenPair):
            refresh_route = req.route in ("/api/token/refresh/", "/api/auth/token/refresh/")
            if token.state == "rotated" and refresh_route and time.monotonic() - token.rotated_at > REUSE_GRACE:
                token.login.reuse_revoked = True     # Hearth ends the login (CONTRACT.md)
            if refresh_route and both == {200}:
                token.state, token.rotated_at = "rotated", time.monotonic()
                if isinstance(h.json, dict) and isinstance(r.json, dict):
                    if "refresh" in h.json and "refresh" in r.json:
                        self.tokens.append(TokenPair("rotated-in refresh",
                                                     {"hearth": h.json["refresh"], "reference": r.json["refresh"]},
                                                     login=token.login))
                    if "access" in h.json and "access" in r.json:
                        self.accesses.append(TokenPair("access from refresh",
                                                       {"hearth": h.json["access"], "reference": r.json["access"]},
                                                       login=token.login))
            if req.route == "/api/user/logout/" and both == {200}:
                token.state = "blacklisted"
                token.login.logged_out = True
            if (h.status == 200) != (r.status == 200) and req.route in (
                    "/api/token/refresh/", "/api/auth/token/refresh/", "/api/user/logout/"):
                token.state = "diverged"     # refreshed or logged out on one server only

    # --- putting the two servers back in step ----------------------------------------
    # A difference on a write (one server made, changed or deleted something, the other
    # refused) would show again in every later answer that sees it. After reporting it,
    # the world undoes it on the server that did it, or does it on the other, through
    # the API, so that one defect is reported once, not as a cascade.

    DETAIL_PATHS = {
        "message": "/api/messages/{}", "task": "/api/tasks/{}/", "blogpost": "/api/blogposts/{}/",
        "album": "/music/album/{}", "song": "/music/song/{}", "like": "/music/likes/{}",
    }
    FIELDS = {
        "message": ("PATCH", ["text"]), "task": ("PUT", ["title", "completed"]),
        "blogpost": ("PUT", ["title", "content"]), "album": ("PUT", ["name", "artist", "year_released"]),
        "song": ("PUT", ["song_name", "num_streams", "album"]),
    }
    USER_ROUTES = {"/api/user/register/": 201, "/music/register": 201, "/api/auth/signup/": 200}

    def writer(self, req, kind):
        """Whose credentials undo a write: the caller's, else staff's."""
        for part in req.auth.split("+"):
            k, _, name = part.partition(":")
            if name in self.users and k in ("bearer", "token", "token_lower", "session", "session_trusted_origin",
                                            "session_same_origin"):
                return name
        if "minted_alice" in req.auth or "minted_int_user_id" in req.auth:
            return "alice"
        return self.staff_name

    def bearer_of(self, name, side):
        return {"Authorization": f"Bearer {self.users[name].access[side]}"}

    def resync(self, req, answers):
        ok = {s: 200 <= a.status < 300 for s, a in answers.items()}
        if req.method in ("POST", "PUT", "PATCH") and ok["hearth"] and ok["reference"]:
            # both wrote, but maybe not the same values: make Hearth's row the reference's
            h, r = answers["hearth"].json, answers["reference"].json
            if isinstance(h, dict) and isinstance(r, dict) and any(
                    h.get(k) != v for k, v in r.items() if k not in VOLATILE_KEYS and not isinstance(v, (dict, list))):
                target = req.path_id.obj if isinstance(req.path_id, Ref) else req.path_id
                if req.method == "POST" and req.route in self.CREATES and self.objects:
                    target = self.objects[-1]
                if isinstance(target, Obj) and target.kind in self.FIELDS:
                    self.copy_row(target, "reference", "hearth", self.writer(req, target.kind))
        if req.method not in ("POST", "PUT", "PATCH", "DELETE") or ok["hearth"] == ok["reference"]:
            self.resync_users(req, answers)
            return
        did = "hearth" if ok["hearth"] else "reference"
        other = "reference" if did == "hearth" else "hearth"
        target = req.path_id.obj if isinstance(req.path_id, Ref) else req.path_id
        if req.method == "POST" and req.route in self.CREATES:
            made = answers[did].json
            if isinstance(made, dict) and "id" in made:
                kind = self.CREATES[req.route]
                who = self.writer(req, kind)
                r = self.raw(did, "DELETE", self.DETAIL_PATHS[kind].format(made["id"]), headers=self.bearer_of(who, did))
                if r.status_code != 204:
                    self.out_of_step.append(f"{kind} {made['id']} made on {did} only, not deleted: {r.status_code}")
        elif req.method == "DELETE" and isinstance(target, Obj):
            who = self.writer(req, target.kind)
            if target.kind not in ("task", "like"):
                who = self.staff_name
            r = self.raw(other, "DELETE", self.DETAIL_PATHS[target.kind].format(target.ids[other]),
                         headers=self.bearer_of(who, other))
            self.kill(target)
            if r.status_code != 204:
                self.out_of_step.append(f"{target.label()} deleted on {did} only: {r.status_code}")
        elif req.method in ("PUT", "PATCH") and isinstance(target, Obj) and target.kind in self.FIELDS:
            self.copy_row(target, other, did, self.writer(req, target.kind))
        self.resync_users(req, answers)

    def copy_row(self, obj, source, dest, who):
        """Write the row as `source` has it over `dest`'s copy."""
        if obj.kind not in ("task",):
            who = self.staff_name if obj.kind != "message" or who not in self.users else who
        method, names = self.FIELDS[obj.kind]
        got = self.raw(source, "GET", self.DETAIL_PATHS[obj.kind].format(obj.ids[source]),
                       headers=self.bearer_of(who, source))
        if got.status_code != 200:
            self.out_of_step.append(f"{obj.label()} changed on {dest} only; not readable on {source}")
            return
        row = got.json()
        body = {k: row[k] for k in names if k in row}
        if "album" in body:
            album = next((o for o in self.objects if o.kind == "album" and o.ids[source] == body["album"]), None)
            if album is None:
                self.out_of_step.append(f"{obj.label()}: album {body['album']} not paired")
                return
            body["album"] = album.ids[dest]
        if obj.kind == "message":
            who = obj.owner if obj.owner in self.users else self.staff_name
        r = self.raw(dest, method, self.DETAIL_PATHS[obj.kind].format(obj.ids[dest]), json_body=body,
                     headers=self.bearer_of(who, dest))
        if r.status_code != 200:
            self.out_of_step.append(f"{obj.label()} changed on {dest} only, not restored: {r.status_code} {r.text[:100]}")

    def resync_users(self, req, answers):
        """A user made on one server only is made on the other, if it can be."""
        body = req.body if isinstance(req.body, dict) else {}
        name, password = body.get("username"), body.get("password")

        def made(side):
            a = answers[side]
            if req.route in self.USER_ROUTES:
                return a.status == self.USER_ROUTES[req.route]
            if req.route == "/authentication/register" and req.method == "POST":
                return a.json == {"error": "None, user creation successful"}
            return False

        if req.method != "POST" or made("hearth") == made("reference"):
            return
        other = "reference" if made("hearth") else "hearth"
        if isinstance(name, str) and isinstance(password, str):
            stored = name.strip() if req.route != "/api/auth/signup/" else name
            r = self.raw(other, "POST", "/api/user/register/", json_body={"username": stored, "password": password})
            if r.status_code == 201:
                self.credentials.append((stored, password))
                return
        self.diverged_names.add(str(name).strip())
        self.out_of_step.append(f"user {name!r} exists on one server only")

    def kill(self, obj):
        obj.alive = False
        for o in self.objects:
            if o.parent is obj and o.alive:
                self.kill(o)          # an album's songs, a song's likes


# --- comparison -----------------------------------------------------------------------

def media(ctype):
    """'application/json; charset=utf-8' -> ('application/json', 'utf-8')."""
    if not ctype:
        return ("", "")
    parts = [p.strip().lower() for p in ctype.split(";")]
    charset = ""
    for p in parts[1:]:
        if p.startswith("charset="):
            charset = p.split("=", 1)[1].strip('"')
    return (parts[0], charset)


def jtype(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    if isinstance(v, list):
        return "list"
    return "object"


def shape(v):
    """A hashable picture of a JSON value's keys and types, not its values."""
    if isinstance(v, dict):
        return tuple(sorted((k, shape(x)) for k, x in v.items()))
    if isinstance(v, list):
        return ("list", frozenset(shape(x) for x in v))
    return jtype(v)


def compare_json(h, r, where, error, diffs, id_map):
    th, tr = jtype(h), jtype(r)
    if th != tr and not ({th, tr} <= {"int", "float"} and h == r):
        diffs.append(Diff("body", where, f"type {th} != {tr}: {short(h)} != {short(r)}", h, r))
        return
    if isinstance(h, dict):
        if set(h) != set(r):
            only_h, only_r = sorted(set(h) - set(r)), sorted(set(r) - set(h))
            diffs.append(Diff("body", where, f"keys: only in hearth {only_h}, only in reference {only_r}"))
        for k in sorted(set(h) & set(r)):
            sub = f"{where}.{k}"
            if not error and k in VOLATILE_KEYS and not isinstance(r[k], (dict, list)):
                if jtype(h[k]) != jtype(r[k]):
                    diffs.append(Diff("body", sub, f"type {jtype(h[k])} != {jtype(r[k])}"))
                continue
            compare_json(h[k], r[k], sub, error, diffs, id_map)
    elif isinstance(h, list):
        if h and all(isinstance(x, dict) for x in h + r) or r and all(isinstance(x, dict) for x in h + r):
            sh, sr = {shape(x) for x in h}, {shape(x) for x in r}
            if sh != sr:
                diffs.append(Diff("body", where + "[*]",
                                  f"item shapes differ: hearth {len(h)} items {describe_shapes(sh)}, "
                                  f"reference {len(r)} items {describe_shapes(sr)}"))
        elif len(h) != len(r):
            diffs.append(Diff("body", where, f"{short(h)} != {short(r)}"))
        else:
            for i, (a, b) in enumerate(zip(h, r)):
                compare_json(a, b, f"{where}[{i}]", error, diffs, id_map)
    elif isinstance(h, str):
        if (normalise_ids(h, id_map) if error else h) != r:
            diffs.append(Diff("body", where, f"{short(h)} != {short(r)}", h, r))
    elif h != r:
        diffs.append(Diff("body", where, f"{short(h)} != {short(r)}", h, r))


def describe_shapes(shapes):
    out = []
    for s in sorted(shapes, key=repr)[:3]:
        out.append("{" + ", ".join(k for k, _ in s) + "}" if isinstance(s, tuple) else repr(s))
    return "[" + "; ".join(out) + ("; ..." if len(shapes) > 3 else "") + "]"


def normalise_ids(text, id_map):
    """Hearth's text with each paired id of this request written as the reference's."""
    if not id_map:
        return text
    return re.sub(r"\d+", lambda m: id_map.get(m.group(), m.group()), text)


def short(v, limit=160):
    s = json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else repr(v)
    return s if len(s) <= limit else s[:limit] + "..."


def id_map_of(req):
    """hearth id -> reference id, for every paired row the request names."""
    out = {}

    def walk(v):
        if isinstance(v, Obj):
            out[v.ids["hearth"]] = v.ids["reference"]
        elif isinstance(v, Ref):
            walk(v.obj)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)

    walk(req.path_id.obj if isinstance(req.path_id, Ref) else req.path_id)
    walk(req.body)
    walk(list(req.query))
    return {str(k): str(v) for k, v in out.items() if k != v}


def compare(req, h, r):
    diffs = []
    if h.status != r.status:
        diffs.append(Diff("status", "", f"{h.status} != {r.status}", h.status, r.status))
    if media(h.content_type) != media(r.content_type):
        diffs.append(Diff("content-type", "", f"{h.content_type!r} != {r.content_type!r}"))
    for name in ("www-authenticate",):
        if h.headers.get(name) != r.headers.get(name):
            diffs.append(Diff("header", name, f"{h.headers.get(name)!r} != {r.headers.get(name)!r}"))
    if h.status == r.status == 405:
        allow_h = {m.strip().upper() for m in h.headers.get("allow", "").split(",") if m.strip()}
        allow_r = {m.strip().upper() for m in r.headers.get("allow", "").split(",") if m.strip()}
        if allow_h != allow_r:
            diffs.append(Diff("header", "allow", f"{sorted(allow_h)} != {sorted(allow_r)}"))
    for name in ("csrftoken", "sessionid"):
        set_h, set_r = name in h.cookies_set, name in r.cookies_set
        if set_h != set_r:
            diffs.append(Diff("header", f"set-cookie {name}", f"set by hearth: {set_h}, by reference: {set_r}"))
        elif set_h and (h.cookies_set[name] == "") != (r.cookies_set[name] == ""):
            diffs.append(Diff("header", f"set-cookie {name}",
                              f"deleted by hearth: {h.cookies_set[name] == ''}, "
                              f"by reference: {r.cookies_set[name] == ''}"))
    error = h.status >= 400 or r.status >= 400
    if h.json is not NOT_JSON and r.json is not NOT_JSON:
        compare_json(h.json, r.json, "$", error, diffs, id_map_of(req))
    elif (h.json is NOT_JSON) != (r.json is NOT_JSON):
        diffs.append(Diff("body", "$", f"json on one side only: {h.text[:120]!r} != {r.text[:120]!r}"))
    elif req.method != "HEAD" and (normalise_ids(h.text, id_map_of(req)) if error else h.text) != r.text:
        diffs.append(Diff("body", "$", f"text {h.text[:200]!r} != {r.text[:200]!r}"))
    return diffs
