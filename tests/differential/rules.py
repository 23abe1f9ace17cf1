"""Which differences between Hearth and the reference are allowed, and why.

DELIBERATE: Hearth differs on purpose, and CONTRACT.md allows it. Each rule is
narrow: the routes it applies to (a regex on the route template), the condition
on the request, the two answers and the difference, and which aspects of the
answers it excuses.

KNOWN_DEFECTS: differences that are Hearth's bugs, listed (most severe first) so
that the check can run while they are being fixed. Remove an entry when its fix
lands: the run prints the entries it no longer saw.

Any other difference fails the run.
"""

import re
from dataclasses import dataclass

ALL = frozenset({"status", "content-type", "body", "header"})


@dataclass
class Rule:
    name: str
    reason: str
    routes: str                       # regex, full match on the route template
    when: object                      # (req, hearth Answer, reference Answer, Diff) -> bool
    aspects: frozenset = ALL          # the Diff aspects it excuses
    where: str = ""                   # regex on Diff.where; empty: any
    seen: int = 0

    def covers(self, req, h, r, diff):
        if not re.fullmatch(self.routes, req.route):
            return False
        if diff.aspect not in self.aspects:
            return False
        if self.where and not re.fullmatch(self.where, diff.where):
            return False
        return bool(self.when(req, h, r, diff))


# --- conditions ------------------------------------------------------------------------

def detail(answer):
    j = answer.json
    return j.get("detail") if isinstance(j, dict) else None


def body_field(req, name):
    return req.body.get(name) if isinstance(req.body, dict) else None


def is_form(req):
    return req.encoding == "form" or (req.content_type or "").startswith(("multipart/", "application/x-www-form"))


def allow(answer):
    return {m.strip().upper() for m in answer.headers.get("allow", "").split(",") if m.strip()}


def non_string(req, *names):
    body = req.body if isinstance(req.body, dict) else {}
    return any(k in body and not isinstance(body[k], str) for k in names)


def path_id_text(req):
    """The id as written in the path (a paired row's id counts as digits)."""
    pid = req.path_id
    return pid if isinstance(pid, str) else "0"


def minted_in_body(req, *variants):
    values = {MINTED.get(v) for v in variants}
    return isinstance(req.body, dict) and any(v in values for v in req.body.values() if isinstance(v, str))


def uses_minted(req, *variants):
    return any(v in req.auth for v in variants) or minted_in_body(req, *variants)


def padded(v):
    return isinstance(v, str) and v != v.strip()


def password_trim_involved(req):
    """A password with blanks around it, sent now or when its user was made."""
    password, name = body_field(req, "password"), body_field(req, "username")
    if padded(password):
        return True
    return any(u == name and padded(p) for u, p in (WORLD.credentials if WORLD else ()))


def big_int_in_body(req):
    body = req.body if isinstance(req.body, dict) else {}
    return any(isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 2**53 for v in body.values())


def logins_in(req):
    """The JWT logins whose tokens the body carries."""
    body = req.body if isinstance(req.body, dict) else {}
    return [v.login for v in body.values() if hasattr(v, "login")]


def token_error(answer):
    return answer.status == 401 and isinstance(answer.json, dict) and answer.json.get("code") == "token_not_valid"


def python_strip_only(d):
    """Two strings that differ only by what Python's str.strip() takes off and
    Rust's str::trim() does not (\\x1c-\\x1f: Python's isspace, not Unicode White_Space)."""
    return (isinstance(d.hearth, str) and isinstance(d.reference, str)
            and d.hearth != d.reference and d.hearth.strip() == d.reference)


# Rust's char::is_whitespace (Unicode White_Space); Python's isspace() adds \x1c-\x1f
RUST_WHITESPACE = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
                   "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def edge_info_separator(req):
    """A body string that Python's strip() and Rust's trim() cut differently."""
    body = req.body if isinstance(req.body, dict) else {}
    return any(isinstance(v, str) and v.strip() != v.strip(RUST_WHITESPACE) for v in body.values())


ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DATE_TEXT = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
JSON_TYPE = re.compile(r"application/json(\s*;.*)?")
AUTH_ERRORS = (401, 403)
MINTED = {}   # filled by the test: variant name -> the minted JWT text (the same on both)
WORLD = None  # the test's World, for the users it knows
ANY_ROUTE = r".*"
SESSION_VIEWS = r"/authentication/(login|register|logout)"


DELIBERATE = [
    Rule(
        "access token refused after logout",
        "CONTRACT.md, simplejwt behaviour: Hearth ends a login at once on logout, its access "
        "token included (a per-login token version checked on each request); simplejwt "
        "keeps accepting an access token until it expires. Hearth answers 401 "
        "token_not_valid where the reference lets dora's old access token in.",
        ANY_ROUTE,
        lambda req, h, r, d: (req.auth.startswith("after_logout") and r.status != 401
                              and (token_error(h) or (req.method == "HEAD" and h.status == 401)))
        or (any(login.logged_out for login in logins_in(req)) and token_error(h) and r.status == 200),
    ),
    Rule(
        "a login ended by the reuse of a rotated refresh token",
        "CONTRACT.md, beyond simplejwt: a rotated refresh token presented again after the grace "
        "period (10 s) revokes every refresh token of that login (OWASP ASVS 10.4.5); simplejwt "
        "only refuses the rotated one. Later tokens of that login are refused by Hearth "
        "(401 token_not_valid; on verify a refresh token is 400 \"Token is blacklisted\", on "
        "logout 400 {\"error\": ...}) and still good on the reference.",
        r"/api/token/(refresh|verify)/|/api/auth/token/refresh/|/api/user/logout/",
        lambda req, h, r, d: any(login.reuse_revoked for login in logins_in(req)) and r.status == 200
        and (token_error(h) or h.status == 400),
    ),
    Rule(
        "verify refuses a token that names no existing user",
        "CONTRACT.md, simplejwt behaviour: Hearth checks each token against its user's token "
        "version, which loads the user, so /api/token/verify/ calls a well-signed token of a "
        "user that does not exist, or with no user_id, not valid (401 token_not_valid); "
        "simplejwt's verify checks only the signature and the claims (200 {}).",
        r"/api/token/verify/",
        lambda req, h, r, d: minted_in_body(req, "minted_unknown_user", "minted_no_user")
        and r.status == 200 and token_error(h),
    ),
    Rule(
        "logout's error text for a bad token",
        "CONTRACT.md: /api/user/logout/ with an invalid token is 400 {\"error\": \"...\"}, any "
        "text. The tutorial's view answers str(exception), which for a token without jti is "
        "Python's KeyError text \"'jti'\"; Hearth answers simplejwt's messages.",
        r"/api/user/logout/",
        lambda req, h, r, d: h.status == r.status == 400 and isinstance(h.json, dict) and isinstance(r.json, dict)
        and set(h.json) == set(r.json) == {"error"} and body_field(req, "refresh") is not None,
        frozenset({"body"}),
        r"\$\.error",
    ),
    Rule(
        "405 of the sign-up view is DRF-shaped",
        "CONTRACT.md, Conventions: errors are {\"detail\": \"...\"} for 405. The tutorial's "
        "signup is a plain Django view under @require_POST, whose 405 is an empty text/html "
        "body; Hearth answers the contract's JSON (same status, same Allow).",
        r"/api/auth/signup/",
        lambda req, h, r, d: h.status == r.status == 405 and allow(h) == allow(r)
        and (detail(h) == f'Method "{req.method}" not allowed.' or (req.method == "HEAD" and not h.text)),
        frozenset({"content-type", "body"}),
    ),
    Rule(
        "dates are YYYY-MM-DD only",
        "CONTRACT.md, Conventions: \"Dates: YYYY-MM-DD\". DRF's DateField takes whatever Python's "
        "date.fromisoformat and Django's parse_date take, which on the reference's Python 3.11 "
        "includes 20010203, 2001-W01-1, 2001-2-3 and non-ASCII digits (on Python 3.10 the first "
        "two are refused, as Hearth refuses all of them, with DRF's text).",
        r"/music/album.*",
        lambda req, h, r, d: isinstance(body_field(req, "year_released"), str)
        and not ISO_DATE.fullmatch(body_field(req, "year_released"))
        and h.status == 400 and isinstance(h.json, dict) and h.json.get("year_released") == [DATE_TEXT]
        and r.status in (200, 201, 400),
    ),
    Rule(
        "JSON nested deeper than 128 levels is refused",
        "serde_json's recursion guard (a stack-depth limit against hostile bodies): a body "
        "nested deeper than 128 is 400 \"JSON parse error - recursion limit exceeded\" "
        "(CONTRACT.md's shape for an unreadable body); Python's json reads it. No route takes "
        "a body nested more than two levels.",
        ANY_ROUTE,
        lambda req, h, r, d: h.status == 400 and "recursion limit exceeded" in str(detail(h))
        and r.status in (200, 400, 401, 403, 415),
        frozenset({"status", "content-type", "body"}),
    ),
    Rule(
        "signup echoes a numeric username as text",
        "The tutorial's signup answers user.username from the object it just made, which for "
        "a JSON number is still that number; the row, and Hearth's answer, hold its text.",
        r"/api/auth/signup/",
        lambda req, h, r, d: d.where == "$.user.username" and isinstance(d.reference, (int, float))
        and d.hearth == str(d.reference),
        frozenset({"body"}),
    ),
    Rule(
        "the reference crashes on a non-string username or password",
        "The tutorial's session views hand the body's values to authenticate(); with a "
        "number or a list as the password Django's hasher raises TypeError and the reference "
        "answers 500. Hearth answers the tutorial's own failure text instead (a 500 is "
        "nobody's contract).",
        SESSION_VIEWS,
        lambda req, h, r, d: r.status == 500 and h.status == 200
        and non_string(req, "username", "password", "confirm_password"),
    ),
    Rule(
        "refresh: the reference crashes on a token without jti",
        "simplejwt's blacklist check reads payload[\"jti\"] before it verifies the claims, so a "
        "well-signed token with no jti makes /api/token/refresh/ answer 500; Hearth answers "
        "401 token_not_valid.",
        r"/api/token/refresh/|/api/auth/token/refresh/",
        lambda req, h, r, d: minted_in_body(req, "minted_no_jti") and r.status == 500 and token_error(h),
    ),
    Rule(
        "songInAlbum: an album id past 64 bits",
        "The reference's SQLite lookup overflows on ?album=9223372036854775808 and answers "
        "500; Hearth answers 400 {\"album\": [\"A valid integer is required.\"]}.",
        r"/music/songInAlbum",
        lambda req, h, r, d: r.status == 500 and h.status == 400
        and h.json == {"album": ["A valid integer is required."]},
    ),
    Rule(
        "a login renews the session key even for the same user",
        "Hearth gives every successful session login a new session key and ends the one the "
        "request came with (OWASP: renew the session ID on authentication); Django's login() "
        "keeps the key when the session already belongs to the same user. The answer carries "
        "the new sessionid either way; only the old cookie differs (401 on Hearth).",
        r"/api/tasks/",
        lambda req, h, r, d: req.auth.startswith("session_old:") and "POST /authentication/login" in req.note
        and h.status == 401 and r.status == 200,
    ),
    Rule(
        "JSON is read as UTF-8 whatever charset= says",
        "RFC 8259 §8.1: JSON exchanged between systems is UTF-8, and application/json has no "
        "charset parameter. DRF decodes with a declared charset=latin-1, so UTF-8 text is "
        "stored as mojibake (\"ñ\" becomes \"Ã±\"); Hearth reads UTF-8.",
        ANY_ROUTE,
        lambda req, h, r, d: "charset=latin-1" in (req.content_type or "").lower() and h.status == r.status
        and d.aspect == "body",
    ),
    Rule(
        "register with a form body: the reference crashes",
        "With a form-encoded body naming a user that exists, the reference's /music/register "
        "answers 500; Hearth answers DRF's 400 {\"username\": [\"A user with that username "
        "already exists.\"]} (a 500 is nobody's contract).",
        r"/music/register|/api/user/register/",
        lambda req, h, r, d: is_form(req) and r.status == 500 and h.status == 400,
    ),
    Rule(
        "NaN, Infinity and a byte-order mark are not JSON",
        "RFC 8259 has no NaN or Infinity and no BOM; the tutorial views' json.loads() takes "
        "all three (DRF's own parser refuses NaN too). Hearth answers CONTRACT.md's 400 "
        "{\"detail\": \"JSON parse error - ...\"}.",
        r"/api/auth/signup/|" + SESSION_VIEWS,
        lambda req, h, r, d: req.encoding == "raw" and (b"NaN" in req.raw or b"Infinity" in req.raw
                                                         or req.raw.startswith(b"\xef\xbb\xbf"))
        and h.status == 400 and str(detail(h)).startswith("JSON parse error - ") and r.status in (200, 400),
        frozenset({"status", "content-type", "body"}),
    ),
    Rule(
        "a number past the float range is malformed JSON",
        "1e400 has no IEEE double: serde_json refuses it (400 \"JSON parse error - number out of "
        "range\"), Python's json reads it as inf (a task titled \"inf\" is made, or the field "
        "is ignored where it is unknown). RFC 8259 lets a parser limit the range.",
        ANY_ROUTE,
        lambda req, h, r, d: req.encoding == "raw" and b"1e400" in req.raw and h.status == 400
        and "number out of range" in str(detail(h)) and r.status in (200, 201, 400, 401, 403, 415),
        frozenset({"status", "content-type", "body"}),
    ),
    Rule(
        "JSON parse error text after the prefix",
        "CONTRACT.md, Conventions: malformed JSON is 400 {\"detail\": \"JSON parse error - ...\"}; "
        "the text after the prefix is the parser's own (Python's json vs serde_json).",
        ANY_ROUTE,
        lambda req, h, r, d: h.status == r.status == 400
        and str(detail(h)).startswith("JSON parse error - ") and str(detail(r)).startswith("JSON parse error - "),
        frozenset({"body"}),
        r"\$\.detail",
    ),
]


KNOWN_DEFECTS = [
    # --- what is stored or accepted ---
    Rule(
        "passwords are not trimmed where DRF's serializers trim them",
        "DRF's CharField trims by default, so /api/user/register/ and /music/register store "
        "the hash of \"  Pass-word-1!  \".strip(), and simplejwt's /api/token/ and "
        "/api/auth/token/ trim the password they check (a blank one is \"This field may not "
        "be blank.\"). Hearth hashes and checks the password as sent: the same user then logs "
        "in with other passwords on each, and a Django database moved into Hearth keeps users "
        "out who type the blanks. (/api-token-auth/ and the session views do not trim, on both.)",
        r"/api/user/register/|/music/register|/api/token/|/api/auth/token/|/api-token-auth/|"
        r"/api/auth/signup/|/authentication/(login|register)",
        lambda req, h, r, d: password_trim_involved(req),
    ),
    Rule(
        "\\x1c-\\x1f are not trimmed",
        "DRF's CharField trims with Python's str.strip(), which takes off U+001C..U+001F "
        "(and Hearth's trim does not): a title or content of \"A\\x1f\" is stored as \"A\" by "
        "the reference and as \"A\\x1f\" by Hearth (and \"\\x1f\" is blank for DRF).",
        ANY_ROUTE,
        lambda req, h, r, d: python_strip_only(d) or edge_info_separator(req),
    ),
    Rule(
        "integers past 2**53 become floats",
        "Hearth reads a JSON integer beyond 2**53 as a float: as a title it is stored as "
        "\"1.2345678901234568e+22\" where DRF stores str(12345678901234567890123), and as a "
        "primary key past 64 bits it is \"Incorrect type. Expected pk value, received int.\" "
        "where DRF says \"Invalid pk \\\"9223372036854775808\\\" - object does not exist.\".",
        ANY_ROUTE,
        lambda req, h, r, d: big_int_in_body(req),
    ),
    Rule(
        "a float as num_streams",
        "DRF's IntegerField takes a float whose text is an integer (1.0 -> 1, -0.0 -> 0) and "
        "answers \"A valid integer is required.\" for the others (1.5, 1e+30); Hearth answers "
        "\"Ensure this value is less than or equal to 9223372036854775807.\" for 1.0 and 1e+30, "
        "and \"... greater than or equal to 0.\" for -0.0.",
        r"/music/song.*",
        lambda req, h, r, d: isinstance(body_field(req, "num_streams"), float),
    ),
    Rule(
        "non-ASCII digits in an integer",
        "DRF's IntegerField is int(str(value)), which reads any Unicode decimal digits: "
        "num_streams \"١٢\" is 12. Hearth answers \"A valid integer is required.\".",
        r"/music/song.*",
        lambda req, h, r, d: isinstance(body_field(req, "num_streams"), str)
        and not body_field(req, "num_streams").isascii() and h.status == 400,
    ),
    Rule(
        "session register: a non-string username or password",
        "The tutorial's register view tests `not username or not password or not "
        "confirm_password`, so a username of 0 is \"Username and password required\"; Hearth "
        "makes user \"0\" (or answers \"Username already taken\").",
        r"/authentication/register",
        lambda req, h, r, d: non_string(req, "username", "password", "confirm_password")
        and h.status == r.status == 200,
    ),
    Rule(
        "signup: a non-string username or password gets another text",
        "The tutorial's signup tests `not username or not password` (so 0, -0.0, false, [] "
        "are \"username and password required\"), then looks the name up (\"username "
        "taken\"), then validates str() of both; Hearth answers other texts for non-strings "
        "(a username of 0 makes user \"0\", a password of 0 gets the validators' texts, a list "
        "\"username and password required\" even when the name is taken).",
        r"/api/auth/signup/",
        lambda req, h, r, d: non_string(req, "username", "password") and r.status == 400 and h.status in (200, 400),
    ),
    Rule(
        "an offset past 64 bits is read as 0",
        "DRF's LimitOffsetPagination takes ?offset=99999999999999999999 as that number (an "
        "empty page); Hearth falls back to offset 0 and answers the first page.",
        ANY_ROUTE,
        lambda req, h, r, d: any(k == "offset" and str(v).strip().isdigit() and len(str(v).strip()) > 18
                                 for k, v in req.query) and d.where == "$[*]",
        frozenset({"body"}),
    ),
    Rule(
        "a float as a primary key",
        "DRF's PrimaryKeyRelatedField looks a float up as it is (Django's IntegerField takes "
        "int(3.0) == 3, and int(1.5) == 1): {\"song\": 3.0} likes song 3, {\"song\": 1.5} is "
        "\"Invalid pk \\\"1.5\\\" - object does not exist.\" when song 1 is gone; Hearth answers "
        "\"Incorrect type. Expected pk value, received float.\".",
        r"/music/(song|likes).*",
        lambda req, h, r, d: any(isinstance(body_field(req, k), float) or getattr(body_field(req, k), "fmt", "") == "float"
                                 for k in ("album", "song"))
        and h.status == 400,
    ),
    Rule(
        "an empty string as a primary key: DRF's text",
        "DRF's related fields take \"\" as null: {\"album\": \"\"} is \"This field may not be "
        "null.\"; Hearth answers \"Incorrect type. Expected pk value, received str.\".",
        r"/music/(song|likes).*",
        lambda req, h, r, d: "" in (body_field(req, "album"), body_field(req, "song")) and h.status == r.status == 400,
        frozenset({"body"}),
    ),
    Rule(
        "a NUL in a username: DRF also reports the username rule",
        "DRF runs every validator of the username field: \"a\\x00\" gets both \"Enter a valid "
        "username. ...\" and \"Null characters are not allowed.\"; Hearth only the second.",
        r"/api/user/register/|/music/register",
        lambda req, h, r, d: "\x00" in str(body_field(req, "username")) and h.status == r.status == 400
        and d.where.startswith("$.username"),
        frozenset({"body"}),
    ),
    Rule(
        "verify refuses a token without token_type",
        "simplejwt's /api/token/verify/ checks an UntypedToken: a well-signed token with no "
        "token_type claim is 200 {}. Hearth answers 401 \"Token is invalid\".",
        r"/api/token/verify/",
        lambda req, h, r, d: minted_in_body(req, "minted_no_type") and r.status == 200 and token_error(h),
    ),
    # --- the order of the checks ---
    Rule(
        "405 before authentication",
        "DRF authenticates before it looks at the method: a bad token or a failed CSRF "
        "check is 401/403 even on a method the view lacks (and an ended session's cookie is "
        "deleted on the 405). Hearth answers 405 first.",
        ANY_ROUTE,
        lambda req, h, r, d: (h.status == 405 and r.status in AUTH_ERRORS)
        or (h.status == r.status == 405 and d.where == "set-cookie sessionid"),
    ),
    Rule(
        "session POST: body parse errors before permission",
        "With session authentication DRF's CSRF check reads request.POST, which parses the "
        "body: a malformed JSON body (400) or an unsupported media type (415) is answered "
        "before permissions and the method. Hearth answers 403 (or 405) first.",
        ANY_ROUTE,
        lambda req, h, r, d: req.method == "POST" and "session" in req.auth
        and (r.status == 415 or (r.status == 400 and str(detail(r)).startswith("JSON parse error")))
        and h.status in AUTH_ERRORS + (405,),
    ),
    Rule(
        "a path id that is not digits: auth before 404",
        "Django's <int:pk> does not match a non-digit id, so the reference answers 404 "
        "{\"detail\": \"Not found.\"} before any view runs; Hearth authenticates (and checks "
        "CSRF, permissions and the method) first and answers 401/403/405.",
        ANY_ROUTE,
        lambda req, h, r, d: not path_id_text(req).isdigit() and r.status == 404
        and h.status in AUTH_ERRORS + (405,),
    ),
    Rule(
        "a path id past 64 bits: 404 before auth, and DRF's text",
        "A long run of digits matches Django's <int:pk>, so the reference authenticates and "
        "checks permissions and the method first (401/403/405), and its lookup answers \"No Task "
        "matches the given query.\"; Hearth answers 404 {\"detail\": \"Not found.\"} before "
        "authentication and the method check.",
        ANY_ROUTE,
        lambda req, h, r, d: path_id_text(req).isdigit() and len(path_id_text(req)) > 18
        and h.status == 404 and detail(h) == "Not found." and (
            r.status in AUTH_ERRORS + (405,) or str(detail(r)).endswith("matches the given query.")),
    ),
    Rule(
        "session views refuse other methods with 405",
        "The tutorial's login/register/logout views answer every method but POST as a GET "
        "(200 {\"error\": \"Needs a post request ...\"} and the csrftoken cookie; PUT, PATCH "
        "and DELETE first pass Django's CSRF check). Hearth answers 405.",
        SESSION_VIEWS,
        lambda req, h, r, d: req.method not in ("GET", "POST") and h.status == 405 and r.status != 405,
    ),
    Rule(
        "OPTIONS answered 200 with an empty body",
        "DRF answers OPTIONS after authentication and permissions (401/403), with its "
        "metadata JSON ({name, description, renders, parses, actions}); the tutorial's "
        "session views answer it as a GET. Hearth answers every OPTIONS without "
        "Access-Control-Request-Method with 200 and no body.",
        ANY_ROUTE,
        lambda req, h, r, d: req.method == "OPTIONS" and h.status == 200 and h.text == "",
    ),
    # --- error texts ---
    Rule(
        "JWT claim errors: simplejwt's texts",
        "simplejwt checks a token's claims in its own order and words: an access token with no "
        "user_id is \"Token has wrong type\" on refresh and \"Token contained no recognizable "
        "user identification\" in Authorization, one with no jti \"Token has no id\", one with "
        "no token_type \"Token has no type\"; Hearth answers \"Token is invalid\" / \"Given "
        "token not valid for any token type\" with a messages list.",
        ANY_ROUTE,
        lambda req, h, r, d: uses_minted(req, "minted_no_user", "minted_no_jti", "minted_no_type")
        and h.status == r.status == 401,
        frozenset({"body"}),
    ),
    Rule(
        "lone surrogates: a parse error instead of DRF's field error",
        "A JSON string with an unpaired \\ud800-\\udfff escape is valid JSON; DRF refuses it per "
        "field (\"Surrogate characters are not allowed: U+D800.\"), Hearth's parser refuses the "
        "whole body (400 \"JSON parse error - lone leading surrogate ...\").",
        ANY_ROUTE,
        lambda req, h, r, d: h.status == 400 and ("surrogate" in str(detail(h)) or "hex escape" in str(detail(h)))
        and (r.status == 400 or r.status in AUTH_ERRORS),
    ),
    Rule(
        "?format= is ignored",
        "DRF picks the renderer from ?format=: any value but json is 404 {\"detail\": \"Not "
        "found.\"} (before the method check). Hearth ignores the parameter.",
        ANY_ROUTE,
        lambda req, h, r, d: any(k == "format" and v != "json" for k, v in req.query)
        and r.status == 404 and h.status != 404,
    ),
    # --- redirects and headers ---
    Rule(
        "POST to a slash-less path: 404 instead of Django's redirect",
        "Django's APPEND_SLASH answers a request for /api/tasks (no slash) with a 301 to "
        "/api/tasks/ whatever the method; Hearth redirects GET and HEAD but answers 404 "
        "{\"detail\": \"Not found.\"} to other methods.",
        ANY_ROUTE,
        lambda req, h, r, d: req.toggle_slash and req.route.endswith("/") and r.status == 301 and h.status == 404,
    ),
    Rule(
        "Allow leaves out OPTIONS",
        "DRF's Allow on a 405 lists OPTIONS (every APIView answers it); Hearth's does not.",
        ANY_ROUTE,
        lambda req, h, r, d: allow(r) - allow(h) == {"OPTIONS"} and not allow(h) - allow(r),
        frozenset({"header"}),
        "allow",
    ),
]
