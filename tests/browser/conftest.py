"""Browser tests: the console served over HTTP, driven by headless Chromium through Playwright.

They use Debian's chromium (/usr/bin/chromium, or CHROMIUM), never Playwright's own
browser download. Without it the whole folder is left out with one line saying so;
.ci/run sets REQUIRE_BROWSER_TESTS=1, where a missing browser fails the run instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.sandbox.server import serve_in_thread

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
HINT = "apt-get install -y chromium (or set CHROMIUM to a Chromium binary), then make test"
# A phone in WeChat's browser: its size, and the MicroMessenger mark in its user agent.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 13; V2229A) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.47 NetType/WIFI Language/zh_CN"
    ),
}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
# Where screenshots go when asked for (CONSOLE_SCREENSHOTS=docs/console): the README's.
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS")


def _available() -> bool:
    if not Path(CHROMIUM).is_file():
        return False
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def pytest_collection_modifyitems(config, items):
    """Leave the browser tests out, with one line, when there is no Chromium to run them."""
    browser = [i for i in items if "browser" in i.keywords]
    if not browser or _available():
        return
    if os.environ.get("REQUIRE_BROWSER_TESTS"):
        raise pytest.UsageError(f"browser tests required but no Chromium at {CHROMIUM}: {HINT}")
    config.hook.pytest_deselected(items=browser)
    items[:] = [i for i in items if "browser" not in i.keywords]
    config._browser_skipped = len(browser)


def pytest_terminal_summary(terminalreporter, config):
    skipped = getattr(config, "_browser_skipped", 0)
    if skipped:
        terminalreporter.write_line(
            f"browser tests skipped ({skipped}): no Chromium at {CHROMIUM}; to run them: {HINT}",
            yellow=True,
        )


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture
def served(make_app, committed_db, emulator_url, platform):
    """The app on a loopback port (its own PUBLIC_URL), WeChat's authorisation on the emulator."""
    holder = {}
    server = serve_in_thread(lambda environ, start: holder["app"](environ, start))
    base = f"http://127.0.0.1:{server.server_port}"
    platform.oauth.domains.add(f"127.0.0.1:{server.server_port}")
    holder["app"] = make_app(PUBLIC_URL=base, WECHAT_OAUTH_BASE_URL=emulator_url)
    yield base, holder["app"]
    server.shutdown()
    platform.oauth.domains.discard(f"127.0.0.1:{server.server_port}")


@pytest.fixture
def phone(chromium):
    """A new phone-sized page that WeChat's browser would be."""
    context = chromium.new_context(**PHONE, locale="zh-CN")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def desktop(chromium):
    """A new desktop browser page."""
    context = chromium.new_context(**DESKTOP, locale="zh-CN")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def shoot():
    """Save a full-page screenshot under CONSOLE_SCREENSHOTS, when set (the README's pictures)."""

    def take(page, name: str) -> None:
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)

    return take
