"""Process supervision for `veteranbot run`: start children, watch them, stop them together.

Each child gets its own session (process group), so a terminal's Ctrl-C reaches
only the supervisor, which then stops the children in order, and so stopping a
child also stops what it forked (gunicorn's workers, Celery's pool).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

GRACE_SECONDS = 10.0
TICK_SECONDS = 0.2


@dataclass
class Child:
    """One supervised process and the name it is reported by."""

    name: str
    proc: subprocess.Popen


@dataclass
class StopSignals:
    """Records SIGINT/SIGTERM instead of dying on them, while installed."""

    received: list[int] = field(default_factory=list)
    _previous: dict[int, object] = field(default_factory=dict)

    def __enter__(self) -> StopSignals:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._record)
        return self

    def __exit__(self, *_exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _record(self, signum, _frame) -> None:
        self.received.append(signum)

    @property
    def stop(self) -> bool:
        """Whether a stop was asked for."""
        return bool(self.received)

    @property
    def hurry(self) -> bool:
        """Whether a second signal asked not to wait for a graceful stop."""
        return len(self.received) > 1


def claim(folder: Path) -> IO | None:
    """Lock folder/run.lock for as long as this process lives; None if another process holds it.

    An flock, not a pid file: the kernel drops it when its holder dies, however
    it dies, so a crashed run never blocks the next one.
    """
    handle = (folder / "run.lock").open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def claimed(folder: Path) -> bool:
    """Whether a live process (a `veteranbot run`) holds folder/run.lock."""
    handle = claim(folder)
    if handle is None:
        return True
    handle.close()
    return False


def spawn(name: str, argv: list[str], env: dict[str, str], cwd: str | None = None) -> Child:
    """Start one child in its own session; its output goes to ours."""
    return Child(name, subprocess.Popen(argv, env=env, cwd=cwd, start_new_session=True))


def exited(children: list[Child]) -> Child | None:
    """The first child that has ended, if any."""
    return next((c for c in children if c.proc.poll() is not None), None)


def watch(
    children: list[Child],
    signals: StopSignals,
    on_tick: Callable[[], None] | None = None,
    parts: dict[str, Callable[[], bool]] | None = None,
) -> str | None:
    """Wait until a stop signal (returns None) or a death; return what died, said plainly.

    `parts` are the pieces that are not our children (an embedded server), each
    with a check of whether it still lives.
    """
    while not signals.stop:
        if dead := exited(children):
            return f"{dead.name} exited with {dead.proc.returncode}"
        for name, alive in (parts or {}).items():
            if not alive():
                return f"{name} has stopped"
        if on_tick:
            on_tick()
        time.sleep(TICK_SECONDS)
    return None


def pid_alive(pid: int) -> bool:
    """Whether a process we do not parent still runs (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def stop_all(
    children: list[Child], grace: float = GRACE_SECONDS, hurry: Callable[[], bool] = lambda: False
) -> None:
    """SIGTERM every child's group, SIGKILL whatever is left after `grace` seconds."""
    # Newest first: the web app stops taking work before the worker and beat go.
    for child in reversed(children):
        _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and not hurry():
        if all(c.proc.poll() is not None for c in children):
            break
        time.sleep(TICK_SECONDS)
    for child in children:
        # Also kills grandchildren a leader left behind when it exited.
        _signal_group(child, signal.SIGKILL)
        child.proc.wait()


def wait_gone(pid: int | None, timeout: float = GRACE_SECONDS) -> None:
    """Wait until a process we do not parent (a daemonised server) has exited."""
    deadline = time.monotonic() + timeout
    while pid and time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(TICK_SECONDS / 4)


def _signal_group(child: Child, signum: int) -> None:
    # The group may be empty already (macOS answers PermissionError for zombies).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.proc.pid, signum)
