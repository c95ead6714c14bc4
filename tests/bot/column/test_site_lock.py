"""SITE_DIR is one folder every node serves: one build writes it at a time."""

from __future__ import annotations

import threading

import pytest

from bot import store
from bot.column import publish_state, publishing
from bot.commands.site import site
from tests.fixtures import wiring
from tests.fixtures.publishing import ago, channel_state, editor_notices, publishing_settings


@pytest.fixture
def app_settings(app_settings, tmp_path):
    return {**app_settings, **publishing_settings(tmp_path)}


@pytest.fixture
def other_node_building(app):
    """The site lock, held as another node's build holds it; released at the test's end."""
    with app.app_context():
        held = store.lease(store.client(), publishing.SITE_LOCK, 30)
    assert held is not None
    yield held
    if not held._stopped.is_set():
        held.release()


def test_a_publish_during_another_nodes_build_waits_and_fails_nothing(
    session, platform, make_story, monkeypatch, other_node_building, tmp_path
):
    monkeypatch.setattr(publishing, "SITE_LOCK_WAIT", 0.3)
    make_story("jiudu", publish_at=ago(hours=1))

    publishing.publish_due(*wiring.column())

    site = publish_state.states(session).get(("jiudu", "site"))
    assert site is None or site.state == "pending"  # not built under the other, not failed
    assert not (tmp_path / "site" / "jiudu").exists()
    assert channel_state(session, "jiudu").state == "published"  # WeChat did not wait
    assert editor_notices(platform) == []

    other_node_building.release()
    publishing.publish_due(*wiring.column())
    assert channel_state(session, "jiudu", "site").state == "published"
    assert (tmp_path / "site" / "jiudu" / "index.html").is_file()


def test_a_publish_waits_for_a_short_build_to_finish(
    session, make_story, other_node_building, tmp_path
):
    make_story("jiudu", publish_at=ago(hours=1))
    threading.Timer(0.5, other_node_building.release).start()

    publishing.publish_due(*wiring.column())

    assert channel_state(session, "jiudu", "site").state == "published"
    assert (tmp_path / "site" / "jiudu" / "index.html").is_file()


def test_site_build_refuses_while_another_build_holds_the_site(
    app, make_story, monkeypatch, other_node_building, tmp_path
):
    monkeypatch.setattr(publishing, "SITE_LOCK_WAIT", 0.3)
    make_story("jiudu", publish_at=ago(hours=1))

    result = app.test_cli_runner().invoke(site, ["build"])

    assert result.exit_code == 1
    assert "另一个进程正在生成网站" in result.output
    assert not (tmp_path / "site" / "index.html").exists()
