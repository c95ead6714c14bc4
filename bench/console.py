"""Bench: the staff console over a prefecture-sized ledger on PostgreSQL.

    DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/vb_console_bench \\
        .venv/bin/python bench/console.py [--rounds 40] [--keep]

Seeds 712 stations (17 counties, 119 townships, 576 villages), 60,000 veterans
(this month about half contacted), 20,000 requests over the last 120 days in
every state, then signs in a township worker and the prefecture administrator
and times, in process through the WSGI app (routing, queries, templates), the
工作台, the request list with filters, a ledger search and the 统计 page:
p50 and p95 of --rounds calls each after two warm-up calls, and the number of
SQL statements each page ran (the same for every call: no N+1).

The database named in DATABASE_URL is emptied first (its public schema is
dropped): give it a database of its own. Target: p95 < 300 ms on this 2-CPU machine.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import event, insert, text  # noqa: E402

from bot import clock, create_app, db  # noqa: E402
from bot.crypto import FieldCipher  # noqa: E402
from bot.models import Contact, HelpRequest, Staff, Station, Veteran  # noqa: E402

COUNTIES, TOWNSHIPS_PER_COUNTY, STATIONS = 17, 7, 712
VETERANS, REQUESTS = 60_000, 20_000
SURNAMES = "阿吉沙马曲木俄比海来的日杨王李张刘陈"
GIVEN = "木呷拉且伍依阿支日体尔古布哈达说格"
CATEGORIES = ("就业创业", "帮扶解困", "信访", "权益保障", "政策咨询", "其他")
PAGES = {
    "工作台": "/console/",
    "求助列表（未办结·帮扶解困·超期）": "/console/requests?state=open&category=帮扶解困&overdue=1",
    "台账搜索（阿）": "/console/veterans?q=阿",
    "统计": "/console/stats",
}


def seed(session, cipher: FieldCipher, rng: random.Random) -> dict:
    """Stations, staff, veterans, contacts and requests in bulk; the staff to sign in as."""
    stations, villages, townships = [], [], []
    next_id = 1

    def add(code, name, level, parent):
        nonlocal next_id
        stations.append(
            dict(
                id=next_id,
                code=code,
                name=name,
                level=level,
                parent_id=parent,
                head="",
                phone="0834-0000000",
                address="",
                hours="",
            )
        )
        next_id += 1
        return next_id - 1

    counties = [
        add(f"5134{c:02d}", f"第{c}县退役军人服务中心", "county", None)
        for c in range(1, COUNTIES + 1)
    ]
    for county in counties:
        for t in range(TOWNSHIPS_PER_COUNTY):
            townships.append(
                add(f"{county}-{t:02d}", f"第{county}县{t}镇退役军人服务站", "township", county)
            )
    left = STATIONS - len(stations)
    for n in range(left):
        township = townships[n % len(townships)]
        villages.append(add(f"{township}-{n:03d}", f"{n}村退役军人服务站", "village", township))
    session.execute(insert(Station), stations)
    staff = [
        dict(
            id=1,
            station_id=townships[0],
            name="乡镇工作人员",
            openid="o-bench-township",
            role="",
            auth_epoch=0,
            created_at=clock.utcnow(),
        ),
        dict(
            id=2,
            station_id=counties[0],
            name="州管理员",
            openid="o-bench-prefecture",
            role="prefecture",
            auth_epoch=0,
            created_at=clock.utcnow(),
        ),
    ]
    session.execute(insert(Staff), staff)

    now, today = clock.utcnow(), clock.today()
    month_start = today.replace(day=1)
    veterans, contacts = [], []
    token = cipher.encrypt("513429198001010011")  # one cipher text: encryption is not timed
    for n in range(VETERANS):
        station = villages[n % len(villages)]
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        veterans.append(
            dict(
                id=n + 1,
                file_no=f"{station:04d}-{n:05d}",
                seq=n + 1,
                station_id=station,
                name=name,
                gender="男",
                ethnicity="彝族",
                id_cipher=token,
                id_hash=f"bench-{n}",
                birth_year=1970 + n % 30,
                phone=f"139{n:08d}",
                category="退役士兵",
                hardship=rng.random() < 0.05,
                disability=rng.random() < 0.03,
                source="ledger",
                created_at=now,
                updated_at=now,
                village_group="",
                address_cipher="",
                emergency_cipher="",
                plaque_hung=rng.random() < 0.4,
                paired_cipher="",
                volunteer=rng.random() < 0.1,
            )
        )
        if rng.random() < 0.5:
            day = month_start + timedelta(days=rng.randrange(max((today - month_start).days, 1)))
            contacts.append(
                dict(
                    veteran_id=n + 1,
                    staff_id=None,
                    kind=rng.choice(["phone", "visit"]),
                    contacted_on=day,
                    note_cipher="",
                    source="ledger",
                    created_at=now,
                )
            )
    for chunk in range(0, VETERANS, 5000):
        session.execute(insert(Veteran), veterans[chunk : chunk + 5000])
    session.execute(insert(Contact), contacts)

    requests = []
    for n in range(REQUESTS):
        veteran = veterans[rng.randrange(VETERANS)]
        created = now - timedelta(days=rng.uniform(0, 120))
        status = rng.choices(
            ["已提交", "已签收", "办理中", "待补充", "已办结", "已评价"], [8, 5, 10, 3, 30, 44]
        )[0]
        row = dict(
            number=f"QZ{n + 1:06d}",
            openid=f"o-{n}",
            veteran_id=veteran["id"],
            station_id=veteran["station_id"],
            category=rng.choice(CATEGORIES),
            description="家里房子漏雨，想申请帮扶",
            contact_phone="",
            status=status,
            kind="求助",
            created_at=created,
            updated_at=created,
            accept_due_at=created + timedelta(hours=24),
            resolve_due_at=created + timedelta(days=5),
        )
        if status != "已提交":
            row["accepted_at"] = created + timedelta(hours=rng.uniform(0.5, 30))
        if status in ("已办结", "已评价"):
            row["resolved_at"] = created + timedelta(days=rng.uniform(0.5, 7))
        if status == "已评价":
            row["rating"] = rng.choices(["满意", "基本满意", "不满意"], [7, 2, 1])[0]
            row["rated_at"] = row["resolved_at"] + timedelta(hours=5)
        requests.append(row)
    session.execute(insert(HelpRequest), requests)
    session.execute(text("SELECT setval('stations_id_seq', (SELECT max(id) FROM stations))"))
    session.execute(text("SELECT setval('staff_id_seq', 2)"))
    session.execute(text("SELECT setval('veterans_id_seq', (SELECT max(id) FROM veterans))"))
    session.commit()
    session.execute(text("ANALYZE"))
    session.commit()
    return {"乡镇工作人员": 1, "州管理员": 2}


def measure(app, staff_id: int, path: str, rounds: int, engine) -> tuple[float, float, int]:
    """p50 and p95 in ms of GET path as this staff member, and its SQL statements per call."""
    browser = app.test_client()
    with browser.session_transaction(base_url="https://localhost") as s:
        s.update(staff=staff_id, epoch=0, at=int(time.time()), how="bench")
        s.permanent = True
    statements = []

    def count(*_):
        statements.append(1)

    timings = []
    for n in range(rounds + 2):
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        started = time.perf_counter()
        answer = browser.get(path, base_url="https://localhost")
        elapsed = time.perf_counter() - started
        event.remove(engine, "before_cursor_execute", count)
        if answer.status_code != 200:
            raise SystemExit(f"{path}: HTTP {answer.status_code}")
        if n >= 2:
            timings.append(elapsed * 1000)
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    return statistics.median(timings), p95, len(statements)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        raise SystemExit(
            "bench/console.py needs DATABASE_URL=postgresql+psycopg://… (its own database)"
        )
    instance = tempfile.mkdtemp(prefix="bench-console-")
    settings = {
        "INSTANCE_DIR": instance,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench",
        "DATA_KEY": Fernet.generate_key().decode(),
        "PUBLIC_URL": "https://localhost",
    }
    app = create_app(settings)
    with app.app_context():
        engine = db.engine()
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.upgrade(engine)
        started = time.perf_counter()
        who = seed(db.session(), app.extensions["cipher"], random.Random(args.seed))
        print(
            f"seeded {STATIONS} stations, {VETERANS:,} veterans, {REQUESTS:,} requests "
            f"in {time.perf_counter() - started:.0f} s"
        )
    print(f"{'page':<36}{'user':<10}{'p50 ms':>8}{'p95 ms':>8}{'SQL':>5}")
    worst = 0.0
    for page, path in PAGES.items():
        for user, staff_id in who.items():
            p50, p95, queries = measure(app, staff_id, path, args.rounds, engine)
            worst = max(worst, p95)
            print(f"{page:<36}{user:<10}{p50:>8.1f}{p95:>8.1f}{queries:>5}")
    print(f"worst p95 {worst:.0f} ms (target < 300 ms)")
    with app.app_context():
        db.engine().dispose()


if __name__ == "__main__":
    main()
