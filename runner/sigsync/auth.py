"""Who may open the dashboard and its read API (DESIGN §15).

Bound to a loopback address (127.0.0.0/8, ::1, localhost) the dashboard is open to the
clients on this machine, unless a password or token is given. A request that a proxy passed
on is not from this machine, whatever address it comes from: one carrying a forwarding header
(X-Forwarded-For, Forwarded, X-Real-IP), or whose client a trusted proxy (--trusted-proxy)
names as another address, gets the locked 401. Bound to anything else it requires a login:

- `--dashboard-password` (or SIGSYNC_DASHBOARD_PASSWORD): typed into the login form, which
  answers with a session cookie (HttpOnly, SameSite=Strict, Secure when the request came over
  https, 12 hours) naming a session of the server-side registry: logging out (or a restart of
  serve) ends it, and an open live stream of it ends with it;
- `--dashboard-token` (or SIGSYNC_DASHBOARD_TOKEN): for scripts, as `Authorization: Bearer
  TOKEN` (the login form takes it too).

Neither is kept in clear: the password as scrypt with a random salt, the token as SHA-256;
what is presented is compared with hmac.compare_digest. Webhook tokens open nothing here (they
are another secret, checked only by POST /webhook/{token}). Without either secret, a
dashboard bound to a non-loopback address stays locked (401) and says how to open it.

Logins: at most LOGIN_FAILURES attempts per client address in LOGIN_WINDOW seconds, each
counted before its password is hashed (and forgiven when it succeeds), so that parallel
guesses cannot pass the limit; at most HASHING_AT_ONCE hashes run at a time. The login and
logout forms are refused from another site (same_origin: Sec-Fetch-Site when the browser sends
it, else Origin against the Host header, so that it works behind a TLS proxy).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import json
import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

COOKIE = "sigsync_dashboard"
SESSION_SECONDS = 12 * 3600
MAX_SESSIONS = 10_000          # sessions kept; past it the oldest is dropped (its browser logs in again)
LOGIN_FAILURES = 10
LOGIN_WINDOW = 300.0
HASHING_AT_ONCE = 2
MAX_TRACKED = 10_000
MAX_FORM_BYTES = 4096
FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")
DEFAULT_PORTS = {"http": "80", "https": "443"}
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


@dataclass(frozen=True)
class Identity:
    """How a request is let in: "open" (loopback, no secret), "token" or "session" (with its id)."""
    way: str
    session: str | None = None


class Auth:
    def __init__(self, host: str, password: str | None = None, token: str | None = None,
                 trusted: list[str] | tuple[str, ...] = ()):
        self.local = is_loopback(host)
        self.has_secret = bool(password or token)
        self.required = self.has_secret or not self.local
        self.trusted = [ipaddress.ip_network(n, strict=False) for n in trusted]
        self._salt = secrets.token_bytes(16)
        self._password = self._scrypt(password) if password else None
        self._token = hashlib.sha256(token.encode()).digest() if token else None
        self._key = secrets.token_bytes(32)
        self._attempts: dict[str, list[float]] = {}
        self._sessions: dict[str, float] = {}  # session id -> expiry (time.time()), oldest first
        self.hashing = asyncio.Semaphore(HASHING_AT_ONCE)

    def _scrypt(self, secret: str) -> bytes:
        return hashlib.scrypt(secret.encode(), salt=self._salt, n=2**14, r=8, p=1, dklen=32)

    def describe(self) -> str:
        if not self.required:
            return "open on loopback (no login; not to requests a proxy forwards)"
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

    @staticmethod
    def forwarded(request) -> bool:
        """A proxy passed this request on (whoever the proxy is, the client is not on this machine)."""
        return any(name in request.headers for name in FORWARDING_HEADERS)

    def identify(self, request) -> Identity | None:
        """How this request is let in, or None (401)."""
        if not self.has_secret:
            # open only to a client on this machine: bound to loopback, and neither forwarded by a
            # proxy on this host (which may be passing the world on) nor resolved elsewhere by one
            if (self.local and request.client is not None and is_loopback(request.client.host)
                    and not self.forwarded(request)):
                return Identity("open")
            return None
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            return Identity("token") if self._token_ok(header[7:].strip()) else None
        session = self._session_id(request.cookies.get(COOKIE, ""))
        return Identity("session", session) if session is not None else None

    def authenticated(self, request) -> bool:
        return self.identify(request) is not None

    # -- same origin (the login and logout forms) ----------------------------------------------

    def _peer_trusted(self, request) -> bool:
        """The connection came from a --trusted-proxy (uvicorn then resolved the client from its
        X-Forwarded-For: the client it names is the one that proxy reported)."""
        if not self.trusted or request.client is None:
            return False
        chain = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
        if not chain:
            return self._is_trusted(request.client.host)
        for hop in reversed(chain):   # uvicorn's rule: the nearest address that is not a trusted proxy
            if not self._is_trusted(hop):
                return hop == request.client.host
        return chain[0] == request.client.host

    def _is_trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    def same_origin(self, request) -> bool:
        """Not a form posted by another site. The browser's Sec-Fetch-Site when it sends one
        (same-origin, or none: typed by the user); else Origin's host[:port] against the Host
        header (a TLS proxy passes Host on; X-Forwarded-Host only from a trusted proxy); a
        request with neither header is not a browser's (curl): nothing a page could forge."""
        site = request.headers.get("sec-fetch-site")
        if site is not None:
            return site.strip().lower() in ("same-origin", "none")
        origin = request.headers.get("origin")
        if origin is None:
            return True
        scheme, _, rest = origin.strip().partition("://")
        if scheme.lower() not in DEFAULT_PORTS:
            return False  # "null" (a sandboxed or opaque origin) included
        wanted = _authority(rest, DEFAULT_PORTS[scheme.lower()])
        hosts = [request.headers.get("host", "")]
        if self._peer_trusted(request):
            hosts += [h.split(",")[0] for h in request.headers.getlist("x-forwarded-host")]
        return wanted is not None and any(_authority(h, DEFAULT_PORTS[scheme.lower()]) == wanted for h in hosts)

    # -- sessions ----------------------------------------------------------------------------------

    def _sign(self, body: bytes) -> str:
        return _b64(hmac.new(self._key, body, hashlib.sha256).digest())

    def new_session(self) -> str:
        """A new session in the registry; returns its cookie value (signed: id and expiry)."""
        now = time.time()
        if len(self._sessions) >= MAX_SESSIONS:
            self._sessions = {k: v for k, v in self._sessions.items() if v > now}
            while len(self._sessions) >= MAX_SESSIONS:
                del self._sessions[next(iter(self._sessions))]  # the oldest
        session = secrets.token_urlsafe(18)
        expires = int(now) + SESSION_SECONDS
        self._sessions[session] = expires
        body = json.dumps({"sid": session, "exp": expires}, separators=(",", ":")).encode()
        return _b64(body) + "." + self._sign(body)

    def _cookie_session(self, value: str) -> str | None:
        """The session id a cookie names, when its signature is ours (alive or not)."""
        if not value or len(value) > 300 or value.count(".") != 1:
            return None
        body_text, signature = value.split(".")
        try:
            body = _unb64(body_text)
        except ValueError:
            return None
        if not hmac.compare_digest(self._sign(body), signature):
            return None
        try:
            session = json.loads(body)["sid"]
        except (ValueError, KeyError, TypeError):
            return None
        return session if isinstance(session, str) else None

    def _session_id(self, value: str) -> str | None:
        session = self._cookie_session(value)
        return session if session is not None and self.session_alive(session) else None

    def session_alive(self, session: str) -> bool:
        expires = self._sessions.get(session)
        if expires is None:
            return False
        if expires <= time.time():
            self._sessions.pop(session, None)
            return False
        return True

    def end_session(self, request) -> str | None:
        """Log out: the session of the request's cookie is revoked; returns its id."""
        session = self._cookie_session(request.cookies.get(COOKIE, ""))
        if session is not None:
            self._sessions.pop(session, None)
        return session

    def set_cookie(self, response, secure: bool) -> None:
        response.set_cookie(COOKIE, self.new_session(), max_age=SESSION_SECONDS, path="/", httponly=True,
                            samesite="strict", secure=secure)

    @staticmethod
    def clear_cookie(response, secure: bool) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=secure)

    # -- the login form ----------------------------------------------------------------------------

    def begin_attempt(self, client: str | None) -> float | None:
        """Count a login attempt of this address now, before its password is hashed (so that
        parallel guesses are counted as they come); None when the address is over the limit."""
        now = time.monotonic()
        key = client or "-"
        if len(self._attempts) > MAX_TRACKED:
            self._attempts = {k: v for k, v in self._attempts.items() if v and now - v[-1] < LOGIN_WINDOW}
        recent = [t for t in self._attempts.get(key, []) if now - t < LOGIN_WINDOW]
        if len(recent) >= LOGIN_FAILURES:
            self._attempts[key] = recent
            return None
        recent.append(now)
        self._attempts[key] = recent
        return now

    def forgive_attempt(self, client: str | None, attempt: float) -> None:
        """A successful login is not a failure: its attempt is taken back."""
        recent = self._attempts.get(client or "-", [])
        if attempt in recent:
            recent.remove(attempt)

    def check_secret(self, form: dict[str, str]) -> bool:
        """True when the form's secret is the dashboard password or token (slow: run it off the loop)."""
        presented = form.get("password", "")
        return self.has_secret and (self._password_ok(presented) | self._token_ok(presented))


def _authority(text: str, default_port: str) -> str | None:
    """host:port of an Origin's or Host header's authority ("Example.com" -> "example.com:443"), else None."""
    text = text.strip()
    if not text or len(text) > 300:
        return None
    try:
        parts = urlsplit("//" + text)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        return None
    return f"{parts.hostname.rstrip('.')}:{port if port else default_port}"


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
