"""The emulator's stable_token keeps WeChat's rules: one token in normal mode, forces limited."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import APP_ID, APP_SECRET


@pytest.fixture
def stable(app, emulator_url):
    """Ask the emulator for a token as any caller would; returns its JSON answer."""

    def ask(force: bool = False) -> dict:
        body = {"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET}
        body["force_refresh"] = force
        return requests.post(f"{emulator_url}/cgi-bin/stable_token", json=body, timeout=5).json()

    return ask


def tags_with(emulator_url, token: str) -> dict:
    url = f"{emulator_url}/cgi-bin/tags/get"
    answer = requests.get(url, params={"access_token": token}, timeout=5)
    return answer.json()


def test_normal_mode_returns_the_same_token_until_its_last_five_minutes(stable, platform):
    first = stable()
    assert stable()["access_token"] == first["access_token"]

    platform.tokens.age(7200 - 299)  # 299 s left: WeChat has renewed it
    renewed = stable()

    assert renewed["access_token"] != first["access_token"]
    assert renewed["expires_in"] == 7200


def test_the_old_token_works_until_it_expires_then_answers_42001(stable, platform, emulator_url):
    old = stable()["access_token"]
    platform.tokens.age(7200 - 100)
    stable()  # renewed

    assert "tags" in tags_with(emulator_url, old)
    platform.tokens.age(100)
    assert tags_with(emulator_url, old)["errcode"] == 42001


def test_a_force_invalidates_the_previous_token(stable, emulator_url):
    old = stable()["access_token"]
    new = stable(force=True)["access_token"]

    assert new != old
    assert tags_with(emulator_url, old)["errcode"] == 40001
    assert "tags" in tags_with(emulator_url, new)


def test_a_force_within_30_seconds_of_the_last_refreshes_nothing(stable, platform):
    first = stable(force=True)["access_token"]
    platform.tokens.age(29)
    assert stable(force=True)["access_token"] == first

    platform.tokens.age(1)
    assert stable(force=True)["access_token"] != first
    assert platform.tokens.forced == 2


def test_the_21st_force_of_a_day_answers_45009(stable, platform):
    # Every force counts, also one too soon to refresh anything.
    for _ in range(20):
        assert "access_token" in stable(force=True)
    assert stable(force=True)["errcode"] == 45009
    assert platform.tokens.forced == 1
    assert "access_token" in stable()  # normal mode is not limited by it
