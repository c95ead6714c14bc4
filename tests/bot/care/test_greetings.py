"""`veteranbot greetings plan | send --dry-run | set-date`: what the bureau reads before a send."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.commands.greetings import greetings_group
from bot.models import OccasionDate
from publisher.story import SHANGHAI
from tests.e2e.test_greetings_send import COUNTIES, liangshan


@pytest.fixture
def cli(app, session):
    runner = app.test_cli_runner()

    def run(*args: str, app_=None):
        if app_ is None:
            result = runner.invoke(greetings_group, list(args))
        else:  # an app with other settings: its context wins over the test's
            with app_.app_context():
                result = app_.test_cli_runner().invoke(greetings_group, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    return run


@pytest.fixture
def emulated(platform):
    platform.reset_publishing()
    yield platform
    platform.reset_publishing()


def test_plan_2027_lists_the_dates_in_order_and_the_months(cli):
    out = cli("plan", "--year", "2027")
    dated = [line for line in out.splitlines() if line.startswith("2027-") and "  " in line]
    assert dated[:9] == [
        "2027-01-01  new-year  元旦",
        "2027-02-06  spring-festival  春节",
        "2027-07-27  torch-festival  火把节",
        "2027-08-01  army-day  建军节",
        "2027-09-03  victory-day  抗战胜利纪念日",
        "2027-09-15  mid-autumn  中秋",
        "2027-09-30  martyrs-day  烈士纪念日",
        "2027-10-01  national-day  国庆节",
        "2027-10-08  double-ninth  重阳",
    ]
    assert "彝历新年（yi-new-year）2027 年的日期尚未设定" in out
    assert "2027-09  3 次（余 1）  抗战胜利纪念日、中秋、烈士纪念日" in out
    assert "警告" not in out
    assert "合并：烈士纪念日（09-30）并入国庆节（10-01）" in out


def test_plan_warns_when_the_column_and_greetings_exceed_the_quota(make_story, cli):
    for day in (2, 10, 20):
        at = datetime(2027, 9, day, 8, tzinfo=SHANGHAI)
        make_story(f"sept-{day}", publish_at=at, wechat={"mode": "mass"})
    make_story("sept-site", publish_at=datetime(2027, 9, 5, 8, tzinfo=SHANGHAI))  # not a mass send
    out = cli("plan", "--year", "2027")
    assert "2027-09  6 次（超 2）" in out and "专栏《sept-2》" in out
    assert "警告：2027-09 计划群发 6 次，超过每月 4 次" in out
    # Merging 烈士纪念日 into 国庆 saves one; the lowest priority (抗战胜利纪念日) goes next.
    assert "合并：烈士纪念日（09-30）并入国庆节（10-01）" in out
    assert "删除：2027-09 去掉抗战胜利纪念日（victory-day，优先级最低）" in out
    assert "删除：2027-09 去掉中秋" not in out


def test_plan_suggests_the_mid_autumn_merge_and_drops_under_a_lower_quota(cli, make_app):
    strict = make_app(MASS_QUOTA_PER_MONTH="1")
    out = cli("plan", "--year", "2025", app_=strict)
    assert "警告：2025-10 计划群发 3 次，超过每月 1 次" in out
    assert "合并：中秋（10-06）并入国庆节（10-01），相隔 5 天" in out
    assert "删除：2025-10 去掉重阳（double-ninth，优先级最低）" in out
    assert "删除：2025-01 去掉元旦（new-year，优先级最低）" in out


def test_only_active_occasions_are_planned(cli, make_app):
    few = make_app(GREETING_OCCASIONS="army-day,spring-festival,national-day")
    out = cli("plan", "--year", "2027", app_=few)
    assert "建军节" in out and "中秋" not in out and "彝历新年" not in out


def test_set_date_puts_the_yi_new_year_in_the_plan(cli, session):
    assert "2027-11-20" in cli("set-date", "yi-new-year", "2027-11-20")
    cli("set-date", "yi-new-year", "2027-11-22")  # the prefecture changed its mind
    assert session.query(OccasionDate).one().day.isoformat() == "2027-11-22"
    assert "2027-11-22  yi-new-year  彝历新年" in cli("plan", "--year", "2027")


def test_yi_new_year_from_settings(cli, make_app):
    out = cli("plan", "--year", "2026", app_=make_app(YI_NEW_YEAR="2026-11-20,2027-11-21"))
    assert "2026-11-20  yi-new-year  彝历新年" in out


def test_a_dry_run_prints_each_county_text_and_sends_nothing(app, session, cli, emulated):
    liangshan(session, COUNTIES)
    out = cli("send", "spring-festival", "--date", "2027-02-06", "--dry-run")
    for county, phone in COUNTIES.items():
        tag_id = next(i for i, n in emulated.tags.items() if n == f"{county}退役军人")
        assert (
            f"[{county}退役军人 tag_id={tag_id}] clientmsgid=greet-spring-festival-2027-{tag_id}"
            in out
        )
        assert f"{county}退役军人服务中心电话 {phone}" in out
    assert "2027 年春节到了" in out and "试运行：3 个标签" in out
    assert emulated.mass_sends == [] and "cgi-bin/message/mass/sendall" not in emulated.calls
    assert cli("report") == "还没有问候群发记录\n"


def test_national_day_names_a_merged_martyrs_day(app, session, cli, emulated, make_app):
    liangshan(session, {"布拖县": "0834-8421234"})
    merged = make_app(GREETING_OCCASIONS="army-day,national-day,spring-festival")
    out = cli("send", "national-day", "--date", "2027-10-01", "--dry-run", app_=merged)
    assert "在烈士纪念日和国庆节来临之际" in out and "缅怀为国牺牲的英烈" in out


def test_a_countys_own_template_overrides_the_bundled_one(app, session, cli, emulated, tmp_path):
    liangshan(session, {"布拖县": "0834-8421234"})
    own = tmp_path / "content" / "greetings"
    own.mkdir(parents=True)
    (own / "army-day.md").write_text("{{ year }} 年建军节快乐！电话 {{ phone }}", encoding="utf-8")
    out = cli("send", "army-day", "--date", "2027-08-01", "--dry-run")
    assert "2027 年建军节快乐！电话 0834-8421234" in out
