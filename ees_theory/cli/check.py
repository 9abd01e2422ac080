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
from ..core.records import method_help, method_names
from ..spec.methods import DYNATEMP_POLICIES, POLICIES
from ..tolerances import ACCUMULATE
from ._inputs import options_from_args

__all__ = ["register", "run", "progress_bar"]


def register(sub) -> None:
    p = sub.add_parser("check", help="check a port of EES, EDT or dynatemp against the certified reference",
                       description=__doc__.split("\n\n")[1])
    add_port_arguments(p)
    p.add_argument("--vectors", metavar="FILE", default=None,
                   help="golden vector file (default: the packaged one; 'none' for no vectors)")
    p.add_argument("--examples", "-n", type=int, default=460, metavar="N",
                   help="generated cases after the vectors (default 460: a fault that shows on 1%% of rows is found with probability 0.99; "
                        "one in 8 rows is cold, temperature 0.05-0.2, and one in 8 has more than 1,000 entries)")
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
    p.add_argument("--cluster", metavar="ADDRESS", default=None,
                   help="judge on a Dask cluster instead: a scheduler tcp://HOST:PORT, or local:N (N worker processes started "
                        "and closed here); same records and report (needs the cluster extra)")
    p.add_argument("--port-on", choices=("workers", "client"), default="workers",
                   help="with --cluster: open the port on every worker (default), or call it here and send out only the judging")


def cluster_executor(args):
    """The ``distributed.Client`` of ``--cluster`` as a context manager (a null one without it:
    Dask is then not imported)."""
    import contextlib

    if args.cluster is None:
        if args.port_on != "workers":
            raise ValueError("--port-on applies to --cluster runs; give --cluster")
        return contextlib.nullcontext(None)
    from ..running.cluster import cluster_client, parse_address

    parse_address(args.cluster)
    return cluster_client(args.cluster, wait=False)  # a local cluster's workers join while this process goes on


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
    from ..judging.methods import OPTION_FLAGS, Options

    # the judging flags and their defaults are Options' own (one table; a repro line reads it too)
    flag = dict(OPTION_FLAGS)
    default = {name: getattr(Options(), name) for name in flag}
    if port_required:
        p.add_argument("port", metavar="PORT",
                       help="module:callable, path/file.py:callable, 'exec:COMMAND ...' (JSON Lines), builtin[:ACCUMULATE], "
                             "or engine:ENGINE:METHOD (a real engine, see 'ees-theory engines')")
    p.add_argument("--method", "-m", default="ees", choices=method_names(), metavar="METHOD", help=f"{method_help()} (default ees)")
    p.add_argument(flag["policy"], choices=POLICIES + tuple(x for x in DYNATEMP_POLICIES if x not in POLICIES), default=default["policy"],
                   help="engine convention a truncation sampler is judged against (default: the paper's definition); for dynatemp, "
                        "finite-candidates counts only the finite entries in ln n")
    p.add_argument("--dtype", default="float64", choices=("float64", "float32", "float16", "bfloat16"),
                   help="dtype of the logits handed to the port (default float64)")
    p.add_argument(flag["accumulate"], choices=ACCUMULATE, default=default["accumulate"],
                   help="accumulation mode assumed for the error bound (default input: the larger bound)")
    p.add_argument(flag["rule"], choices=spec.RULES, default=default["rule"], help="EES rule of the reference")
    p.add_argument(flag["strict_ties"], action="store_true", default=default["strict_ties"], help="require ties broken by token id (default: any tie order)")
    p.add_argument(flag["strict"], action="store_true", default=default["strict"], help="fail exact ties decided by rounding (a comparison exactly 0 that the port's float evaluation put on the other side; default: admissible, counted apart)")
    p.add_argument(flag["bands"], choices=("styles", "rigorous"), default=default["bands"],
                   help="styles (default): an answer away from the certified one is admissible only when a careful implementation "
                        "in the style set produces it on the row; one only the rigorous a-priori band allows is suspect and fails. "
                        "rigorous: suspect answers are admissible too")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds per call before a port is declared hung (default 10; with --draws 60: a call draws many tokens)")
    p.add_argument("--import-timeout", type=float, default=120.0, metavar="S",
                   help="seconds a Python port's import may take (default 120; apart from --timeout, which bounds each call)")
    p.add_argument(flag["unsupported"], metavar="PARAM[,PARAM...]", default=",".join(default["unsupported"]),
                   help="parameters the port does not have (e.g. min_tokens_to_keep): cases that need a value other than the one "
                        "meaning off are skipped and counted with that reason")
    p.add_argument("--in-process", action="store_true",
                   help="call a Python port in this process (faster; a crash of the port ends the run, and a port that patches "
                        "the judge is not caught: not evidence against a hostile port)")
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

    cf.get_method(args.method).check_policy(args.policy)
    options = options_from_args(args)
    unsupported = options.unsupported
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
        given = cf.get_method(args.method)
        try:  # a case the reference refuses is a usage error, not a verdict on the port
            spec.as_logits(cases[0].logits)  # NaN or +inf is outside every domain, whatever the dtype
            given.reference(cases[0].row(args.dtype), cases[0].params, options)
        except KeyError as exc:
            raise ValueError(f"--case has no parameter {exc}; {args.method} takes {', '.join(given.params)}") from None
        except (ValueError, TypeError, ZeroDivisionError) as exc:
            raise ValueError(f"--case is outside the domain of {args.method}: {exc}") from None
    elif getattr(args, "draws", None) is not None:
        cases = None  # the draws judge plans its own cases
    else:
        vectors = True if args.vectors is None else (False if args.vectors == "none" else Path(args.vectors))
        cases = cf.plan(args.method, args.dtype, vectors=vectors, examples=args.examples, seed=args.seed, families=args.family)
    if getattr(args, "draws", None) is not None:
        if unsupported:
            raise ValueError("--unsupported is for the mask judge; the draws judge calls the port with every parameter")
        if args.cluster is not None:
            raise ValueError("--cluster does not run --draws: the draws judge plans and judges its cases in one process; run it without --cluster")
        from .draws import run as run_draws

        return run_draws(args, cases)
    skipped = []
    if args.port.startswith("engine:"):  # cases the engine's adapter cannot observe: skipped and counted
        from ..engines.table import split_skipped

        cases, skipped = split_skipped(args.port, cases, args.method, args.dtype, args.policy)
    with cluster_executor(args) as executor:  # an unreachable cluster is refused before the port opens
        port = cf.open_port(args.port, args.method, args.dtype, isolate=not args.in_process, timeout=10.0 if args.timeout is None else args.timeout,
                            policy=args.policy, import_timeout=args.import_timeout, unsupported=unsupported)
        try:
            report = cf.run_check(port, args.method, args.dtype, cases, options=options, port_spec=args.port, journal=args.json,
                                  resume=args.resume, shrink=not args.no_shrink, hunt=0 if args.case else args.hunt, skipped=skipped,
                                  workers=args.workers, executor=executor, port_on=args.port_on,
                                  progress=progress_bar(sys.stderr.isatty() and not args.quiet, f"check {args.method}/{args.dtype}"))
        except KeyboardInterrupt:
            where = f"; continue with --resume --json {args.json}" if args.json else ""
            print(f"ees-theory check: interrupted{where}", file=sys.stderr)
            return 130
    text = report.text()
    print(text.splitlines()[-2 if report.journal else -1] if args.quiet else text)
    return 0 if report.ok else 1
