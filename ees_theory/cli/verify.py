"""``ees-theory verify``: the headline verification on the built-in default.

1. the certified reference on the built-in default rows (hand-checkable cases and a 131,072-token
   row), each decision certified;
2. the claims ledger (every verdict re-established and compared with the recorded one);
3. the built-in float variants against the golden conformance vectors.

Prints a summary that fits on one screen (a line per check group with its counts, any failing
item by name, then the verdict); ``--verbose`` prints every row, claim and configuration.
Exit status 0 only when every step passes.
"""

from __future__ import annotations

import time

import numpy as np

from ..reference import ees, from_probs


def register(sub) -> None:
    p = sub.add_parser("verify", help="run the headline verification (reference, claims ledger, built-in variants)",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("--quick", action="store_true", help="skip the large-vocabulary row")
    p.add_argument("-v", "--verbose", action="store_true", help="print every row, claim and configuration (the full table)")
    p.set_defaults(func=run)


def reference_selfcheck(quick: bool = False) -> list[tuple[str, bool, str]]:
    """Certified reference on the default rows: ``(name, passed, detail)`` per row.

    The expected kept counts of the small rows are worked out by hand in ``tests/test_reference_ees.py``.

    >>> all(ok for _, ok, _ in reference_selfcheck(quick=True))
    True
    """
    checks = []
    cases = [
        ("probs (0.5, 0.3, 0.2)", from_probs([0.5, 0.3, 0.2]), 2),
        ("logits (2, 1, 0)", [2.0, 1.0, 0.0], 1),
        ("uniform over 8", [0.0] * 8, 8),
    ]
    for name, row, want in cases:
        r = ees(row)
        ok = r.certified and r.k == want
        checks.append((name, ok, f"k* = {r.k} (expected {want}), certified={r.certified}"))
    if not quick:
        z = np.random.default_rng(0).normal(0.0, 2.0, 131072).astype(np.float32)
        t = time.perf_counter()
        r = ees(z)
        dt = time.perf_counter() - t
        ok = r.certified and 1 <= r.k < r.n
        checks.append(("normal(0, 2) logits, V = 131072 (seed 0)", ok,
                       f"k* = {r.k}, certified={r.certified}, margin {r.margin:.2e}, {dt * 1e3:.0f} ms"))
    return checks


def ledger_check() -> tuple[list, list[str]]:
    """Re-establish every claim's verdict; return the verdicts and the ids whose verdict differs
    from the one recorded in the package ledger (or that have no recorded verdict)."""
    from ..ledger import claims

    verdicts = claims.run_ledger()
    recorded = claims.recorded_verdicts()
    drifted = [v.claim_id for v in verdicts if recorded.get(v.claim_id, {}).get("verdict") != v.verdict]
    return verdicts, drifted


def builtin_conformance() -> list:
    """The built-in float variants on the golden vectors, per method, dtype and accumulation mode."""
    from ..harness import check_builtin

    return check_builtin()


def summary_lines(ref: list, verdicts: list, drifted: list[str], conformance: list) -> list[str]:
    """The one-screen summary: a line per check group with its counts (the verdict line follows).

    >>> ref = [("a", True, ""), ("b", True, "")]
    >>> print("\\n".join(summary_lines(ref, [], [], [])))
    reference      2 default rows: 2 passed, 0 failed
    claims         0 claims re-established: 0 proved, 0 refuted, 0 open; 0 drifted from the record, 0 undecided comparisons
    conformance    0 configurations (0 cases): 0 passed, 0 admissible, 0 failed, 0 skipped; 0 configurations failed
    """
    ref_failed = sum(not ok for _, ok, _ in ref)
    tally = {k: sum(v.verdict == k for v in verdicts) for k in ("proved", "refuted", "open")}
    undecided = sum(v.undecided for v in verdicts)
    totals = {k: 0 for k in ("cases", "passed", "admissible", "failed", "skipped")}
    for r in conformance:
        c = r.counts()
        for k in totals:
            totals[k] += c[k]
    bad_configs = sum(not r.ok for r in conformance)
    return [
        f"{'reference':<14} {len(ref)} default rows: {len(ref) - ref_failed} passed, {ref_failed} failed",
        f"{'claims':<14} {len(verdicts)} claims re-established: {tally['proved']} proved, {tally['refuted']} refuted, "
        f"{tally['open']} open; {len(drifted)} drifted from the record, {undecided} undecided comparisons",
        f"{'conformance':<14} {len(conformance)} configurations ({totals['cases']} cases): {totals['passed']} passed, "
        f"{totals['admissible']} admissible, {totals['failed']} failed, {totals['skipped']} skipped; {bad_configs} configurations failed",
    ]


def run(args) -> int:
    ref = reference_selfcheck(args.quick)
    verdicts, drifted = ledger_check()
    conformance = builtin_conformance()
    failures = sum(not ok for _, ok, _ in ref) + len(drifted) + sum(not r.ok for r in conformance)
    if not args.verbose:
        print("ees-theory verify: certified reference, claims ledger, built-in variants on the golden vectors")
        print("\n".join(summary_lines(ref, verdicts, drifted, conformance)))
        for name, ok, detail in ref:
            if not ok:
                print(f"  FAIL reference {name}: {detail}")
        for cid in drifted:
            print(f"  FAIL claim {cid}: verdict differs from the recorded one")
        for r in conformance:
            if not r.ok:
                print(f"  FAIL conformance {r.method} {r.options.policy} {r.dtype} accumulate={r.options.accumulate}")
        print("(--verbose prints every row, claim and configuration)")
        print(f"verify: {'all checks passed' if not failures else f'{failures} check(s) FAILED'}")
        return 1 if failures else 0

    print("== 1. certified reference on the built-in default rows")
    for name, ok, detail in ref:
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}: {detail}")

    print("\n== 2. claims ledger (verdicts re-established now, compared with the recorded ones)")
    for v in verdicts:
        mark = "FAIL" if v.claim_id in drifted else "PASS"
        undecided = f", {v.undecided} undecided" if v.undecided else ""
        print(f"  [{mark}] {v.claim_id:<15} {v.verdict:<8} {v.evidence[:110]}{undecided}")
    tally = {k: sum(v.verdict == k for v in verdicts) for k in ("proved", "refuted", "open")}
    print(f"  {tally['proved']} proved, {tally['refuted']} refuted, {tally['open']} open")

    print("\n== 3. built-in float variants on the golden vectors (admissible = inside the dtype's error bound)")
    print(f"  {'method':<12} {'policy':<13} {'dtype':<9} {'accumulate':<10} {'cases':>5} {'passed':>6} {'admiss.':>7} {'failed':>6} {'skipped':>7}")
    for r in conformance:
        c = r.counts()
        print(f"  {r.method:<12} {r.options.policy:<13} {r.dtype:<9} {r.options.accumulate:<10} {c['cases']:>5} {c['passed']:>6} "
              f"{c['admissible']:>7} {c['failed']:>6} {c['skipped']:>7}  {'PASS' if r.ok else 'FAIL'}")
    print("  (skipped: vectors whose logits are not exactly representable in that dtype)")
    print(f"\nverify: {'all checks passed' if not failures else f'{failures} check(s) FAILED'}")
    return 1 if failures else 0
