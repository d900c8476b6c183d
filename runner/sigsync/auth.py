"""Who may open the dashboard and its read API (DESIGN §15).

Bound to a loopback address (127.0.0.0/8, ::1, localhost) the dashboard is open to the
clients on this machine, unless a password or token is given: a client that a trusted proxy
(--trusted-proxy) forwards from elsewhere (X-Forwarded-For) is not one of them and gets 401.
Bound to anything else it requires a login:

- `--dashboard-password` (or SIGSYNC_DASHBOARD_PASSWORD): typed into the login form, which
  answers with a session cookie (HMAC-SHA256 signed with a key made at start, HttpOnly,
  SameSite=Strict, Secure behind TLS, 12 hours);
- `--dashboard-token` (or SIGSYNC_DASHBOARD_TOKEN): for scripts, as `Authorization: Bearer
  TOKEN` (the login form takes it too).

Neither is kept in clear: the password as scrypt with a random salt, the token as SHA-256;
what is presented is compared with hmac.compare_digest. Webhook tokens open nothing here (they
are another secret, checked only by POST /webhook/{token}). Without either secret, a
dashboard bound to a non-loopback address stays locked (401) and says how to open it. Failed
logins are limited per client address (LOGIN_FAILURES per LOGIN_WINDOW seconds).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import re
import secrets
import time
from urllib.parse import parse_qs

COOKIE = "sigsync_dashboard"
SESSION_SECONDS = 12 * 3600
LOGIN_FAILURES = 10
LOGIN_WINDOW = 300.0
MAX_TRACKED = 10_000
MAX_FORM_BYTES = 4096
# where a login may send the browser back to: a path of this server, nothing a browser would
# read as another host ("//evil", "/\\evil") and nothing with control characters or spaces
LOCAL_PATH = re.compile(r"/(?![/\\])[^\\\x00-\x20\x7f]{0,999}")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Auth:
    def __init__(self, host: str, password: str | None = None, token: str | None = None):
        self.local = is_loopback(host)
        self.has_secret = bool(password or token)
        self.required = self.has_secret or not self.local
        self._salt = secrets.token_bytes(16)
        self._password = self._scrypt(password) if password else None
        self._token = hashlib.sha256(token.encode()).digest() if token else None
        self._key = secrets.token_bytes(32)
        self._failures: dict[str, list[float]] = {}

    def _scrypt(self, secret: str) -> bytes:
        return hashlib.scrypt(secret.encode(), salt=self._salt, n=2**14, r=8, p=1, dklen=32)

    def describe(self) -> str:
        if not self.required:
            return "open on loopback (no login)"
        if not self.has_secret:
            return "locked: bound to a non-loopback address without --dashboard-password or --dashboard-token"
        ways = [w for w, on in (("password", self._password), ("token", self._token)) if on]
        return "login required (" + " or ".join(ways) + ")"

    # -- checking a request ----------------------------------------------------------------------

    def _token_ok(self, presented: str) -> bool:
        if self._token is None or not presented or len(presented) > 512:
            return False
        return hmac.compare_digest(hashlib.sha256(presented.encode()).digest(), self._token)

    def _password_ok(self, presented: str) -> bool:
        if self._password is None or not presented or len(presented) > 512:
            return False
        return hmac.compare_digest(self._scrypt(presented), self._password)

    def authenticated(self, request) -> bool:
        if not self.has_secret:
            # open only to a client on this machine: bound to loopback, a proxy on the same host
            # (--trusted-proxy) may still forward the world, and its X-Forwarded-For tells
            return self.local and request.client is not None and is_loopback(request.client.host)
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            return self._token_ok(header[7:].strip())
        return self._session_ok(request.cookies.get(COOKIE, ""))

    # -- sessions ----------------------------------------------------------------------------------

    def _sign(self, body: bytes) -> str:
        return _b64(hmac.new(self._key, body, hashlib.sha256).digest())

    def session_cookie(self) -> str:
        body = json.dumps({"exp": int(time.time()) + SESSION_SECONDS, "n": _b64(secrets.token_bytes(9))},
                          separators=(",", ":")).encode()
        return _b64(body) + "." + self._sign(body)

    def _session_ok(self, value: str) -> bool:
        if not value or len(value) > 300 or value.count(".") != 1:
            return False
        body_text, signature = value.split(".")
        try:
            body = _unb64(body_text)
        except ValueError:
            return False
        if not hmac.compare_digest(self._sign(body), signature):
            return False
        try:
            expires = json.loads(body)["exp"]
        except (ValueError, KeyError, TypeError):
            return False
        return isinstance(expires, int) and expires > time.time()

    def set_cookie(self, response, secure: bool) -> None:
        response.set_cookie(COOKIE, self.session_cookie(), max_age=SESSION_SECONDS, path="/", httponly=True,
                            samesite="strict", secure=secure)

    @staticmethod
    def clear_cookie(response, secure: bool) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=secure)

    # -- the login form ----------------------------------------------------------------------------

    def throttled(self, client: str | None) -> bool:
        now = time.monotonic()
        recent = [t for t in self._failures.get(client or "-", []) if now - t < LOGIN_WINDOW]
        return len(recent) >= LOGIN_FAILURES

    def _failed(self, client: str | None) -> None:
        now = time.monotonic()
        if len(self._failures) > MAX_TRACKED:
            self._failures = {k: v for k, v in self._failures.items() if v and now - v[-1] < LOGIN_WINDOW}
        times = [t for t in self._failures.get(client or "-", []) if now - t < LOGIN_WINDOW]
        times.append(now)
        self._failures[client or "-"] = times[-LOGIN_FAILURES:]

    def login(self, form: dict[str, str], client: str | None) -> bool:
        """True when the form's secret is the dashboard password or token (counted when not)."""
        presented = form.get("password", "")
        ok = self.has_secret and (self._password_ok(presented) | self._token_ok(presented))
        if not ok:
            self._failed(client)
        return ok


def safe_next(target: str | None) -> str:
    """`target` when it is a path of this server, else "/" (no open redirect after a login)."""
    return target if target and LOCAL_PATH.fullmatch(target) else "/"


def parse_form(body: bytes) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (bounded); the first value of each name."""
    if len(body) > MAX_FORM_BYTES:
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    try:
        fields = parse_qs(text, keep_blank_values=True, max_num_fields=10)
    except ValueError:
        return {}
    return {k: v[0] for k, v in fields.items()}
