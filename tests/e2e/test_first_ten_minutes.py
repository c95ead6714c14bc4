"""The README's "Your first ten minutes", run line by line as a newcomer would follow it.

`veteran>` and `staff>` lines go through the sandbox chat page's endpoint as that
identity, `$ .venv/bin/veteranbot …` lines through the CLI, `mkdir`/`cp` and the
`path=` block into the test's content folder; each `#` line must be in what the
step before it answered. Change the README and this test follows.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from bot import db
from bot.commands import main
from bot.config import SANDBOX_CREDENTIALS
from bot.sandbox.chat import STAFF_OPENID
from bot.wechat import outbox
from bot.wechat.client import client
from tests.fixtures.ledgers import load_sample
from tests.fixtures.stories import copy_shipped_content

README = Path(__file__).resolve().parents[2] / "README.md"
VETERAN = "sandbox-veteran-1"
BLOCK = re.compile(r"^```(\w+)(?: path=(\S+))?\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@pytest.fixture
def app_settings(app_settings):
    """SANDBOX mode, as `make run` starts on a fresh machine."""
    return {**app_settings, "WECHAT_APP_ID": "", "WECHAT_APP_SECRET": ""}


def walkthrough() -> list[tuple[str, str | None, str]]:
    """The section's fenced blocks, in order: (language, path, text)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Your first ten minutes", 1)[1].split("\n## ", 1)[0]
    return [(m.group(1), m.group(2), m.group(3)) for m in BLOCK.finditer(section)]


class Newcomer:
    """Does what a README line says, and remembers what came back."""

    def __init__(self, app, content: Path):
        self.app, self.content, self.said = app, content, ""

    def line(self, line: str) -> None:
        if line.startswith("#"):
            expected = line.lstrip("# ").strip()
            assert expected in self.said, f"README expects {expected!r} after: {self.said!r}"
        elif line.startswith(("veteran> ", "staff> ")):
            who, text = line.split("> ", 1)
            self.said = self.chat(VETERAN if who == "veteran" else STAFF_OPENID, text)
        elif line.startswith("$ "):
            self.said = self.shell(shlex.split(line[2:]))
        elif line.strip():
            raise AssertionError(f"the README has a line this walkthrough cannot follow: {line}")

    def chat(self, openid: str, text: str) -> str:
        answer = self.app.test_client().post(
            "/sandbox/send", json={"openid": openid, "type": "text", "content": text}
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
        # What `make run`'s worker does a moment later: deliver the messages to people.
        outbox.deliver(db.session(), client())
        return answer.get_json()["reply"]["content"]

    def shell(self, argv: list[str]) -> str:
        if argv[0] == "mkdir":
            self.path(argv[-1]).mkdir(parents=True, exist_ok=True)
            return ""
        if argv[0] == "cp":
            shutil.copy(self.path(argv[1]), self.path(argv[2]))
            return ""
        assert argv[0] == ".venv/bin/veteranbot", argv
        command = main.commands[argv[1]]
        result = self.app.test_cli_runner().invoke(command, argv[2:])
        assert result.exit_code == 0, result.output
        return result.output

    def path(self, name: str) -> Path:
        assert name.startswith("content/"), name
        return self.content / name.removeprefix("content/")


def test_the_first_ten_minutes_work_as_the_readme_says(app, session, platform, monkeypatch):
    # The emulated account is the sandbox's, as `make run` starts it.
    monkeypatch.setattr(platform, "appid", SANDBOX_CREDENTIALS["WECHAT_APP_ID"])
    monkeypatch.setattr(platform, "secret", SANDBOX_CREDENTIALS["WECHAT_APP_SECRET"])
    load_sample(session)  # what `make run` loads on first start
    content = copy_shipped_content(Path(app.config["CONTENT_DIR"]))
    newcomer = Newcomer(app, content)
    blocks = walkthrough()
    assert len(blocks) >= 4, "the walkthrough lost its steps"

    for language, path, text in blocks:
        if path:
            newcomer.path(path).write_text(text, encoding="utf-8")
        else:
            assert language == "text", language
            for line in text.splitlines():
                newcomer.line(line)

    # The station worker's notice of the veteran's request is on their phone.
    notices = [m for m in platform.messages_to(STAFF_OPENID) if m["kind"] == "template"]
    assert notices and any("QZ" in str(m["data"]) for m in notices)
    # And the story is on the site.
    with app.test_client().get("/column/my-story/") as page:
        assert page.status_code == 200 and "好谷村的一次走访" in page.get_data(as_text=True)
