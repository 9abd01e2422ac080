"""Run a Python port as a JSON Lines server: ``python -m ees_theory.harness.worker module:fn``.

The harness starts this worker to isolate a Python port: a port that kills its process or hangs
then costs one case. The worker reads requests (``PROTOCOL.md``) from stdin, hands the logits to
the port in the requested dtype, checks that the port left its input untouched, and writes one
answer per request. Whatever the port prints goes to stderr, never into the protocol stream.

>>> import io, json
>>> requests = io.StringIO(json.dumps({"id": "a", "method": "ees", "dtype": "float32",
...     "logits": ["0x1p+1", "0x1p+0", "0x0p+0"], "params": {"temperature": "0x1p+0"}}) + "\\n")
>>> answers = io.StringIO()
>>> serve(__import__("ees_theory.harness.ports", fromlist=["_demo_ees"])._demo_ees, requests, answers)
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
from .methods import OutputFault, get_method


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
    except Exception as exc:  # noqa: BLE001 - the port's error is the answer
        return {"id": rid, "error": f"{type(exc).__name__}: {exc}"}
    if not np.array_equal(row, original, equal_nan=True) or row.dtype != original.dtype:
        return {"id": rid, "mutated": True}
    try:
        value = m.normalize(raw, row.shape[-1])
    except OutputFault as exc:
        return {"id": rid, "fault": exc.fault, "message": exc.message}
    return {"id": rid, **m.encode(value)}


def serve(fn: Callable, stdin: TextIO, stdout: TextIO) -> None:
    """Answer every request line of ``stdin`` on ``stdout``."""
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
            reply = answer(fn, request)
        stdout.write(json.dumps(reply, separators=(",", ":")) + "\n")
        stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Entry point: keep the protocol stream for answers and send the port's prints to stderr."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m ees_theory.harness.worker module:callable", file=sys.stderr)
        return 2
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    from .ports import load_callable

    fn = load_callable(args[0])
    serve(fn, sys.stdin, protocol)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
