"""The house rules of imports, read from the source with `ast` so no change can quietly break them.

Three floors inside `bot/`, and `publisher/` beneath them all:
- edges: what the outside world calls (create_app, views, dialogs, commands, tasks, the sandbox);
- domain: records, requests, care, column;
- infrastructure: settings, database, Redis, queue, crypto, clock, models, the WeChat client.
A module imports from its own floor or below, never up; `publisher/` imports nothing of ours; and
no two modules import each other, directly or around a loop. Imports inside functions count too:
they are where a wrong-way import hides.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "publisher", "tasks")

EDGE, DOMAIN, INFRASTRUCTURE, LIBRARY = 3, 2, 1, 0
FLOOR_NAMES = {EDGE: "edge", DOMAIN: "domain", INFRASTRUCTURE: "infrastructure", LIBRARY: "library"}

# Most specific prefix wins. Views that live inside a domain package are edges.
FLOORS = {
    "bot": EDGE,  # create_app
    "bot.wsgi": EDGE,
    "bot.gunicorn_conf": EDGE,
    "bot.health": EDGE,
    "bot.notice_page": EDGE,
    "bot.commands": EDGE,
    "bot.dialogs": EDGE,
    "bot.sandbox": EDGE,
    "bot.wechat.views": EDGE,
    "bot.column.site_view": EDGE,
    "bot.column.preview": EDGE,
    "bot.console": EDGE,
    "bot.requests.recording_view": EDGE,
    "tasks": EDGE,
    "bot.records": DOMAIN,
    "bot.requests": DOMAIN,
    "bot.care": DOMAIN,
    "bot.column": DOMAIN,
    "bot.config": INFRASTRUCTURE,
    "bot.db": INFRASTRUCTURE,
    "bot.store": INFRASTRUCTURE,
    "bot.queue": INFRASTRUCTURE,
    "bot.crypto": INFRASTRUCTURE,
    "bot.backups": INFRASTRUCTURE,
    "bot.clock": INFRASTRUCTURE,
    "bot.retry": INFRASTRUCTURE,
    "bot.logs": INFRASTRUCTURE,
    "bot.runner": INFRASTRUCTURE,
    "bot.models": INFRASTRUCTURE,
    "bot.migrations": INFRASTRUCTURE,
    "bot.wechat": INFRASTRUCTURE,
    "publisher": LIBRARY,
}

# Reference data that a lower floor may read. Each must import nothing of ours, so it can
# never pull the floor above in behind it.
REFERENCE_DATA = {
    # Settings validate GREETING_OCCASIONS and YI_NEW_YEAR against the holiday table.
    ("bot.config", "bot.care.occasions"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "versions" not in path.parts:  # migration scripts are run by Alembic, not imported
                found[_module_name(path)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The modules of ours that `name` imports anywhere in its source."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from bot import db` imports the module bot.db; `from bot.db import Base`, bot.db.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def floor(name: str) -> int:
    """The floor of a module: that of the longest prefix in FLOORS."""
    if name == "bot":
        return FLOORS[name]
    parts = name.split(".")
    # "bot" alone names create_app's module; a new bot/x.py must be placed explicitly.
    for end in range(len(parts), 1 if parts[0] == "bot" else 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in FLOORS:
            return FLOORS[prefix]
    raise AssertionError(f"{name} is on no floor: add it to FLOORS in {__file__}")


def test_every_module_is_on_a_floor():
    for name in MODULES:
        floor(name)


def test_no_import_runs_up_a_floor():
    wrong = [
        f"{name} ({FLOOR_NAMES[floor(name)]}) imports {target} ({FLOOR_NAMES[floor(target)]})"
        for name, targets in sorted(GRAPH.items())
        for target in sorted(targets)
        if floor(target) > floor(name) and (name, target) not in REFERENCE_DATA
    ]
    assert wrong == []


def test_reference_data_imports_nothing_of_ours():
    for _, target in REFERENCE_DATA:
        assert GRAPH[target] == set(), f"{target} is reference data and must stay a leaf"


def test_publisher_imports_nothing_of_ours_and_no_framework():
    package = "publisher"
    outside = {"bot", "tasks", "flask", "celery", "redis", "sqlalchemy"}
    for name, path in MODULES.items():
        if name.split(".")[0] != package:
            continue
        assert not {t for t in GRAPH[name] if t.split(".")[0] != package}, name
        tree = ast.parse(path.read_text())
        roots = {
            (n.module or "").split(".")[0]
            if isinstance(n, ast.ImportFrom)
            else a.name.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.Import | ast.ImportFrom) and not getattr(n, "level", 0)
            for a in n.names
        }
        assert not roots & outside, f"{name} imports {sorted(roots & outside)}"


def test_bot_never_imports_tasks():
    assert not [
        (name, t)
        for name, targets in GRAPH.items()
        if name.split(".")[0] == "bot"
        for t in targets
        if t.split(".")[0] == "tasks"
    ]


def test_no_import_cycles():
    # Tarjan's strongly connected components; any component of two or more is a cycle.
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_checker_sees_a_wrong_way_import(tmp_path):
    """The rules above would catch a domain module importing a dialog."""
    source = tmp_path / "probe.py"
    source.write_text("from bot.dialogs import choices\n")
    assert _imports("bot.care.probe", source) == {"bot.dialogs.choices"}
    assert floor("bot.dialogs.choices") > floor("bot.care.probe")


# Edge-only: each finds its object through the current Flask app. The domain is handed the
# session, the clients and its settings instead (docs/architecture.md, "Dependencies").
EDGE_ONLY = {
    "bot.db.session",
    "bot.db.session_factory",
    "bot.db.engine",
    "bot.store.client",
    "bot.wechat.client.client",
}


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and (base := _dotted(node.value)):
        return f"{base}.{node.attr}"
    return None


def _edge_only_uses(path: Path) -> set[str]:
    """The EDGE_ONLY functions a module names, and "flask" if it imports Flask at all."""
    tree = ast.parse(path.read_text(), str(path))
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and not node.level:
            bound.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
        elif isinstance(node, ast.Import):
            bound.update({a.asname or a.name: a.name for a in node.names})
    found = {"flask" for full in bound.values() if full.split(".")[0] == "flask"}
    for node in ast.walk(tree):
        name = _dotted(node) if isinstance(node, ast.Name | ast.Attribute) else None
        if name:
            head, _, rest = name.partition(".")
            full = ".".join(filter(None, [bound.get(head, head), rest]))
            found |= {f for f in EDGE_ONLY if full == f}
    return found


def test_the_domain_is_handed_its_session_clients_and_settings():
    wrong = {
        name: sorted(uses)
        for name, path in sorted(MODULES.items())
        if floor(name) == DOMAIN and (uses := _edge_only_uses(path))
    }
    assert wrong == {}


def test_the_checker_sees_the_domain_reach_for_the_app(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text(
        "from flask import current_app\nfrom bot import db\nfrom bot.wechat.client import client\n"
        "def f():\n    return db.session(), client(), current_app.config\n"
    )
    assert _edge_only_uses(source) == {"flask", "bot.db.session", "bot.wechat.client.client"}
