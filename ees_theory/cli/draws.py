"""``ees-theory check PORT --draws [N]``: judge a token-producing sampler by its draws.

The options live here so ``check`` only forwards to :func:`run` when ``--draws`` is given
(see :mod:`ees_theory.running.draws` for the judge, :mod:`ees_theory.judging.gof` for the tests).
"""

from __future__ import annotations

import json
import sys

__all__ = ["add_arguments", "run"]


def add_arguments(p) -> None:
    """The draws options of ``check``."""
    g = p.add_argument_group("judging by draws (a port that returns token ids)")
    g.add_argument("--draws", nargs="?", type=int, const=0, default=None, metavar="N",
                   help="judge token draws: N per case (without N: planned from --tv and --power)")
    g.add_argument("--draw-seed", type=int, default=None, metavar="S",
                   help="seed of every case's draws (default: derived from --seed and the case index)")
    g.add_argument("--alpha", type=float, default=1e-6, help="family-wise false-alarm rate of the run (default 1e-6)")
    g.add_argument("--tv", type=float, default=0.02, help="total variation the plan must detect (default 0.02)")
    g.add_argument("--power", type=float, default=0.99, help="power of the plan at --tv (default 0.99)")


#: seconds a draws call may take when --timeout is not given (a call draws many tokens)
DRAWS_TIMEOUT = 60.0


def run(args, cases) -> int:
    """Run the draws judge on ``cases`` (None: the planned ones) and print the report; exit status
    0 only on conformance (1: a failure, or nothing judged; 2: a usage error, raised before any
    port runs; 130: interrupted, resumable with ``--resume``)."""
    from ..harness import Options
    from ..running.draws import check_draws

    from ._inputs import options_from_args

    if args.draws is not None and args.draws < 0:
        raise ValueError(f"--draws must be >= 1 (or given without a value to plan it), got {args.draws}")
    timeout = DRAWS_TIMEOUT if args.timeout is None else args.timeout
    options = options_from_args(args)
    # the draws judge tests distributions: an exact tie's token is always in the support and a
    # suspect kept set is one that careful code does not keep, which no draw can show
    for flag, given in (("--strict", options.strict), ("--bands rigorous", options.bands != Options().bands)):
        if given:
            raise ValueError(f"{flag} applies to kept sets and temperatures; the draws judge (--draws) does not use it")
    port = args.port
    if port.startswith("engine:"):  # a built-in token-level engine: engine:NAME:METHOD
        from ..engines.draws import ENGINES, ROW_NAMES, factory
        from ..running.draws import InProcessDrawsPort

        name, _, method = port[len("engine:"):].partition(":")
        engine = {v: k for k, v in ROW_NAMES.items()}.get(name, name)
        if engine not in ENGINES:
            raise ValueError(f"no token-level engine {name!r}; there are: {', '.join(ROW_NAMES.values())}")
        if method and method != args.method:
            raise ValueError(f"port {port} draws for {method}, but --method is {args.method}")
        port = InProcessDrawsPort(factory(engine, args.method, args.dtype), f"engine:{name}:{args.method}", timeout=timeout)
    try:
        report = check_draws(
            port, args.method, args.dtype, cases=cases, examples=args.examples,
            vectors=True if args.vectors is None else (False if args.vectors == "none" else args.vectors), draws=args.draws or None, seed=args.seed, draw_seed=args.draw_seed,
            alpha=args.alpha, tv=args.tv, power=args.power, options=options, shrink=not args.no_shrink,
            families=args.family, journal=args.json, resume=args.resume, timeout=timeout, isolate=not args.in_process, import_timeout=args.import_timeout,
        )
    except KeyboardInterrupt:
        where = f"; continue with --resume --json {args.json}" if args.json else ""
        print(f"ees-theory check: interrupted{where}", file=sys.stderr)
        return 130
    text = report.text()
    print(text.splitlines()[-2 if report.journal else -1] if args.quiet else text)
    return 0 if report.ok else 1
