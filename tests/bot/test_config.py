"""Settings: read once from the environment and .env, validated, with embedded defaults."""

from __future__ import annotations

import stat

import pytest

from bot.config import ConfigError, load_config, read_environment


def settings(tmp_path, **env) -> dict:
    return load_config(
        read_environment({"INSTANCE_DIR": str(tmp_path), **env}, dotenv=str(tmp_path / ".env"))
    )


def test_embedded_defaults_need_nothing(tmp_path):
    cfg = settings(tmp_path)
    assert cfg["SANDBOX"] is True
    assert cfg["DATABASE_URL"] == f"sqlite:///{tmp_path / 'veteranbot.db'}"
    assert cfg["WECHAT_API_BASE_URL"] == "http://127.0.0.1:5001"
    assert cfg["REDIS_URL"] == ""


def test_generated_data_key_is_private_and_stable(tmp_path):
    first = settings(tmp_path)["DATA_KEY"]
    key_file = tmp_path / "data.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert settings(tmp_path)["DATA_KEY"] == first


def test_real_credentials_leave_the_sandbox_and_use_wechat(tmp_path):
    cfg = settings(tmp_path, WECHAT_APP_ID="wx1", WECHAT_APP_SECRET="s", WECHAT_TOKEN="t")
    assert cfg["SANDBOX"] is False
    assert cfg["WECHAT_API_BASE_URL"] == "https://api.weixin.qq.com"


def test_dotenv_is_read_and_the_environment_wins(tmp_path):
    (tmp_path / ".env").write_text("PORT=6000\nSITE_URL=https://example.org/col/\n")
    cfg = settings(tmp_path, PORT="7000")
    assert cfg["PORT"] == 7000
    assert cfg["SITE_URL"] == "https://example.org/col"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"WECHAT_ENCODING_AES_KEY": "short"}, "WECHAT_ENCODING_AES_KEY"),
        ({"DATA_KEY": "not-a-key"}, "DATA_KEY"),
        ({"PORT": "eighty"}, "PORT"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL"),
        ({"WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s"}, "WECHAT_TOKEN"),
    ],
)
def test_bad_settings_refuse_to_start_and_name_the_setting(tmp_path, env, named):
    with pytest.raises(ConfigError, match=named):
        settings(tmp_path, **env)
