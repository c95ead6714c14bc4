"""The client's address behind a proxy: X-Forwarded-For believed as far as TRUSTED_PROXIES says."""

from __future__ import annotations

import logging

import pytest

# A forged entry the client wrote, then what nginx appends: the address it saw.
FORWARDED = "203.0.113.66, 198.51.100.7"
PROXY = "127.0.0.1"


def _refused_from(application, caplog) -> str:
    """Post an unsigned call through the proxy's address; return the address the app logged."""
    client = application.test_client()
    with caplog.at_level(logging.WARNING, logger="bot.wechat.views"):
        answer = client.post(
            "/wechat?signature=forged&timestamp=1&nonce=n",
            data=b"<xml/>",
            headers={"X-Forwarded-For": FORWARDED, "X-Forwarded-Proto": "https"},
            environ_base={"REMOTE_ADDR": PROXY},
        )
    assert answer.status_code == 403
    (line,) = [r.getMessage() for r in caplog.records if "refused webhook call" in r.getMessage()]
    return line.split(" from ", 1)[1].split(":", 1)[0]


def test_without_trusted_proxies_the_forwarded_header_is_ignored(app, caplog):
    assert _refused_from(app, caplog) == PROXY


def test_one_trusted_proxy_gives_the_address_it_saw_not_what_the_client_wrote(make_app, caplog):
    assert _refused_from(make_app(TRUSTED_PROXIES="1"), caplog) == "198.51.100.7"


def test_two_trusted_proxies_reach_one_entry_further(make_app, caplog):
    # A load balancer in front of nginx: its entry is the client's.
    assert _refused_from(make_app(TRUSTED_PROXIES="2"), caplog) == "203.0.113.66"


@pytest.mark.parametrize("value", ["one", "-1"])
def test_trusted_proxies_must_be_a_whole_number(make_app, value):
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        make_app(TRUSTED_PROXIES=value)
