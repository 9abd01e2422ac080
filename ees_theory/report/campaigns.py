"""The book's two expensive measurements, run once and committed: the stress campaign and the
precision sweep.

The stress and precision chapters show what the harness and the float kernels did on thousands
of rows (minutes of work on two cores). Running that on every build of the book would make the
build slow without making it more true, so each campaign is a function here, its results are
committed next to the notebook that shows them (``notebooks/stress_results.json``,
``notebooks/precision_results.json``), and ``tests/test_book_campaigns.py`` runs the function
again and compares: a change that moves a number fails that test until the file is regenerated
with ``python -m ees_theory.report.campaigns stress|precision OUT.json``.

Nothing here judges: the verdicts, counts and bounds are the harness's, the kernels' and the
reference's; a campaign only runs them on fixed seeds and keeps the fields the chapters show.

>>> sorted(CAMPAIGNS)
['precision', 'stress']
>>> compact_record({"case": "c1", "family": "normal", "vocab": 8, "params": {"temperature": 1.0}, "status": "pass",
...                 "severity": 0.5, "details": {"expected_k": 3, "got_k": 3, "margin": 0.1, "bound": 0.01, "n": 8}})
{'case': 'c1', 'family': 'normal', 'vocab': 8, 'temperature': 1.0, 'status': 'pass', 'expected_k': 3, 'got_k': 3, 'margin': 0.1, 'bound': 0.01}
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

__all__ = ["CAMPAIGNS", "STRESS_DTYPES", "STRESS_VOCABS", "STRESS_TEMPERATURES", "PRECISION_VOCABS", "compact_record",
           "stress_campaign", "precision_campaign", "load", "dump", "main"]

#: The dtypes, vocabulary sizes and temperature sweep of the stress chapter's EES runs.
STRESS_DTYPES = ("float32", "float16", "bfloat16")
STRESS_VOCABS = (8, 64, 512, 2048)
STRESS_TEMPERATURES = "0.01:100:5"
#: The vocabulary sizes of the precision chapter's sweep (10 rows per family, dtype and size).
PRECISION_VOCABS = (64, 1024, 8192)


def compact_record(r: dict) -> dict:
    """The fields of a harness record the stress chapter shows (the rest is large and unused)."""
    d = r.get("details") or {}
    return {"case": r["case"], "family": r["family"], "vocab": r["vocab"], "temperature": r["params"].get("temperature"),
            "status": r["status"], "expected_k": d.get("expected_k"), "got_k": d.get("got_k"), "margin": d.get("margin"),
            "bound": d.get("bound")}


def stress_campaign() -> dict[str, Any]:
    """The stress chapter's runs of the built-in kernels: EES in every dtype and accumulation mode
    (20 rows per family at vocabularies 8 to 2048, five temperatures), one bfloat16 row per family
    at 65,536 tokens, and EDT and dynatemp in float16 and bfloat16.

    Raises ``AssertionError`` if a kernel disagrees with the reference outside its error band
    (the chapter says none does).
    """
    from .. import harness as cf
    from ..cli.stress import parse_sweep, stress_summary
    from ..families import distributions
    from ..tolerances import ACCUMULATE

    temperatures = parse_sweep(STRESS_TEMPERATURES)
    families = distributions.FAMILY_NAMES

    def stress(method, dtype, accumulate, cases):
        port = cf.open_port(f"builtin:{accumulate}", method, dtype)
        return cf.run_check(port, method, dtype, cases, options=cf.Options(accumulate=accumulate), port_spec=f"{dtype}:{accumulate}")

    ees = {}
    for dtype in STRESS_DTYPES:
        cases = cf.generated_cases("ees", dtype, 20 * len(families), seed=11, vocabs=STRESS_VOCABS, params={"temperature": temperatures})
        for accumulate in ACCUMULATE:
            report = stress("ees", dtype, accumulate, cases)
            assert report.ok, f"ees {dtype}/{accumulate}: a built-in kernel disagreed outside its error bound"
            ees[f"{dtype}:{accumulate}"] = {"summary": stress_summary(report), "records": [compact_record(r) for r in report.records]}

    large = []
    cases = cf.generated_cases("ees", "bfloat16", len(families), seed=5, vocabs=[65536])
    for accumulate in ACCUMULATE:
        report = stress("ees", "bfloat16", accumulate, cases)
        assert report.ok, f"ees bfloat16/{accumulate} at 65,536 tokens: a disagreement outside the error bound"
        t, s = report.counts(), stress_summary(report)
        large.append({"dtype": "bfloat16", "accumulate": accumulate, "rows": t["cases"], "passed": t["passed"],
                      "admissible": t["admissible"], "failed": t["failed"], "nan_or_inf": s["nan_or_inf"]})

    temperature = []
    for method, swept in (("edt", "T0"), ("dynatemp", "temp")):
        for dtype in ("float16", "bfloat16"):
            cases = cf.generated_cases(method, dtype, 2 * len(families), seed=3, vocabs=(8, 64, 512), params={swept: temperatures})
            for accumulate in ACCUMULATE:
                report = stress(method, dtype, accumulate, cases)
                assert report.ok, f"{method} {dtype}/{accumulate}: a disagreement outside the error bound"
                s = stress_summary(report)
                worst = max((r["severity"] for r in report.records if r["severity"] is not None), default=0.0)
                temperature.append({"method": method, "dtype": dtype, "accumulate": accumulate, "rows": s["rows"],
                                    "outside": s["disagree_outside_bound"], "within": s["disagree_within_bound"],
                                    "nan_or_inf": s["nan_or_inf"], "worst_severity": worst})
    return {"campaign": "stress", "families": list(families), "ees": ees, "large": large, "temperature": temperature}


def precision_campaign() -> dict[str, Any]:
    """The precision chapter's sweep: 10 rows per family, dtype and vocabulary size (each exact in
    its dtype), the certified reference's ``k*`` and margin, the kernel's count in each
    accumulation mode, and the a-priori error bound of the row's size and range.

    Each record is ``[dtype, accumulate, family, vocab, k_reference, k_kernel, margin, bound]``.
    Raises ``AssertionError`` if a reference decision is not certified.
    """
    import numpy as np
    import torch

    from .. import reference
    from .. import torch as et_torch
    from ..families.distributions import FAMILY_NAMES, sample
    from ..tolerances import ees_gap_bound

    rng = np.random.default_rng(20251204)
    dtypes = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    records = []
    for dtype, torch_dtype in dtypes.items():
        for family in FAMILY_NAMES:
            for vocab in PRECISION_VOCABS:
                rows = np.stack([sample(family, rng, vocab, dtype=dtype) for _ in range(10)])
                refs = [reference.ees(z) for z in rows]
                assert all(r.certified for r in refs), f"{dtype} {family} {vocab}: an uncertified reference decision"
                x = torch.tensor(rows).to(torch_dtype)  # exact: the rows are representable in dtype
                for accumulate in ("input", "float32"):
                    k_float = et_torch.ees_keep_count(x, accumulate=accumulate).numpy()
                    for z, r, k in zip(rows, refs, k_float):
                        finite = z[np.isfinite(z)]
                        bound = ees_gap_bound(dtype, accumulate, n=r.n, logit_range=float(finite.max() - finite.min()))
                        records.append([dtype, accumulate, family, vocab, r.k, int(k), float(r.margin), float(bound)])
    return {"campaign": "precision", "records": records}


#: Each campaign by name: the function that runs it.
CAMPAIGNS: dict[str, Callable[[], dict[str, Any]]] = {"stress": stress_campaign, "precision": precision_campaign}


def dump(results: dict[str, Any], path: str | Path) -> None:
    """Write a campaign's results as JSON (``inf`` as ``Infinity``, which :func:`load` reads back)."""
    Path(path).write_text(json.dumps(results, indent=None, separators=(",", ":")) + "\n", encoding="utf-8")


def load(path: str | Path, campaign: str | None = None) -> dict[str, Any]:
    """Read committed results; with ``campaign``, check that the file holds that campaign.

    >>> load(__file__)
    Traceback (most recent call last):
    ...
    ValueError: ...campaigns.py is not a campaign results file (not JSON)
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise ValueError(f"{path} is not a campaign results file (not JSON)") from None
    if campaign is not None and data.get("campaign") != campaign:
        raise ValueError(f"{path} holds campaign {data.get('campaign')!r}, not {campaign!r}")
    return data


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in CAMPAIGNS:
        print(f"usage: python -m ees_theory.report.campaigns {{{'|'.join(CAMPAIGNS)}}} OUT.json", file=sys.stderr)
        return 2
    dump(CAMPAIGNS[args[0]](), args[1])
    return 0


if __name__ == "__main__":  # pragma: no cover - the command line
    raise SystemExit(main())
