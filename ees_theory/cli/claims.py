"""``ees-theory claims``: the claims ledger (specification §5) as a table, JSON or one claim in detail.

Exits 1 when a verdict differs from the one recorded in ``ees_theory/ledger/verdicts.json``.
"""

from __future__ import annotations

import json
import sys

from ._cluster import add_cluster_argument, cluster_context


def register(subparsers) -> None:
    p = subparsers.add_parser("claims", help="verdicts on the papers' claims: proved, refuted or open")
    p.add_argument("--claim", metavar="ID", help="one claim in detail, with its counterexample's gap table")
    p.add_argument("--json", metavar="FILE", help="also write the verdicts as JSON to FILE ('-' for stdout)")
    p.add_argument("--search", action="store_true", help="search for counterexamples afresh and spot-check 10x more rows (slow)")
    p.add_argument("--rows", type=int, default=None, help="rows per spot check (default 12, or 120 with --search)")
    p.add_argument("--seed", type=int, default=0, help="seed of the spot checks and the search")
    p.add_argument("--record", action="store_true", help="write the verdicts and counterexamples to the package ledger")
    add_cluster_argument(p, "each claim is a task and each search sends its draws and climbs out; the same verdicts")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..ledger import claims, registry

    if args.rows is not None and args.rows < 1:
        raise ValueError(f"--rows must be >= 1, got {args.rows}")
    ids = None
    if args.claim:
        cid = args.claim.upper()
        ids = [cid]
    with cluster_context(args.cluster) as executor:  # an unreachable scheduler is refused here, before any check runs
        verdicts = claims.run_ledger(search=args.search, ids=ids, rows=args.rows, seed=args.seed, executor=executor)
    recorded = claims.recorded_verdicts()
    if args.claim:
        v = verdicts[0]
        if v.minimality is not None and "certificate" in v.minimality:
            from ..ledger.minimality import minimality_for

            # a reader asking about one claim gets its minimality certificate re-verified now
            v.minimality = minimality_for(v.claim_id, v.counterexample.n, check_certificate=True)
        print(claims.format_detail(v))
    else:
        print(claims.format_table(verdicts, recorded))
    if args.json:
        text = json.dumps([v.to_json() for v in verdicts], indent=1)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
    if args.record:
        if ids is not None:
            raise ValueError("--record writes the whole ledger: use it without --claim")
        claims.write_ledger(verdicts)
        print(f"recorded {len(verdicts)} verdicts in {registry.LEDGER_PATH}")
        return 0
    changed = [v.claim_id for v in verdicts if recorded.get(v.claim_id, {}).get("verdict", v.verdict) != v.verdict]
    missing = [v.claim_id for v in verdicts if v.claim_id not in recorded]
    if missing:
        print(f"note: no recorded verdict for {', '.join(missing)}", file=sys.stderr)
    if changed:
        print(f"verdict changed from the recorded one: {', '.join(changed)}", file=sys.stderr)
        return 1
    return 0
