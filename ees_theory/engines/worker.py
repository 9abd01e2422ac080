"""Run an engine adapter as a JSON Lines port server (the isolated form of ``engine:`` ports):
``python -m ees_theory.engines.worker engine:ENGINE:METHOD METHOD DTYPE POLICY``.

It serves the requests of ``PROTOCOL.md`` exactly as :mod:`ees_theory.harness.worker` does for a
``module:callable`` port, with the adapter bound to the run's dtype and policy.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 4:
        print("usage: python -m ees_theory.engines.worker engine:ENGINE:METHOD METHOD DTYPE POLICY", file=sys.stderr)
        return 2
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    from ..harness.worker import serve
    from .table import resolve_port

    _, fn = resolve_port(*args)
    serve(fn, sys.stdin, protocol)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
