"""The pages as an OAuth client, over HTTP: sign-in through PAR and the login form, the
session cookie's attributes, sign-out, and the role gates of the portal and the console.

The house serves the Experience layer alone; the layers below point at a closed port, so
whatever passes a gate meets an unreachable Process layer (the console shows that), and
whatever a gate stops never calls below.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from ledgerbridge.bootstrap import open_house
from ledgerbridge.runtime.app_factory import Layer
from ledgerbridge.runtime.security import UserRecord, hash_secret, token_service_of
from ledgerbridge.runtime.settings import AuthSettings, Settings

WEB = "/experience/web/v1"
PASSWORD = "a long demo passphrase"
ACCOUNT = "001000000000007AAA"
# Nothing listens on the discard port: the layers below are unreachable at once.
NOWHERE = "http://127.0.0.1:9"
DEAD_LETTER = "0b7e5b2e-5a40-4a8f-9d7e-3f1f6c1b2a90"
_hashed = functools.cache(hash_secret)


class Pages:
    """A browser's worth of HTTP client (cookies, no automatic redirects) on the house."""

    def __init__(self, app: object, origin: str) -> None:
        self.origin = origin
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
            base_url=origin,
        )

    async def sign_in(
        self, username: str, password: str = PASSWORD, *, next_page: str | None = None
    ) -> httpx.Response:
        """Through /signin, the token service's form and the callback; the last answer."""
        params = {"next": next_page} if next_page else {}
        started = await self.http.get(f"{WEB}/signin", params=params)
        assert started.status_code == 303, started.text
        authorize = started.headers["location"]
        assert authorize.startswith("/auth/authorize?")
        form_page = await self.http.get(authorize)
        assert form_page.status_code == 200
        query = dict(httpx.URL(authorize).params)
        posted = await self.http.post(
            "/auth/authorize",
            data={**query, "username": username, "password": password},
        )
        if posted.status_code != 303:
            return posted
        callback = urlsplit(posted.headers["location"])
        assert f"{callback.scheme}://{callback.netloc}" == self.origin
        return await self.http.get(f"{callback.path}?{callback.query}")


@pytest.fixture
async def house(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    """The Experience layer with the embedded token service and three users; the APIs are
    open unless a test asks for "jwt" (then they take tokens, and the pages still sign in)."""
    callbacks = tuple(
        f"{origin}{WEB}/signin/callback" for origin in ("http://house", "https://house")
    )
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}",
        process_url=NOWHERE,
        system_url=NOWHERE,
        auth_mode=getattr(request, "param", "off"),
        auth=AuthSettings(page_redirect_uris=callbacks),
    )
    async with open_house(settings, layers={Layer.EXPERIENCE}) as opened:
        service = token_service_of(opened.app)
        assert service is not None
        for user in (
            UserRecord("meridian", _hashed(PASSWORD), frozenset({"customer"}), ACCOUNT),
            UserRecord("ops-ada", _hashed(PASSWORD), frozenset({"operator"})),
            UserRecord("root-grace", _hashed(PASSWORD), frozenset({"administrator"})),
        ):
            service.users.register(user)
        yield opened.app


@pytest.fixture
async def pages(house: object) -> AsyncIterator[Pages]:
    browser = Pages(house, "http://house")
    yield browser
    await browser.http.aclose()


def _set_cookie(answer: httpx.Response, name: str) -> str:
    (header,) = [h for h in answer.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    return header


async def test_without_a_session_pages_send_to_sign_in(pages: Pages) -> None:
    """No session: pages redirect to /signin (remembering where to come back), htmx and
    writes get 401 with HX-Redirect, and nothing below is asked."""
    for page in ("/console", "/portal/orders", "/portal/orders/801000000000001AAA"):
        answer = await pages.http.get(f"{WEB}{page}")
        assert answer.status_code == 303, page
        assert answer.headers["location"] == f"{WEB}/signin?next={WEB}{page}"
    fragment = await pages.http.get(f"{WEB}/console/dead-letters", headers={"HX-Request": "true"})
    assert fragment.status_code == 401
    assert fragment.headers["hx-redirect"].startswith(f"{WEB}/signin")
    write = await pages.http.post(f"{WEB}/console/dead-letters/{DEAD_LETTER}/discard")
    assert write.status_code == 401


@pytest.mark.parametrize("house", ["off", "jwt"], indirect=True)
async def test_sign_in_sets_a_lax_httponly_session_and_sign_out_clears_it(pages: Pages) -> None:
    """Over plain http the session cookie is lb_session: HttpOnly, SameSite=Lax, Path=/, not
    Secure; sign-out deletes it and the console asks for sign-in again."""
    answer = await pages.sign_in("ops-ada")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{WEB}/console"
    cookie = _set_cookie(answer, "lb_session").lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    assert "secure" not in cookie
    console = await pages.http.get(f"{WEB}/console")
    assert console.status_code == 200
    assert 'data-user="ops-ada"' in console.text
    # The layer below is unreachable: the page says so instead of failing.
    assert "does not answer" in console.text
    out = await pages.http.post(f"{WEB}/signout")
    assert out.status_code == 303
    assert "max-age=0" in _set_cookie(out, "lb_session").lower()
    assert (await pages.http.get(f"{WEB}/console")).status_code == 303


async def test_over_https_the_session_is_a_secure_host_cookie(house: object) -> None:
    """Over https both cookies carry the __Host- prefix and Secure."""
    browser = Pages(house, "https://house")
    try:
        started = await browser.http.get(f"{WEB}/signin")
        pending = _set_cookie(started, "__Host-lb_signin").lower()
        assert "secure" in pending
        assert "httponly" in pending
        answer = await browser.sign_in("root-grace")
        assert answer.status_code == 303
        session = _set_cookie(answer, "__Host-lb_session").lower()
        assert "secure" in session
        assert "samesite=lax" in session
        assert "path=/" in session
        assert "domain" not in session
    finally:
        await browser.http.aclose()


async def test_a_customer_may_not_open_the_console(pages: Pages) -> None:
    """A customer lands on the portal, and gets 403 pages from the console and its parts."""
    answer = await pages.sign_in("meridian")
    assert answer.headers["location"] == f"{WEB}/portal/orders"
    assert (await pages.http.get(f"{WEB}/console")).status_code == 403
    letters = await pages.http.get(f"{WEB}/console/dead-letters", headers={"HX-Request": "true"})
    assert letters.status_code == 403
    assert "You may not open this page" in letters.text


async def test_staff_may_not_open_the_customer_portal(pages: Pages) -> None:
    """An operator has no customer: the portal's orders are 403 for them."""
    await pages.sign_in("ops-ada")
    assert (await pages.http.get(f"{WEB}/portal/orders")).status_code == 403


@pytest.mark.parametrize("house", ["off", "jwt"], indirect=True)
async def test_only_an_administrator_may_discard_a_dead_letter(pages: Pages) -> None:
    """An operator's discard is stopped at the gate (403); an administrator's passes it and
    reaches the dead-letters API (here unreachable); a write without htmx is refused."""
    await pages.sign_in("ops-ada")
    url = f"{WEB}/console/dead-letters/{DEAD_LETTER}/discard"
    htmx = {"HX-Request": "true"}
    refused = await pages.http.post(url, data={"reason": "duplicate"}, headers=htmx)
    assert refused.status_code == 403
    await pages.http.post(f"{WEB}/signout")
    await pages.sign_in("root-grace")
    plain = await pages.http.post(url, data={"reason": "duplicate"})
    assert plain.status_code == 403
    passed = await pages.http.post(url, data={"reason": "duplicate"}, headers=htmx)
    assert passed.status_code not in {401, 403}


async def test_a_wrong_password_or_a_forged_session_signs_nobody_in(pages: Pages) -> None:
    """A wrong password gets the form again and no session; a made-up session cookie, or a
    callback without the sign-in's own cookie and state, counts for nothing."""
    refused = await pages.sign_in("meridian", "not the password")
    assert refused.status_code == 401
    assert "lb_session" not in pages.http.cookies
    pages.http.cookies.set("lb_session", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
    assert (await pages.http.get(f"{WEB}/portal/orders")).status_code == 303
    stray = await pages.http.get(f"{WEB}/signin/callback", params={"code": "x", "state": "y"})
    assert stray.status_code == 400
    assert "lb_session" not in stray.headers.get("set-cookie", "")


async def test_sign_in_returns_to_a_local_page_only(pages: Pages) -> None:
    """``next`` sends the user back to one of the pages, never to another site."""
    answer = await pages.sign_in("root-grace", next_page="https://evil.example/")
    assert answer.headers["location"] == f"{WEB}/console"
    await pages.http.post(f"{WEB}/signout")
    answer = await pages.sign_in("root-grace", next_page=f"{WEB}/console#breakers")
    assert answer.headers["location"] == f"{WEB}/console#breakers"
