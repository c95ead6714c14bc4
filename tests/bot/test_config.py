"""Settings: read once from the environment and .env, validated, with embedded defaults."""

from __future__ import annotations

import stat

import pytest
from cryptography.fernet import Fernet

from bot.config import ConfigError, load_config, prepare_instance, read_environment


def settings(tmp_path, **env) -> dict:
    raw = read_environment({"INSTANCE_DIR": str(tmp_path), **env}, dotenv=str(tmp_path / ".env"))
    prepare_instance(raw)
    return load_config(raw)


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


def test_loading_settings_writes_nothing_and_names_the_first_run_step(tmp_path):
    instance = tmp_path / "fresh"
    raw = read_environment({"INSTANCE_DIR": str(instance)}, dotenv=str(tmp_path / ".env"))
    with pytest.raises(ConfigError, match=r"SECRET_KEY: .*veteranbot db upgrade"):
        load_config(raw)
    assert not instance.exists()


def test_keys_set_in_the_environment_are_never_written_to_files(tmp_path):
    settings(tmp_path, SECRET_KEY="s" * 32, DATA_KEY=Fernet.generate_key().decode())
    assert not (tmp_path / "secret.key").exists()
    assert not (tmp_path / "data.key").exists()


def test_real_credentials_leave_the_sandbox_and_use_wechat(tmp_path):
    cfg = settings(tmp_path, WECHAT_APP_ID="wx1", WECHAT_APP_SECRET="s", WECHAT_TOKEN="t")
    assert cfg["SANDBOX"] is False
    assert cfg["WECHAT_API_BASE_URL"] == "https://api.weixin.qq.com"


def test_one_off_commands_link_to_the_port_of_the_last_run(tmp_path):
    assert settings(tmp_path)["SITE_URL"] == "http://127.0.0.1:5000/column"
    (tmp_path / "run.json").write_text('{"port": 5710, "pid": 1, "url": "http://127.0.0.1:5710"}')
    assert settings(tmp_path)["SITE_URL"] == "http://127.0.0.1:5710/column"
    assert settings(tmp_path)["PORT"] == 5710
    assert settings(tmp_path, PORT="6000")["SITE_URL"] == "http://127.0.0.1:6000/column"


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
        ({"IMPORT_MAX_BYTES": "10MB"}, "IMPORT_MAX_BYTES: must be a whole number"),
        ({"IMPORT_MAX_FAULTS": "0"}, "IMPORT_MAX_FAULTS: must be a whole number above 0"),
        ({"LOCK_SECONDS": "0"}, "LOCK_SECONDS: must be a whole number above 0"),
        ({"WEBHOOK_MAX_CLOCK_SKEW_SECONDS": "5m"}, "WEBHOOK_MAX_CLOCK_SKEW"),
        ({"OUTBOX_KEEP_DAYS": "7"}, "OUTBOX_KEEP_DAYS: must be a whole number of days, 14"),
        ({"OUTBOX_KEEP_DAYS": "ninety"}, "OUTBOX_KEEP_DAYS"),
        ({"WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s"}, "WECHAT_TOKEN"),
        ({"CASE_ACCEPT_HOURS": "0"}, "CASE_ACCEPT_HOURS: must be a whole number above 0"),
        ({"CASE_RESOLVE_DAYS_BY_CATEGORY": "看病:3"}, "CASE_RESOLVE_DAYS_BY_CATEGORY"),
        ({"CASE_RESOLVE_DAYS_BY_CATEGORY": "就业创业:soon"}, "CASE_RESOLVE_DAYS_BY_CATEGORY"),
        ({"PUBLIC_URL": "example.org"}, "PUBLIC_URL"),
        ({"VETERAN_TAG": "凉山州退役军人服务对象"}, "VETERAN_TAG: 1 to 21 bytes"),
    ],
)
def test_bad_settings_refuse_to_start_and_name_the_setting(tmp_path, env, named):
    with pytest.raises(ConfigError, match=named):
        settings(tmp_path, **env)


def test_case_limits_per_category_and_for_petitions(tmp_path):
    from bot.requests.settings import CaseSettings

    cfg = settings(tmp_path, CASE_RESOLVE_DAYS_BY_CATEGORY="就业创业:7, 政策咨询：3")
    cases = CaseSettings.from_config(cfg)
    assert [cases.resolve_within(c).days for c in ("就业创业", "政策咨询", "其他", "信访")] == [
        7,
        3,
        5,
        60,
    ]
    assert cases.case_url("QZ000001") == "http://127.0.0.1:5000/console/requests/QZ000001"


def test_a_template_mapping_that_cannot_work_stops_the_start(tmp_path):
    with pytest.raises(ConfigError, match="station is Chinese text and cannot go in"):
        settings(
            tmp_path,
            WECHAT_TEMPLATE_HELP_REQUEST="tpl-1",
            WECHAT_TEMPLATE_HELP_REQUEST_FIELDS="number:character_string1,station:character_string2",
        )


def test_a_real_template_id_needs_its_field_mapping(tmp_path):
    with pytest.raises(ConfigError, match="WECHAT_TEMPLATE_CARE_REMINDER_FIELDS: required"):
        settings(
            tmp_path,
            WECHAT_APP_ID="wx1",
            WECHAT_APP_SECRET="s",
            WECHAT_TOKEN="t",
            WECHAT_TEMPLATE_CARE_REMINDER="tpl-care",
        )


def test_the_sandbox_maps_every_notice_onto_its_example_template(tmp_path):
    templates = settings(tmp_path)["TEMPLATES"]
    assert templates["help_request"].template_id == "sandbox-help"
    assert dict(templates["help_request"].keys)["number"] == "character_string1"
    assert all(t.template_id for t in templates.values())
