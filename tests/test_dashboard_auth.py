"""Who may open the dashboard (DESIGN §15), on a real `sigsync serve --host 0.0.0.0` (not loopback
only) reached over real HTTP: without a login every page and every /api route (the original
system's routes and the live stream included) answers 401; the password opens a session
(HttpOnly, SameSite=Strict cookie), the dashboard token opens the API as a Bearer token,
webhook tokens open nothing; without any secret the dashboard stays locked; the webhook still
works; loopback needs no login."""

from __future__ import annotations

import httpx
import pytest

from dashboard_helpers import public_serving
from sigsync.dashboard import LEGACY
from test_serve_helpers import create_token, heartbeat, serving

PASSWORD = "correct horse battery staple"
TOKEN = "dash-token-0123456789abcdef"
PAGES = ["/", "/signals", "/signals/NQ1%21/20251212_042500000_BULLISH", "/cancelled", "/gaps", "/runs", "/rejected",
         "/signals?status=active"]
API = ["/api/signals", "/api/signals/NQ1%21/20251212_042500000_BULLISH", "/api/cancelled", "/api/gaps",
       "/api/health", "/api/runs", "/api/rejected", "/api/live", *LEGACY]


@pytest.fixture(scope="module")
def webhook_token(module_db):
    return create_token(module_db, "indicator", "auth test")


@pytest.fixture(scope="module")
def server(module_db, webhook_token):
    with public_serving(module_db, "--dashboard-password", PASSWORD, "--dashboard-token", TOKEN) as serve:
        yield serve


def client(server) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=10, follow_redirects=False)


def login(server, secret: str, **headers) -> httpx.Client:
    c = client(server)
    c.post("/login", data={"password": secret, "next": "/signals"}, headers=headers)
    return c


@pytest.mark.parametrize("path", PAGES + API)
def test_without_a_login_every_page_and_route_is_401(server, path):
    answer = client(server).get(path)
    assert answer.status_code == 401, (path, answer.status_code)
    if path.startswith("/api/") or path in LEGACY:
        assert answer.json()["code"] == "unauthorized"
    else:  # the login form, and nothing of the page
        assert 'name="password"' in answer.text and "data-key" not in answer.text and "figures" not in answer.text


def test_a_webhook_token_opens_nothing(server, webhook_token):
    as_bearer = client(server)
    for path in ("/", "/api/signals", "/api/health"):
        assert as_bearer.get(path, headers={"Authorization": f"Bearer {webhook_token}"}).status_code == 401
    form = login(server, webhook_token)
    assert form.cookies.get("sigsync_dashboard") is None
    assert form.get("/api/signals").status_code == 401
    # and it still does what it is for
    assert server.post(webhook_token, heartbeat("auth")).status_code == 200


def test_the_password_opens_a_session_with_a_strict_cookie(server):
    c = client(server)
    answer = c.post("/login", data={"password": PASSWORD, "next": "/signals"})
    assert answer.status_code == 303 and answer.headers["location"] == "/signals"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; behind TLS (https scheme) it is Secure
    assert PASSWORD not in cookie
    for path in PAGES + ["/api/signals", "/api/health", "/all-signals"]:
        assert c.get(path).status_code in (200, 404), path
    assert c.get("/api/signals").status_code == 200
    logged_out = c.post("/logout")
    assert logged_out.status_code == 303
    forged = httpx.Client(base_url=server.url, timeout=10, cookies={"sigsync_dashboard": "forged.value"})
    assert forged.get("/api/signals").status_code == 401


def test_a_wrong_password_is_refused_and_counted(server):
    c = client(server)
    answer = c.post("/login", data={"password": "wrong"})
    assert answer.status_code == 401 and "not the dashboard password" in answer.text
    assert "set-cookie" not in answer.headers


def test_a_login_from_another_origin_is_refused(server):
    answer = client(server).post("/login", data={"password": PASSWORD}, headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403 and "set-cookie" not in answer.headers


def test_the_dashboard_token_opens_the_api_as_a_bearer_token(server):
    c = client(server)
    assert c.get("/api/health", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert c.get("/api/health", headers={"Authorization": f"Bearer {TOKEN}x"}).status_code == 401
    assert c.get("/api/health", headers={"Authorization": f"Bearer {PASSWORD}"}).status_code == 401


def test_an_open_redirect_after_login_is_not_followed(server):
    # each a URL a browser would take to another host (a backslash reads as a slash)
    for target in ("//evil.example/", "/\\evil.example/", "/\\/evil.example/", "https://evil.example/",
                   "/\tevil", " /signals"):
        answer = client(server).post("/login", data={"password": PASSWORD, "next": target})
        assert answer.status_code == 303 and answer.headers["location"] == "/", target
    answer = client(server).post("/login", data={"password": PASSWORD, "next": "/signals?status=closed"})
    assert answer.headers["location"] == "/signals?status=closed"


def test_without_any_secret_a_public_dashboard_stays_locked_and_says_how_to_open_it(module_db, webhook_token):
    with public_serving(module_db) as serve:
        page = httpx.get(f"{serve.url}/", timeout=10)
        assert page.status_code == 401 and "--dashboard-password" in page.text
        api = httpx.get(f"{serve.url}/api/signals", timeout=10)
        assert api.status_code == 401 and "--dashboard-password" in api.json()["message"]
        assert httpx.post(f"{serve.url}/login", data={"password": ""}, timeout=10).status_code == 401
        assert any("locked" in line for line in serve.stderr)
        assert serve.post(webhook_token, heartbeat("locked")).status_code == 200


def test_on_loopback_no_login_is_needed(module_db):
    with serving(module_db) as serve:
        assert serve.get("/api/health").status_code == 200
        assert serve.get("/").status_code == 200


def test_on_loopback_a_client_forwarded_by_a_proxy_from_elsewhere_needs_a_login(module_db, webhook_token):
    # a proxy on the same host (trusted: its X-Forwarded-For is believed) that forwards more than /webhook
    with serving(module_db, "--trusted-proxy", "127.0.0.1") as serve:
        remote = {"X-Forwarded-For": "8.8.8.8"}
        assert httpx.get(f"{serve.url}/api/signals", headers=remote, timeout=10).status_code == 401
        page = httpx.get(f"{serve.url}/", headers=remote, timeout=10)
        assert page.status_code == 401 and "--dashboard-password" in page.text
        local = {"X-Forwarded-For": "127.0.0.1"}
        assert httpx.get(f"{serve.url}/api/signals", headers=local, timeout=10).status_code == 200
        assert serve.get("/api/health").status_code == 200
