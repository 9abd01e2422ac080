"""Every process a port starts ends with it: finding and killing a port's descendants.

A subprocess port runs in its own process group, but a child that calls ``setsid()`` (a daemon,
``setsid sleep``, a double fork) leaves the group and would outlive the run. So each port process
is started with a mark in its environment (:data:`ENV_MARK`, inherited by whatever it spawns),
the Python worker makes itself a *child subreaper* (orphans of the port's children are re-parented
to it, not to init, so they stay its descendants), and when the port is stopped :func:`kill_all`
kills the process tree below it and every process that carries its mark, round after round until
none is left, and reaps those that were re-parented to this process.

On Linux this reads ``/proc``; elsewhere :func:`descendants` and :func:`marked` find nothing and
the process group is all that is killed. A port that clears its environment and double-forks
before it is stopped can still escape: this bounds accidents, not a hostile port.

>>> token = new_mark()
>>> len(token), marked(token)
(32, set())
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

__all__ = ["ENV_MARK", "new_mark", "become_subreaper", "descendants", "marked", "kill_all"]

#: the environment variable that marks the processes of one port
ENV_MARK = "EES_THEORY_PORT_MARK"
#: PR_SET_CHILD_SUBREAPER in <linux/prctl.h>
_PR_SET_CHILD_SUBREAPER = 36
_PROC = Path("/proc")


def new_mark() -> str:
    """A fresh mark for one port (the value of :data:`ENV_MARK` in its environment)."""
    return uuid.uuid4().hex


def become_subreaper() -> bool:
    """Make this process a child subreaper (Linux): orphaned descendants are re-parented to it.
    Returns whether it worked (False elsewhere).

    >>> isinstance(become_subreaper(), bool)
    True
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return False


def _parents() -> dict[int, int]:
    """``pid -> parent pid`` of every live (not zombie) process visible in ``/proc``."""
    out = {}
    try:
        entries = [e for e in os.listdir(_PROC) if e.isdigit()]
    except OSError:
        return out
    for e in entries:
        try:
            stat = (_PROC / e / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) >= 2 and fields[0] != "Z":
            out[int(e)] = int(fields[1])
    return out


def descendants(pid: int) -> set[int]:
    """The live processes below ``pid`` (children, their children, ...).

    >>> descendants(os.getpid()) >= set()
    True
    """
    children: dict[int, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def marked(mark: str) -> set[int]:
    """The live processes whose environment carries ``ENV_MARK=mark`` (those this user may read)."""
    needle = f"{ENV_MARK}={mark}".encode()
    out = set()
    for pid in _parents():
        try:
            env = (_PROC / str(pid) / "environ").read_bytes()
        except OSError:
            continue
        if needle in env.split(b"\0"):
            out.add(pid)
    return out


def kill_all(pid: int | None, mark: str | None, rounds: int = 20) -> int:
    """SIGKILL every process below ``pid`` and every other process marked ``mark`` (never ``pid``
    itself, which its owner kills and waits for, nor this process), again until none is found (a
    process may fork while the others die), and reap those re-parented to this process. Returns
    how many were killed."""
    me = os.getpid()
    killed: set[int] = set()
    mine: set[int] = set()
    for _ in range(rounds):
        parents = _parents()
        victims = (descendants(pid) if pid is not None else set()) | (marked(mark) if mark else set())
        victims -= {me, pid}
        victims &= set(parents)
        if not victims:
            break
        for v in victims:
            try:
                os.kill(v, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                continue
            killed.add(v)
            if parents.get(v) == me:
                mine.add(v)
        time.sleep(0.01)
    deadline = time.monotonic() + 2.0
    while mine and time.monotonic() < deadline:  # orphans re-parented here would stay zombies
        for v in list(mine):
            try:
                if os.waitpid(v, os.WNOHANG)[0]:
                    mine.discard(v)
            except ChildProcessError:
                mine.discard(v)
        if mine:
            time.sleep(0.01)
    return len(killed)
