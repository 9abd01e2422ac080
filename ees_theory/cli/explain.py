"""``ees-theory explain``: the EES equilibrium of one row, step by step, with its certificate.

Prints the head of the curve ``k, Hbar_k, P_k, f(k)`` and the neighbourhood of each sign change,
``k*`` and whether every deciding comparison is certified, and (when asked) the EDT and dynatemp
temperatures. ``--plot`` draws ``Hbar_k`` and ``P_k`` against ``k``; ``--json`` writes the same
facts for machines.
"""

from __future__ import annotations

import json
import math
import sys

import mpmath
import numpy as np

from .. import spec
from ..reference import Decision, EESResult, dynatemp_temperature, edt_temperature, ees
from ._inputs import add_row_arguments, row_from_args

HEAD_ROWS = 8
NEIGHBOURHOOD = 2


def register(sub) -> None:
    p = sub.add_parser("explain", help="show the EES equilibrium of one row with its certificate",
                       description=__doc__.split("\n\n")[1])
    add_row_arguments(p)
    p.add_argument("--temperature", "-t", type=float, default=1.0, help="temperature applied before EES (default 1)")
    p.add_argument("--rule", choices=spec.RULES, default=spec.DEFAULT_RULE)
    p.add_argument("--min-tokens-to-keep", "-m", type=int, default=1)
    p.add_argument("--edt", metavar="T0,THETA[,N]", help="also print the EDT temperature for these parameters")
    p.add_argument("--entropy-of", choices=spec.ENTROPY_OF, default="raw", help="EDT entropy of raw or tempered probs")
    p.add_argument("--dynatemp", metavar="TEMP,DELTA,EXPONENT", help="also print llama.cpp's dynatemp temperature")
    p.add_argument("--plot", metavar="FILE.png", help="draw Hbar_k and P_k against k with the crossing marked")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.set_defaults(func=run)


def _floats(text: str, name: str, count: tuple[int, ...]) -> list[float]:
    try:
        vals = [float(t) for t in text.split(",")]
    except ValueError:
        raise ValueError(f"--{name} expects comma-separated numbers, got {text!r}") from None
    if len(vals) not in count:
        raise ValueError(f"--{name} expects {' or '.join(map(str, count))} numbers, got {len(vals)}")
    return vals


def shown_indices(f_mid: np.ndarray, n: int) -> list[int]:
    """The ``k`` to show: the head, and the neighbourhood of each sign change of ``f``.

    >>> f = np.concatenate([[np.nan], np.linspace(0.5, 0.01, 13), np.linspace(-0.01, -0.5, 16)])
    >>> shown_indices(f, 30)           # head 2..9, f(14) >= 0 > f(15) with 2 on each side, and n
    [2, 3, 4, 5, 6, 7, 8, 9, 13, 14, 15, 16, 17, 30]
    """
    ks = set(range(2, min(n, HEAD_ROWS + 1) + 1))
    sign = f_mid[1:] < 0
    for j in np.flatnonzero(sign[1:] != sign[:-1]):
        k = int(j) + 3  # f(k) and f(k-1) differ in sign
        ks.update(range(max(2, k - NEIGHBOURHOOD), min(n, k + NEIGHBOURHOOD) + 1))
    ks.add(n)
    return sorted(k for k in ks if k >= 2)


def _rows(r: EESResult) -> list[dict]:
    enc = r.enclosure
    decided = {c.k: c for c in r.decisions}
    rows = []
    for k in shown_indices(enc.f_mid, r.n):
        i = k - 1
        c = decided.get(k)
        lo, hi = (c.f_lo, c.f_hi) if c else (float(enc.f_lo[i]), float(enc.f_hi[i]))
        if c is not None and c.decision is not Decision.UNDECIDED:
            sign = "<0" if c.decision is Decision.TRUE else ">=0"
        else:
            sign = "<0" if hi < 0 else (">=0" if lo >= 0 else "?")
        rows.append({
            "k": k,
            "hbar": 0.5 * float(enc.hbar_lo[i] + enc.hbar_hi[i]),
            "P": 0.5 * float(enc.P_lo[i] + enc.P_hi[i]),
            "f": 0.5 * (lo + hi),
            "f_lo": lo,
            "f_hi": hi,
            "sign": sign,
            "decisive": c is not None,
            "method": c.method if c else None,
        })
    return rows


def explain(row, temperature=1.0, rule=spec.DEFAULT_RULE, min_tokens_to_keep=1, edt=None, entropy_of="raw", dynatemp=None) -> dict:
    """Everything ``explain`` reports, as a dictionary.

    >>> from ees_theory.reference import from_probs
    >>> d = explain(from_probs([0.5, 0.3, 0.2]))
    >>> d["k"], d["kept"], d["certified"], [r["sign"] for r in d["rows"]]
    (2, [0, 1], True, ['>=0', '<0'])
    """
    r = ees(row, temperature=temperature, min_tokens_to_keep=min_tokens_to_keep, rule=rule)
    out = {
        "rule": rule,
        "temperature": temperature,
        "min_tokens_to_keep": min_tokens_to_keep,
        "n": r.n,
        "size": r.row.size,
        "k": r.k,
        "kept": list(r.kept),
        "certified": r.certified,
        "margin": r.margin if math.isfinite(r.margin) else None,
        "undecided": [c.k for c in r.undecided],
        "rows": _rows(r) if r.n >= 2 else [],
    }
    if edt is not None:
        T0, theta, *rest = edt
        T = edt_temperature(row, T0, theta, *(rest or [spec.EDT_DEFAULT_N]), entropy_of=entropy_of)
        out["edt"] = {"T0": T0, "theta": theta, "N": rest[0] if rest else spec.EDT_DEFAULT_N,
                      "entropy_of": entropy_of, "T": mpmath.nstr(T, 20)}
    if dynatemp is not None:
        T = dynatemp_temperature(row, *dynatemp)
        out["dynatemp"] = {"temp": dynatemp[0], "delta": dynatemp[1], "exponent": dynatemp[2],
                           "T": None if T is None else mpmath.nstr(T, 20)}
    out["_result"] = r
    return out


def format_table(d: dict) -> str:
    """The human-readable report."""
    lines = [
        f"EES ({d['rule']}), temperature {d['temperature']:g}, min_tokens_to_keep {d['min_tokens_to_keep']}: "
        f"{d['n']} candidates of {d['size']} tokens",
        "",
        f"{'k':>8}  {'Hbar_k':>14}  {'P_k':>14}  {'f(k) = Hbar_k - P_k':>22}  {'sign':>4}  decided by",
    ]
    prev = None
    for row in d["rows"]:
        if prev is not None and row["k"] > prev + 1:
            lines.append(f"{'...':>8}")
        how = row["method"] or ""
        lines.append(f"{row['k']:>8}  {row['hbar']:>14.10f}  {row['P']:>14.10f}  {row['f']:>22.14g}  {row['sign']:>4}  {how}")
        prev = row["k"]
    lines.append("")
    kept = d["kept"] if len(d["kept"]) <= 12 else d["kept"][:12] + ["..."]
    lines.append(f"k* = {d['k']}   kept ids (sorted): {', '.join(map(str, kept))}")
    cert = "yes" if d["certified"] else f"NO: undecided at k = {d['undecided']}"
    margin = f", smallest certified |f| = {d['margin']:.3g}" if d["margin"] is not None else ""
    lines.append(f"certified: {cert}{margin}")
    if "edt" in d:
        e = d["edt"]
        lines.append(f"EDT temperature (T0={e['T0']:g}, theta={e['theta']:g}, N={e['N']:g}, entropy of {e['entropy_of']}): {e['T']}")
    if "dynatemp" in d:
        e = d["dynatemp"]
        T = "no-op (n <= 1)" if e["T"] is None else e["T"]
        lines.append(f"dynatemp temperature (temp={e['temp']:g}, delta={e['delta']:g}, exponent={e['exponent']:g}): {T}")
    return "\n".join(lines)


def plot(d: dict, path: str) -> None:
    """Draw ``Hbar_k`` and ``P_k`` against ``k`` with the crossing marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r: EESResult = d["_result"]
    if r.n < 2:
        raise ValueError("nothing to plot: the row has a single candidate")
    enc = r.enclosure
    k = np.arange(2, r.n + 1)
    hbar = 0.5 * (enc.hbar_lo[1:] + enc.hbar_hi[1:])
    P = 0.5 * (enc.P_lo[1:] + enc.P_hi[1:])
    fig, ax = plt.subplots(figsize=(7, 4.2))
    marker = "o" if r.n <= 40 else None
    ax.plot(k, hbar, marker=marker, ms=3, label=r"$\bar H_k$ (normalised entropy of top-$k$)")
    ax.plot(k, P, marker=marker, ms=3, label=r"$P_k$ (top-$k$ mass)")
    crossings = [c.k for c in r.decisions if c.decision is Decision.TRUE]
    if crossings and d["rule"] != "last":
        i_star = crossings[-1]
        ax.axvline(i_star, color="C3", ls="--", lw=1, label=f"first crossing $i^*={i_star}$")
    ax.axvline(r.k, color="k", ls=":", lw=1, label=f"$k^*={r.k}$ kept")
    if r.n > 50:
        ax.set_xscale("log")
    else:  # k is an integer: no fractional ticks
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("k (tokens in probability order)")
    ax.set_ylabel("value")
    ax.set_ylim(-0.02, 1.02)
    cert = "certified" if r.certified else "NOT certified"
    ax.set_title(f"EES equilibrium: $k^*={r.k}$ of n={r.n} ({cert}), T={d['temperature']:g}")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _json_safe(x):
    """``x`` with every non-finite float replaced (NaN by ``null``, infinities by ``"inf"`` /
    ``"-inf"``): the output stays valid JSON (which has no NaN).

    >>> _json_safe({"a": [1.0, float("nan"), -float("inf")]})
    {'a': [1.0, None, '-inf']}
    """
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else (None if math.isnan(x) else ("inf" if x > 0 else "-inf"))
    return x


def run(args) -> int:
    row = row_from_args(args)
    edt = _floats(args.edt, "edt", (2, 3)) if args.edt else None
    dyn = _floats(args.dynatemp, "dynatemp", (3,)) if args.dynatemp else None
    d = explain(row, args.temperature, args.rule, args.min_tokens_to_keep, edt, args.entropy_of, dyn)
    if args.plot:
        plot(d, args.plot)
    if args.json:
        json.dump(_json_safe({k: v for k, v in d.items() if not k.startswith("_")}), sys.stdout, indent=2, allow_nan=False)
        print()
    else:
        print(format_table(d))
        if args.plot:
            print(f"plot written to {args.plot}")
    return 0
