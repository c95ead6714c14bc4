"""factory_boy factories over the app's real session: stations, staff and veterans.

They make valid data (ID numbers with a correct check character, villages
under townships under a county, with coordinates), so a test states only
what matters to it. Rows are committed as the app commits: to the test's
savepoint, or for real under the committed_db fixture, where the Celery
worker reads them through its own connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import factory
from factory.alchemy import SQLAlchemyModelFactory

from bot import db
from bot.crypto import cipher
from bot.models import HelpRequest, Staff, Station, Veteran
from bot.records.files import format_file_no
from bot.records.identity import check_char, parse_id_number


def id_number(born: date = date(1985, 3, 12), seq: int = 123, region: str = "513429") -> str:
    """A valid GB 11643 ID number; an odd seq is a man, an even one a woman."""
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)


class _Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = db.session
        sqlalchemy_session_persistence = "commit"


class CountyFactory(_Base):
    class Meta:
        model = Station

    code = factory.Sequence(lambda n: f"5134{29 + n:02d}")
    name = "布拖县退役军人服务中心"
    level = "county"
    head = "阿说拉哈"
    phone = "0834-8421234"
    address = "布拖县特木里镇"
    hours = "周一至周五 8:30-12:00 14:30-18:00"
    lat, lon = 27.706, 102.812


class TownshipFactory(_Base):
    class Meta:
        model = Station

    parent = factory.SubFactory(CountyFactory)
    code = factory.Sequence(lambda n: f"51342910{n:04d}")
    name = "九都镇退役军人服务站"
    level = "township"
    head = "吉克伍呷"
    phone = factory.Sequence(lambda n: f"0834-84{n:05d}")
    address = "九都镇政府一楼"
    hours = "周一至周五 9:00-17:00"
    lat, lon = 27.630, 102.950


class VillageFactory(_Base):
    class Meta:
        model = Station

    parent = factory.SubFactory(TownshipFactory)
    code = factory.Sequence(lambda n: f"513429100{n:05d}")
    name = factory.Sequence(lambda n: f"第{n}村退役军人服务站")
    level = "village"
    head = factory.Sequence(lambda n: f"村站长{n}")
    phone = factory.Sequence(lambda n: f"1381234{n:04d}")
    address = factory.LazyAttribute(lambda o: f"{o.name.removesuffix('退役军人服务站')}村委会")
    hours = "每天 8:00-18:00"
    lat = factory.Sequence(lambda n: 27.60 + n * 0.01)
    lon = factory.Sequence(lambda n: 102.90 + n * 0.01)


class StaffFactory(_Base):
    class Meta:
        model = Staff

    station = factory.SubFactory(VillageFactory)
    name = factory.Sequence(lambda n: f"工作人员{n}")
    openid = factory.Sequence(lambda n: f"o-staff-{n}")


class VeteranFactory(_Base):
    """A file with a valid, encrypted ID number; pass id_value= to choose it."""

    class Meta:
        model = Veteran
        exclude = ("id_value", "parsed")

    id_value = factory.Sequence(lambda n: id_number(seq=(2 * n + 1) % 1000))
    parsed = factory.LazyAttribute(lambda o: parse_id_number(o.id_value))
    station = factory.SubFactory(VillageFactory)
    seq = factory.Sequence(lambda n: n + 1)
    file_no = factory.LazyAttribute(lambda o: format_file_no(o.station.code, o.seq))
    name = factory.Sequence(lambda n: f"退役军人{n}")
    gender = factory.LazyAttribute(lambda o: o.parsed.gender)
    birth_date = factory.LazyAttribute(lambda o: o.parsed.birth_date)
    id_cipher = factory.LazyAttribute(lambda o: cipher().encrypt(o.id_value))
    id_hash = factory.LazyAttribute(lambda o: cipher().lookup_hash(o.id_value))
    phone = factory.Sequence(lambda n: f"1391234{n:04d}")
    enlist_year, discharge_year = 2003, 2008
    openid = factory.Sequence(lambda n: f"o-veteran-{n}")
    source = "wechat"


class HelpRequestFactory(_Base):
    class Meta:
        model = HelpRequest

    number = factory.Sequence(lambda n: f"QZT{n:05d}")
    openid = factory.Sequence(lambda n: f"o-asker-{n}")
    station = factory.SubFactory(VillageFactory)
    category = "帮扶解困"
    description = "家里房子漏雨，想申请帮扶"


JIUDU_VILLAGES = (
    "好谷村",
    "九都村",
    "阿布村",
    "拉达村",
    "日火村",
    "洛古村",
    "补尔村",
    "瓦都村",
    "吉乃村",
    "火烈村",
    "依撒村",
)


@dataclass
class Directory:
    """The sample's shape: 布拖县, 九都镇 with 11 villages, and 四开镇 with two."""

    county: Station
    jiudu: Station
    villages: dict[str, Station]
    sikai: Station
    sikai_villages: dict[str, Station]


def butuo() -> Directory:
    """Build the sample directory, villages spread a few kilometres apart."""
    county = CountyFactory(code="513429")
    jiudu = TownshipFactory(parent=county, code="513429104", name="九都镇退役军人服务站")
    villages = {
        name: VillageFactory(
            parent=jiudu,
            code=f"513429104{201 + i}",
            name=f"{name}退役军人服务站",
            lat=27.60 + i * 0.02,
            lon=102.92 + i * 0.02,
        )
        for i, name in enumerate(JIUDU_VILLAGES)
    }
    sikai = TownshipFactory(
        parent=county, code="513429105", name="四开镇退役军人服务站", lat=27.80, lon=102.70
    )
    sikai_villages = {
        name: VillageFactory(
            parent=sikai,
            code=f"513429105{201 + i}",
            name=f"{name}退役军人服务站",
            lat=27.85 + i * 0.02,
            lon=102.65,
        )
        for i, name in enumerate(("交莫村", "四开村"))
    }
    return Directory(county, jiudu, villages, sikai, sikai_villages)
