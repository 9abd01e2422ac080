"""The ``ees-theory`` command line: one sub-command per module of this package.

Each sub-command module defines ``register(subparsers)``, which adds its parser and sets
``func(args) -> int`` (the exit status).
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

#: Sub-command modules, in the order ``--help`` lists them.
COMMANDS = ("explain", "verify", "claims", "check", "stress", "vectors", "engines")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ees-theory",
        description="Certified ground truth for entropy-based decoding rules (EES, EDT, dynatemp).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        import_module(f".{name}", __name__).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from ..engines.builtin import register as register_builtin

    register_builtin()  # the port "builtin" (the toolkit's own kernels)
    parser = build_parser()
    args = parser.parse_args(argv)
    if str(getattr(args, "cluster", None) or "").startswith("local:"):
        from ..running.cluster import prestart_fork_server

        prestart_fork_server()  # its imports overlap with this command's own
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"ees-theory {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
