"""Who may open the dashboard (DESIGN §15), on a real `sigsync serve --host 0.0.0.0` (not loopback
only) reached over real HTTP: without a login every page and every /api route (the original
system's routes and the live stream included) answers 401; the password opens a session
(HttpOnly, SameSite=Strict cookie, Secure over https) that logging out ends (its saved cookie and
its open live streams too), the dashboard token opens the API as a Bearer token, webhook tokens
open nothing; without any secret the dashboard stays locked; the webhook still works; loopback
needs no login, unless a proxy forwarded the request; the login form works behind a TLS proxy
and refuses other sites; parallel guesses do not pass the failed-login limit."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from starlette.requests import Request

from dashboard_helpers import public_serving
from sigsync.auth import LOGIN_FAILURES, Auth
from sigsync.dashboard import LEGACY
from test_serve_helpers import create_token, heartbeat, serving

PASSWORD = "correct horse battery staple"
TOKEN = "dash-token-0123456789abcdef"
PAGES = ["/", "/signals", "/signals/NQ1%21/20251212_042500000_BULLISH", "/cancelled", "/gaps", "/runs", "/rejected",
         "/signals?status=active"]
API = ["/api/signals", "/api/signals/NQ1%21/20251212_042500000_BULLISH", "/api/cancelled", "/api/gaps",
       "/api/health", "/api/runs", "/api/rejected", "/api/live", *LEGACY]
# what each page answers once logged in, on this module's empty registry (its one signal page names
# a signal that does not exist)
LOGGED_IN = {path: 404 if "20251212_042500000_BULLISH" in path else 200
             for path in PAGES + [p for p in API if p != "/api/live"]}


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
    answered = {path: c.get(path).status_code for path in LOGGED_IN}
    assert answered == LOGGED_IN
    assert "no signal 20251212_042500000_BULLISH" in c.get("/api/signals/NQ1%21/20251212_042500000_BULLISH").text
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
        # forwarded from this machine too: a proxy passed it on (and may pass on whatever it is told)
        local = {"X-Forwarded-For": "127.0.0.1"}
        answer = httpx.get(f"{serve.url}/api/signals", headers=local, timeout=10)
        assert answer.status_code == 401 and "--dashboard-password" in answer.json()["message"]
        assert serve.get("/api/health").status_code == 200   # not forwarded: this machine


@pytest.mark.parametrize("header,value", [("X-Forwarded-For", "8.8.8.8"), ("X-Forwarded-For", "127.0.0.1"),
                                          ("Forwarded", "for=8.8.8.8;proto=https"), ("X-Real-IP", "8.8.8.8")])
def test_on_loopback_without_a_trusted_proxy_a_forwarded_request_is_locked(module_db, header, value):
    # serve on 127.0.0.1, no secret, no --trusted-proxy, behind a proxy that forwards "/": its
    # visitors come from 127.0.0.1 and would all look local
    with serving(module_db) as serve:
        for path in ("/api/signals", "/api/health", "/api/live", "/all-signals"):
            answer = httpx.get(f"{serve.url}{path}", headers={header: value}, timeout=10)
            assert answer.status_code == 401 and "--dashboard-password" in answer.json()["message"], path
        page = httpx.get(f"{serve.url}/signals", headers={header: value}, timeout=10)
        assert page.status_code == 401 and "--dashboard-password" in page.text and "data-key" not in page.text
        assert serve.get("/api/health").status_code == 200 and serve.get("/signals").status_code == 200


# -- behind a TLS proxy ------------------------------------------------------------------------------

def test_a_login_through_a_tls_proxy_is_accepted_and_another_site_is_refused(server):
    behind = {"Origin": "https://signals.example.com", "Host": f"127.0.0.1:{server.port}"}  # nginx's default Host
    answer = client(server).post("/login", data={"password": PASSWORD}, headers={**behind,
                                                                                "Sec-Fetch-Site": "same-origin"})
    assert answer.status_code == 303 and "sigsync_dashboard=" in answer.headers["set-cookie"]
    for site in ("cross-site", "same-site"):
        answer = client(server).post("/login", data={"password": PASSWORD}, headers={**behind, "Sec-Fetch-Site": site})
        assert answer.status_code == 403 and "set-cookie" not in answer.headers, site
    # typed in the address bar or a bookmark
    assert client(server).post("/login", data={"password": PASSWORD},
                               headers={**behind, "Sec-Fetch-Site": "none"}).status_code == 303


def test_without_sec_fetch_site_origin_is_compared_with_the_host_header(server):
    def post(**headers):
        return client(server).post("/login", data={"password": PASSWORD}, headers=headers).status_code

    # the proxy passes the Host on (nginx: proxy_set_header Host $host; Caddy does by default)
    assert post(Origin="https://signals.example.com", Host="signals.example.com") == 303
    assert post(Origin="https://signals.example.com", Host="Signals.Example.com:443") == 303
    assert post(Origin=f"http://127.0.0.1:{server.port}") == 303
    assert post(Origin="https://signals.example.com", Host="signals.example.com:8443") == 403
    assert post(Origin="https://evil.example", Host="signals.example.com") == 403
    assert post(Origin="null") == 403
    # X-Forwarded-Host is believed only from a --trusted-proxy (this server has none)
    assert post(Origin="https://evil.example", **{"X-Forwarded-Host": "evil.example"}) == 403
    # no Origin and no Sec-Fetch-Site: not a browser (curl), nothing a page could forge
    assert post() == 303


def forged_request(headers: dict, client: str) -> Request:
    return Request({"type": "http", "method": "POST", "path": "/login", "query_string": b"", "scheme": "http",
                    "client": (client, 40000), "server": ("127.0.0.1", 8080),
                    "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]})


def test_x_forwarded_host_is_believed_only_from_a_trusted_proxy():
    auth = Auth("127.0.0.1", "pw", trusted=["10.0.0.0/8"])
    headers = {"Origin": "https://signals.example.com", "Host": "10.1.2.3:8080",
               "X-Forwarded-Host": "signals.example.com", "X-Forwarded-For": "8.8.8.8"}
    # from the proxy: uvicorn resolved the client to the address the proxy reported
    assert auth.same_origin(forged_request(headers, "8.8.8.8"))
    # not from the proxy: uvicorn left the client as it connected
    assert not auth.same_origin(forged_request(headers, "9.9.9.9"))
    assert not Auth("127.0.0.1", "pw").same_origin(forged_request(headers, "8.8.8.8"))
    no_chain = {k: v for k, v in headers.items() if k != "X-Forwarded-For"}
    assert auth.same_origin(forged_request(no_chain, "10.0.0.7"))
    assert not auth.same_origin(forged_request(no_chain, "8.8.8.8"))


def test_the_cookie_is_secure_when_a_trusted_proxy_says_the_request_came_over_https(module_db):
    with public_serving(module_db, "--dashboard-password", PASSWORD, "--trusted-proxy", "127.0.0.1") as serve:
        tls = client(serve).post("/login", data={"password": PASSWORD},
                                 headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
        assert tls.status_code == 303 and "secure" in tls.headers["set-cookie"].lower()
        plain = client(serve).post("/login", data={"password": PASSWORD})
        assert plain.status_code == 303 and "secure" not in plain.headers["set-cookie"].lower()
    with public_serving(module_db, "--dashboard-password", PASSWORD) as serve:  # not from a trusted proxy
        forged = client(serve).post("/login", data={"password": PASSWORD}, headers={"X-Forwarded-Proto": "https"})
        assert forged.status_code == 303 and "secure" not in forged.headers["set-cookie"].lower()


def test_serve_believes_x_forwarded_host_from_its_trusted_proxy(module_db):
    # a proxy that passes neither Host nor Sec-Fetch-Site on, but says the host it was asked for
    behind = {"Origin": "https://signals.example.com", "X-Forwarded-Host": "signals.example.com",
              "X-Forwarded-For": "203.0.113.9"}
    with public_serving(module_db, "--dashboard-password", PASSWORD, "--trusted-proxy", "127.0.0.1") as serve:
        answer = client(serve).post("/login", data={"password": PASSWORD}, headers=behind)
        assert answer.status_code == 303
    with public_serving(module_db, "--dashboard-password", PASSWORD) as serve:
        assert client(serve).post("/login", data={"password": PASSWORD}, headers=behind).status_code == 403


# -- sessions end ----------------------------------------------------------------------------------

def test_a_saved_cookie_opens_nothing_after_its_logout(server):
    c = login(server, PASSWORD)
    saved = c.cookies.get("sigsync_dashboard")
    other = login(server, PASSWORD)   # another browser's session
    replay = httpx.Client(base_url=server.url, timeout=10, cookies={"sigsync_dashboard": saved})
    assert replay.get("/api/health").status_code == 200
    assert c.post("/logout").status_code == 303
    for path in ("/api/health", "/api/signals", "/signals", "/api/live"):
        assert replay.get(path).status_code == 401, path
    assert other.get("/api/health").status_code == 200  # only that session ended


def test_an_open_live_stream_ends_with_its_session(server):
    c = login(server, PASSWORD)
    cookie = c.cookies.get("sigsync_dashboard")
    opened, ended = threading.Event(), threading.Event()
    chunks: list[bytes] = []

    def listen() -> None:
        try:
            with httpx.stream("GET", f"{server.url}/api/live", cookies={"sigsync_dashboard": cookie},
                              timeout=httpx.Timeout(10, read=60)) as stream:
                assert stream.status_code == 200
                for chunk in stream.iter_bytes():
                    chunks.append(chunk)
                    opened.set()
        except httpx.HTTPError:
            pass
        ended.set()

    threading.Thread(target=listen, daemon=True).start()
    assert opened.wait(10) and b"connected" in b"".join(chunks)
    time.sleep(0.3)
    assert not ended.is_set()
    started = time.monotonic()
    assert c.post("/logout").status_code == 303
    assert ended.wait(10), "the live stream outlived its session"
    assert time.monotonic() - started < 5


# -- failed logins ----------------------------------------------------------------------------------

def test_parallel_wrong_passwords_do_not_pass_the_failed_login_limit(module_db):
    async def guess(c: httpx.AsyncClient, i: int) -> int:
        return (await c.post("/login", data={"password": f"wrong guess {i}"})).status_code

    async def storm(url: str) -> list[int]:
        limits = httpx.Limits(max_connections=40, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as c:
            return await asyncio.gather(*(guess(c, i) for i in range(40)))

    with public_serving(module_db, "--dashboard-password", PASSWORD) as serve:
        answers = asyncio.run(storm(serve.url))
        assert set(answers) <= {401, 429}, answers
        assert answers.count(401) <= LOGIN_FAILURES and answers.count(429) >= 40 - LOGIN_FAILURES, answers
        # the address is now over the limit: even the right password waits
        assert client(serve).post("/login", data={"password": PASSWORD}).status_code == 429


def test_a_successful_login_is_not_counted_as_a_failure(module_db):
    with public_serving(module_db, "--dashboard-password", PASSWORD) as serve:
        for _ in range(LOGIN_FAILURES + 5):
            assert client(serve).post("/login", data={"password": PASSWORD}).status_code == 303
        for _ in range(LOGIN_FAILURES - 1):
            assert client(serve).post("/login", data={"password": "wrong"}).status_code == 401
        assert client(serve).post("/login", data={"password": PASSWORD}).status_code == 303
