"""The console's tests run the app as https://localhost, signed in through the emulator."""

from __future__ import annotations

import pytest

from tests.fixtures.console import ConsoleUser
from tests.fixtures.factories import StaffFactory, butuo


@pytest.fixture
def app_settings(app_settings, emulator_url, platform):
    """Secure cookies (an https PUBLIC_URL) and WeChat's authorisation on the emulator."""
    platform.oauth.domains.add("localhost")
    return {
        **app_settings,
        "PUBLIC_URL": "https://localhost",
        "WECHAT_OAUTH_BASE_URL": emulator_url,
    }


@pytest.fixture
def user(client):
    """A browser-like console user, not yet signed in."""
    return ConsoleUser(client)


@pytest.fixture
def other_user(app):
    """A second browser, for a second staff member."""
    return ConsoleUser(app.test_client())


@pytest.fixture
def places(session):
    """The sample directory (布拖县, 九都镇 and 11 villages, 四开镇 and 2)."""
    return butuo()


@pytest.fixture
def staff_at(session):
    """Bind a staff member to a station (optionally with a role)."""

    def bind(station, role: str = "", **kw):
        return StaffFactory(station=station, role=role, **kw)

    return bind
