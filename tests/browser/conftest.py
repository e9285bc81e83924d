"""Browser tests: Debian's Chromium, headless, driven by Playwright, against the house served
on a local port over fresh sandboxes. Screenshots go to ``artifacts/browser/``.

The Chromium comes from Debian's packages (installed here when missing), never from a
Playwright browser download.
"""

from __future__ import annotations

import functools
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from ledgerbridge.demo.servers import serving
from ledgerbridge.runtime.security import UserRecord, hash_secret, token_service_of
from tests.browser.world import Customer, World, open_world

CHROMIUM = "/usr/bin/chromium"
WEB = "/experience/web/v1"
# The users' password in these tests; argon2 hashes it once per run.
PASSWORD = "browser-tests-only-passphrase"
_hashed = functools.cache(hash_secret)
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
# As root on a closed network: no sandbox, and none of Chromium's own calls home.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _ensure_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    apt = shutil.which("apt-get")
    if apt is None:
        pytest.fail(f"{CHROMIUM} is missing and apt-get is not there to install it")
    subprocess.run(  # noqa: S603 - fixed arguments
        [apt, "install", "-y", "-q", "chromium", "chromium-driver"], check=True
    )


@dataclass
class Site:
    """The house served on a local port, the world behind it, and a browser page."""

    url: str
    world: World
    page: Page

    async def shot(self, name: str) -> Path:
        """A full-page screenshot of where the page is now, under the run's artifacts."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    def user(self, role: str, customer: Customer | None = None) -> str:
        """A new user with ``role`` (a customer is bound to ``customer``'s CRM account)."""
        service = token_service_of(self.world.house.app)
        assert service is not None
        username = f"{role}-{uuid.uuid4().hex[:6]}"
        account = customer.crm_id if customer is not None else None
        service.users.register(
            UserRecord(username, _hashed(PASSWORD), frozenset({role}), account_id=account)
        )
        return username

    async def sign_in(self, username: str, *, landing: str, password: str = PASSWORD) -> None:
        """Sign in through the pages' sign-in and the token service's form; wait for the page
        the user lands on (a path under the pages, like ``/console``)."""
        await self.page.goto(f"{self.url}{WEB}/signin?next={WEB}{landing}")
        await self.page.get_by_label("Username").fill(username)
        await self.page.get_by_label("Password").fill(password)
        await self.page.get_by_role("button", name="Sign in").click()
        if password == PASSWORD:
            await self.page.wait_for_url(f"**{WEB}{landing}")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium under Playwright."""
    _ensure_chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def site(tmp_path: Path, browser: Browser) -> AsyncIterator[Site]:
    """The house over fresh sandboxes on a local port, and a fresh browser page."""
    # The sign-in's callback must be registered before the house serves: pick its port now.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    origin = f"http://127.0.0.1:{port}"
    async with (
        open_world(tmp_path, page_origin=origin) as world,
        serving(world.house.app, port=port) as url,
    ):
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield Site(url=url, world=world, page=page)
        finally:
            await context.close()
