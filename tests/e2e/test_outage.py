"""Redis or the database going away mid-traffic: the veteran hears "busy", never a 500."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.conftest import APP_ID, TOKEN
from tests.fixtures.driver import WeChatDriver
from tests.fixtures.proxy import CuttableProxy

BUSY = "系统繁忙，请稍后再试"


def driver_for(application) -> WeChatDriver:
    return WeChatDriver(application.test_client(), TOKEN, APP_ID)


def test_redis_going_away_and_coming_back(app, make_app, redis_url):
    proxy = CuttableProxy(redis_url)
    port = proxy.start()
    db_number = urlparse(redis_url).path.strip("/") or "0"
    application = make_app(REDIS_URL=f"redis://127.0.0.1:{port}/{db_number}")
    wechat = driver_for(application)
    client = application.test_client()

    assert "登记" in wechat.send_text("o-outage", "菜单")
    proxy.cut()
    assert wechat.send_text("o-outage", "菜单") == BUSY
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json["redis"].startswith("error")

    proxy.start()
    assert "登记" in wechat.send_text("o-outage", "菜单")
    assert client.get("/healthz").status_code == 200
    proxy.cut()


@pytest.mark.usefixtures("committed_db")
def test_database_going_away_mid_traffic(app, make_app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a network cut needs a database server; SQLite is covered below")
    parsed = urlparse(database_url)
    proxy = CuttableProxy(f"tcp://{parsed.hostname}:{parsed.port or 5432}")
    port = proxy.start()
    url = database_url.replace(parsed.netloc, f"{parsed.username or 'root'}@127.0.0.1:{port}")
    application = make_app(DATABASE_URL=url)
    wechat = driver_for(application)

    assert "欢迎" in wechat.send_event("o-db", "subscribe")
    proxy.cut()
    assert wechat.send_event("o-db2", "subscribe") == BUSY
    assert application.test_client().get("/healthz").status_code == 503
    proxy.start()
    assert "欢迎" in wechat.send_event("o-db3", "subscribe")
    proxy.cut()


def test_unreachable_database_gets_busy_and_unhealthy(app, make_app, tmp_path):
    application = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    wechat = driver_for(application)
    assert wechat.send_event("o-nodb", "subscribe") == BUSY
    health = application.test_client().get("/healthz")
    assert health.status_code == 503
    assert health.json["database"].startswith("error") and health.json["redis"] == "ok"


def test_health_names_the_database_and_redis_when_both_answer(client):
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json == {
        "status": "ok",
        "database": "ok",
        "redis": "ok",
        "outbox_oldest_pending_seconds": None,
        "templates": "ok",
    }
