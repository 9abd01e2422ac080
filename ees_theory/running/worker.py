"""Run a Python port as a JSON Lines server: ``python -m ees_theory.running.worker module:fn``.

The harness starts this worker to isolate a Python port: a port that kills its process or hangs
then costs one case. The worker reads requests (``PROTOCOL.md``) from stdin, hands the logits to
the port in the requested dtype, checks that the port left its input untouched, and writes one
answer per request. Whatever the port prints goes to stderr, never into the protocol stream.

>>> import io, json
>>> requests = io.StringIO(json.dumps({"id": "a", "method": "ees", "dtype": "float32",
...     "logits": ["0x1p+1", "0x1p+0", "0x0p+0"], "params": {"temperature": "0x1p+0"}}) + "\\n")
>>> answers = io.StringIO()
>>> serve(__import__("ees_theory.examples", fromlist=["greedy_ees"]).greedy_ees, requests, answers)
>>> json.loads(answers.getvalue())
{'id': 'a', 'kept': [0]}
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Callable, TextIO

import numpy as np

from .cases import params_from_json
from ..spec.formats import cast, from_hex_list
from ..judging.methods import OutputFault, get_method


def answer(fn: Callable, request: dict) -> dict:
    """The answer to one request (never raises for a fault of the port).

    >>> answer(lambda z, t: 1 / 0, {"id": "x", "method": "ees", "logits": ["0x0p+0"], "params": {"temperature": 1}})
    {'id': 'x', 'error': 'ZeroDivisionError: division by zero'}
    """
    rid = request.get("id")
    try:
        m = get_method(request["method"])
        row = np.array(cast(from_hex_list(request["logits"]), request.get("dtype", "float64")), copy=True)
        params = params_from_json(request.get("params", {}))
    except (KeyError, ValueError, TypeError) as exc:
        return {"id": rid, "fault": "protocol-error", "message": f"bad request: {exc}"}
    original = row.copy()
    try:
        raw = m.call(fn, row, params)
    except SystemExit as exc:  # reported as what it is, not as a process that died
        return {"id": rid, "fault": "crashed", "message": f"the port called sys.exit({exc.code!r})"}
    except KeyboardInterrupt as exc:  # the worker has its own session: no terminal sends it SIGINT
        return {"id": rid, "fault": "raised", "message": f"the port raised KeyboardInterrupt({exc})"}
    except Exception as exc:  # noqa: BLE001 - the port's error is the answer
        return {"id": rid, "error": f"{type(exc).__name__}: {exc}"}
    if not np.array_equal(row, original, equal_nan=True) or row.dtype != original.dtype:
        return {"id": rid, "mutated": True}
    try:
        value = m.normalize(raw, row.shape[-1])
    except OutputFault as exc:
        return {"id": rid, "fault": exc.fault, "message": exc.message}
    return {"id": rid, **m.encode(value)}


def serve(fn: Callable, stdin: TextIO, stdout: TextIO, responder: Callable[[Callable, dict], dict] | None = None) -> None:
    """Answer every request line of ``stdin`` on ``stdout`` (with ``responder(fn, request)``,
    default :func:`answer`)."""
    reply_to = responder or answer
    for line in stdin:
        if not line.strip():
            continue
        try:
            request: Any = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            reply = {"id": None, "fault": "protocol-error", "message": f"request is not a JSON object: {exc}"}
        else:
            reply = reply_to(fn, request)
        stdout.write(json.dumps(reply, separators=(",", ":")) + "\n")
        stdout.flush()


def _die_with_parent() -> None:
    # Linux: the worker is killed when the harness dies, even by SIGKILL (it runs in its own
    # session, so a signal to the harness's process group does not reach it)
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def protocol_stream() -> TextIO:
    """Keep stdout for the protocol and send everything else printed (by ``print`` or by C code
    writing to file descriptor 1) to stderr; returns the protocol stream.

    >>> import subprocess
    >>> code = "from ees_theory.running.worker import protocol_stream as p; s = p(); print('chatter'); s.write('answer')"
    >>> r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    >>> r.stdout, r.stderr
    ('answer', 'chatter\\n')
    """
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return protocol


def main(argv: list[str] | None = None) -> int:
    """Entry point: keep the protocol stream for answers and send the port's prints to stderr.

    With ``--handshake`` (how the harness starts it) the worker first writes ``{"loading": true}``
    (it is up), then whether the port loaded: ``{"ready": true}``, or ``{"ready": false,
    "error": ...}`` and exit status 3 when its import raised or called ``sys.exit``. With
    ``--draws`` the port is a draws port, answered by :func:`ees_theory.running.draws.answer_draws`.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    handshake = "--handshake" in args
    draws = "--draws" in args
    args = [a for a in args if a not in ("--handshake", "--draws")]
    if len(args) != 1:
        print("usage: python -m ees_theory.running.worker [--handshake] [--draws] module:callable", file=sys.stderr)
        return 2
    protocol = protocol_stream()
    from .ports import load_callable
    from .reap import become_subreaper

    if handshake:
        _die_with_parent()
        become_subreaper()  # orphans of the port's children stay below this process, where the harness finds them
        # the worker itself is up (its own imports can be slow on a loaded machine); from here
        # on the harness's --import-timeout bounds the port's import
        protocol.write(json.dumps({"loading": True}) + "\n")
        protocol.flush()
    try:
        fn = load_callable(args[0])
    except (ValueError, TypeError, FileNotFoundError) as exc:
        if not handshake:
            raise
        protocol.write(json.dumps({"ready": False, "error": str(exc)}) + "\n")
        protocol.flush()
        return 3
    if handshake:
        protocol.write(json.dumps({"ready": True}) + "\n")
        protocol.flush()
    responder = None
    if draws:
        from .draws import answer_draws as responder
    serve(fn, sys.stdin, protocol, responder)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
