"""Run an engine adapter as a JSON Lines port server (the isolated form of ``engine:`` ports):
``python -m ees_theory.engines.worker engine:ENGINE:METHOD METHOD DTYPE POLICY``.

It serves the requests of ``PROTOCOL.md`` exactly as :mod:`ees_theory.running.worker` does for a
``module:callable`` port, with the adapter bound to the run's dtype and policy.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 4:
        print("usage: python -m ees_theory.engines.worker engine:ENGINE:METHOD METHOD DTYPE POLICY", file=sys.stderr)
        return 2
    from ..running.worker import protocol_stream, serve

    protocol = protocol_stream()  # before the engine's imports, which may print
    from .table import resolve_port

    _, fn = resolve_port(*args)
    serve(fn, sys.stdin, protocol)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
