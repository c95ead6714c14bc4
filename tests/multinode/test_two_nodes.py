"""Two web nodes, two workers, two beats on one database and one Redis; one of each half killed.

50 veterans register and file help requests across both web nodes while a story
becomes due; halfway through, one worker and one web node are SIGKILLed (their
whole process groups, as a lost machine). Then every staff notice has reached its
staff member exactly once (by the emulator's count), the story was drafted and
published once and is on the shared site, only one beat sent anything, and the
nodes kept no files of their own.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
import requests
from sqlalchemy import func, select

from bot import clock, db
from bot.models import HelpRequest, Staff, Veteran
from bot.sandbox.platform import Webhook
from bot.wechat import outbox
from bot.wechat.client import client
from tests.conftest import APP_ID, TOKEN
from tests.faults.plant import Plant, reset, settings_for
from tests.fixtures import factories
from tests.fixtures.driver import WeChatDriver
from tests.fixtures.publishing import ahead
from tests.multinode.conftest import Nodes, wait_for, wait_web

# Starts servers and processes, and waits out beat's first minute: `make test-slow`, and .ci/run.
pytestmark = pytest.mark.slow

VETERANS = 50
THREADS = 8
SLUG = "two-nodes"
TITLE = "两台服务器上的服务站"
SURNAMES = ("吉克", "阿苏", "沙马", "俄木", "曲比")
GIVEN = ("阿木", "拉哈", "日布", "伍呷", "石布", "木呷", "尔古", "子哈", "达体", "约达")
VILLAGES = ("好谷", "九都村")
HELP = ("求助", "1", "家里房子漏雨，想申请帮扶")
# WeChat waits 5 s for an answer before it tries the message again.
WECHAT_WAIT = 5


class Balancer:
    """nginx in front of both web nodes, with WeChat's retry behind it.

    A call goes to the veteran's node; when that node does not answer (refused,
    reset, or no answer within 5 s), WeChat sends the same message (same MsgId)
    again, and nginx hands it to the node still up.
    """

    def __init__(self, urls: list[str], first: int):
        self.order = [urls[first], *urls[:first], *urls[first + 1 :]]

    def post(self, path, query_string, data, content_type):
        last: Exception | None = None
        for base in self.order:
            try:
                answer = requests.post(
                    base + path,
                    params=query_string,
                    data=data,
                    headers={"Content-Type": content_type},
                    timeout=WECHAT_WAIT,
                )
            except requests.RequestException as exc:
                last = exc
                continue
            return Answer(answer)
        raise AssertionError(f"no web node answered: {last!r}")


class Answer:
    """A requests response read the way WeChatDriver reads a Flask test response."""

    def __init__(self, response: requests.Response):
        self.status_code = response.status_code
        self.data = response.content
        self._text = response.text

    def get_data(self, as_text: bool = False):
        return self._text if as_text else self.data


def veteran(index: int) -> dict:
    name = SURNAMES[index % len(SURNAMES)] + GIVEN[index // len(SURNAMES) % len(GIVEN)]
    born = date(1975 + index % 10, 1 + index % 12, 1 + index % 28)
    return {
        "openid": f"o-two-nodes-{index:02d}",
        "name": name,
        "id": factories.id_number(born=born, seq=100 + index),
        "phone": f"139{index:08d}",
        "village": VILLAGES[index % 2],
    }


def register_and_file(driver: WeChatDriver, who: dict) -> str | None:
    """Register, then file a request; each tried once more if the node died mid-way.

    Returns the request's number from the last reply (None when it never came).
    """
    openid = who["openid"]
    steps = ("登记", "同意", who["name"], who["id"], who["phone"], "九都", who["village"])
    for _ in range(2):
        replies = driver.converse(openid, *steps, "2003", "2008", "彝族", "确认")
        if "登记成功" in (replies[-1] or "") or "已经登记" in (replies[0] or ""):
            break
    for _ in range(2):
        last = driver.converse(openid, *HELP)[-1] or ""
        if "求助编号" in last:
            return last
    return None


def seed(plant: Plant) -> None:
    """九都镇 and its villages; staff at 好谷村, 九都村 and the township: two notices a request."""
    with plant.app.app_context():
        butuo = factories.butuo()
        factories.StaffFactory(station=butuo.jiudu, openid="o-staff-jiudu")
        for name in ("好谷村", "九都村"):
            village = butuo.villages[name]
            factories.StaffFactory(station=village, openid=f"o-staff-{village.code}")
        db.session().close()


def counts(plant: Plant) -> tuple[int, int, int]:
    """Veterans registered, help requests filed, staff bound."""
    with plant.app.app_context():
        session = db.session()
        found = tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (Veteran, HelpRequest, Staff)
        )
        session.close()
        return found


def settled(plant: Plant) -> bool:
    channels = plant.channel_states()
    return (
        channels == {(SLUG, "wechat"): "published", (SLUG, "site"): "published"}
        and plant.notices_received() == plant.notices_due()
        and set(plant.outbox_states()) == {"sent"}
    )


def only_left_in_sending(plant: Plant) -> bool:
    """The story is out and nothing waits but rows a killed sender left in sending."""
    channels = plant.channel_states()
    return set(channels.values()) == {"published"} and set(plant.outbox_states()) <= {
        "sent",
        "sending",
    }


def test_two_of_everything_one_half_killed_tells_each_staff_member_once(
    tmp_path, platform, emulator_url, redis_server, shared_database, make_story
):
    settings = settings_for(tmp_path, shared_database, redis_server.url(), emulator_url)
    settings["INSTANCE_DIR"] = str(tmp_path / "ledger")  # the test's own reading app
    reset(platform)
    plant = Plant(settings, platform)
    plant.migrate()
    seed(plant)
    # 九都镇 of the seeded directory: publishing checks a story's station against it.
    make_story(SLUG, title=TITLE, publish_at=ahead(seconds=20), station="513429104")
    nodes = Nodes(tmp_path / "nodes", {k: v for k, v in settings.items() if k != "INSTANCE_DIR"})
    try:
        webs = [nodes.start("web", n) for n in (1, 2)]
        # On two machines the workers' names differ by host; here by node.
        workers = [nodes.start("worker", n, f"--hostname worker{n}@%h") for n in (1, 2)]
        beats = [nodes.start("beat", n) for n in (1, 2)]
        for web in webs:
            wait_web(web)
        # PUBLISHJOBFINISH goes to /wechat through the balancer: the node left standing.
        platform.webhook = Webhook(f"{webs[1].url}/wechat", TOKEN, "gh_test")
        assert wait_for(lambda: all("ready" in w.output() for w in workers), 60), [
            w.output()[-2000:] for w in workers
        ]

        half, done = threading.Event(), []

        def one(index: int) -> str | None:
            balancer = Balancer([w.url for w in webs], index % 2)
            number = register_and_file(WeChatDriver(balancer, TOKEN, APP_ID), veteran(index))
            done.append(index)
            if len(done) >= VETERANS // 2:
                half.set()
            return number

        with ThreadPoolExecutor(THREADS) as pool:
            filed = pool.map(one, range(VETERANS))
            assert half.wait(120)
            workers[0].kill()  # mid-work: its claimed rows stay in sending, its tasks unacked
            webs[0].kill()  # mid-conversation: WeChat's retries reach the other node
            numbers = list(filed)

        assert all(numbers), f"{numbers.count(None)} veterans got no request number"
        registered, requests_filed, _staff = counts(plant)
        assert registered == VETERANS and requests_filed >= VETERANS

        # Beat's first publish-due comes a minute after it started; the story is out after it.
        wait_for(lambda: settled(plant) or only_left_in_sending(plant), 100, every=1)
        print(f"multinode: traffic and beat settled at {plant.outbox_states()}")
        if not settled(plant):
            # Rows the killed worker claimed are due again outbox.STUCK after the claim
            # and beat's next sweep sends them under the same client_msg_id. Run that
            # sweep as it will run then, rather than wait two minutes.
            with plant.app.app_context():
                later = clock.utcnow() + outbox.STUCK + timedelta(seconds=1)
                outbox.deliver(db.session(), client(), now=later)

        due, received = plant.notices_due(), plant.notices_received()
        assert len(due) == 2 * requests_filed and set(due.values()) == {1}
        assert received == due  # every staff notice once: none lost, none twice
        assert set(plant.outbox_states()) == {"sent"}

        assert plant.articles_published() == {TITLE: 1}
        with platform.lock:
            drafted = [d for d in platform.drafts if d["articles"][0]["title"] == TITLE]
        assert len(drafted) == 1
        assert plant.channel_states() == {
            (SLUG, "wechat"): "published",
            (SLUG, "site"): "published",
        }
        page = requests.get(f"{webs[1].url}/column/{SLUG}/", timeout=10)
        assert page.status_code == 200 and TITLE in page.text

        # One beat held the lock and sent every job; the other waited and sent nothing.
        sent = [b for b in beats if "Sending due task" in b.output()]
        assert len(sent) == 1, [b.output()[-2000:] for b in beats]
        assert "publish-due" in sent[0].output()
    finally:
        platform.webhook = None
        nodes.stop_all()
        plant.close()
        reset(platform)

    # Nothing of the bot's own lives on a node: settings, keys, token, locks and the
    # schedule are shared, and the site is written to the one shared SITE_DIR.
    kept = [
        str(path.relative_to(nodes.root))
        for node in (1, 2)
        for path in nodes.folder(node).rglob("*")
        if path.is_file()
    ]
    assert kept == []
