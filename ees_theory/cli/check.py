"""``ees-theory check``: judge a port of EES, EDT or dynatemp against the certified reference.

Runs the golden vectors and generated cases (the property suite's families) through the port and
prints a per-family table (cases, passed, admissible, failed, worst case) with every failure
shrunk to a small input and a line that reproduces it. ``--hunt N`` adds a hypothesis search
steered toward close calls. Exit status 0 only on conformance.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import spec
from ..spec.methods import POLICIES
from ..tolerances import ACCUMULATE

__all__ = ["register", "run", "progress_bar"]


def register(sub) -> None:
    p = sub.add_parser("check", help="check a port of EES, EDT or dynatemp against the certified reference",
                       description=__doc__.split("\n\n")[1])
    add_port_arguments(p)
    p.add_argument("--vectors", metavar="FILE", default=None,
                   help="golden vector file (default: the packaged one; 'none' for no vectors)")
    p.add_argument("--examples", "-n", type=int, default=200, metavar="N", help="generated cases after the vectors (default 200)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated cases (default 0)")
    p.add_argument("--family", action="append", metavar="NAME", help="generate only from this family (repeatable)")
    p.add_argument("--hunt", type=int, default=0, metavar="N",
                   help="after the cases, a hypothesis search of N inputs steered toward close calls (default 0: none)")
    p.add_argument("--case", metavar="JSON", help='check one case only: {"logits": [hex...], "params": {...}}')
    p.add_argument("--json", metavar="OUT", help="JSON Lines results, appended case by case (header, cases, summary)")
    p.add_argument("--resume", action="store_true", help="continue the run recorded in --json OUT")
    p.add_argument("--no-shrink", action="store_true", help="do not shrink failures")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the verdict line")
    from .draws import add_arguments as add_draws_arguments

    add_draws_arguments(p)
    p.set_defaults(func=run)


def add_workers_argument(p) -> None:
    """``--workers``: how many processes judge the cases (``check`` and ``stress``)."""
    p.add_argument("--workers", type=_workers, default="auto", metavar="N",
                   help="processes that judge the cases against the reference: N, or auto (default: judge here for half a second, then "
                        "one worker per idle core if the rest would take over 2 s)")


def _workers(text: str):
    if text == "auto":
        return text
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 'auto' or an integer >= 1, got {text!r}")
    return n


def add_port_arguments(p, port_required: bool = True) -> None:
    """The arguments ``check`` and ``stress`` share: the port, method, dtype and judging options."""
    from .. import engines  # noqa: F401 - registers the engine: port scheme
    if port_required:
        p.add_argument("port", metavar="PORT",
                       help="module:callable, path/file.py:callable, 'exec:COMMAND ...' (JSON Lines), builtin[:ACCUMULATE], "
                             "or engine:ENGINE:METHOD (a real engine, see 'ees-theory engines')")
    p.add_argument("--method", "-m", default="ees",
                   help="ees, edt, dynatemp, or a truncation sampler: top-k, top-p, min-p, typical, epsilon, eta, "
                        "mirostat-v1, mirostat-v2, p-less, p-less-norm, top-n-sigma (default ees)")
    p.add_argument("--policy", choices=POLICIES, default="paper",
                   help="engine convention a truncation sampler is judged against (default: the paper's definition)")
    p.add_argument("--dtype", default="float64", choices=("float64", "float32", "float16", "bfloat16"),
                   help="dtype of the logits handed to the port (default float64)")
    p.add_argument("--accumulate", choices=ACCUMULATE, default="input",
                   help="accumulation mode assumed for the error bound (default input: the larger bound)")
    p.add_argument("--rule", choices=spec.RULES, default=spec.DEFAULT_RULE, help="EES rule of the reference")
    p.add_argument("--strict-ties", action="store_true", help="require ties broken by token id (default: any tie order)")
    p.add_argument("--strict", action="store_true", help="fail exact ties decided by rounding (a comparison exactly 0 that the port's float evaluation put on the other side; default: admissible, counted apart)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per case before a port is declared hung (default 10)")
    p.add_argument("--in-process", action="store_true",
                   help="call a Python port in this process (faster; a crash of the port ends the run)")
    add_workers_argument(p)


def progress_bar(enabled: bool, desc: str):
    """A ``progress(done, total)`` callback drawing a tqdm bar on stderr (None when disabled)."""
    if not enabled:
        return None
    from tqdm import tqdm

    state = {}

    def progress(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = tqdm(total=total, initial=done, desc=desc, file=sys.stderr, unit="case", leave=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return progress


def run(args) -> int:
    from .. import harness as cf

    options = cf.Options(accumulate=args.accumulate, rule=args.rule, strict_ties=args.strict_ties, policy=args.policy, strict=args.strict)
    cf.get_method(args.method)
    if args.resume and not args.json:
        raise ValueError("--resume continues the run recorded in --json OUT; give --json")
    if args.examples < 0:
        raise ValueError(f"--examples must be >= 0, got {args.examples}")
    if args.hunt < 0:
        raise ValueError(f"--hunt must be >= 0, got {args.hunt}")
    if args.case:
        try:
            obj = json.loads(args.case)
        except ValueError as exc:
            raise ValueError(f"--case is not JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise ValueError("--case must be a JSON object with 'logits' and 'params'")
        obj.setdefault("method", args.method)
        obj.setdefault("id", "given")
        cases = [cf.Case.from_json(obj)]
        try:  # a case the reference refuses is a usage error, not a verdict on the port
            cf.get_method(args.method).reference(cases[0].row(args.dtype), cases[0].params, options)
        except (ValueError, TypeError, ZeroDivisionError) as exc:
            raise ValueError(f"--case is outside the domain of {args.method}: {exc}") from None
    elif getattr(args, "draws", None) is not None:
        cases = None  # the draws judge plans its own cases
    else:
        vectors = True if args.vectors is None else (False if args.vectors == "none" else Path(args.vectors))
        cases = cf.plan(args.method, args.dtype, vectors=vectors, examples=args.examples, seed=args.seed, families=args.family)
    if getattr(args, "draws", None) is not None:
        from .draws import run as run_draws

        return run_draws(args, cases)
    skipped = []
    if args.port.startswith("engine:"):  # cases the engine's adapter cannot observe: skipped and counted
        from ..engines.table import split_skipped

        cases, skipped = split_skipped(args.port, cases, args.method, args.dtype, args.policy)
    port = cf.open_port(args.port, args.method, args.dtype, isolate=not args.in_process, timeout=args.timeout,
                        policy=args.policy)
    try:
        report = cf.run_check(port, args.method, args.dtype, cases, options=options, port_spec=args.port, journal=args.json,
                              resume=args.resume, shrink=not args.no_shrink, hunt=0 if args.case else args.hunt, skipped=skipped,
                              workers=args.workers,
                              progress=progress_bar(sys.stderr.isatty() and not args.quiet, f"check {args.method}/{args.dtype}"))
    except KeyboardInterrupt:
        where = f"; continue with --resume --json {args.json}" if args.json else ""
        print(f"ees-theory check: interrupted{where}", file=sys.stderr)
        return 130
    text = report.text()
    print(text.splitlines()[-2 if report.journal else -1] if args.quiet else text)
    return 0 if report.ok else 1
