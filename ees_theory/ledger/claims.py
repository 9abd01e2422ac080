"""The claims ledger: one executable check per claim id of SPEC section 5, returning a verdict.

A verdict is **proved** (a written proof in ``proofs/<id>.md``, exercised by a property test and
by a certified spot check here), **refuted** (a counterexample whose every sign is certified by
the exact reference, stored as hex floats in ``ledger/verdicts.json`` and re-certified on every
run) or **open** (with the evidence gathered). :func:`run_ledger` runs every registered check;
with ``search=True`` the refuted claims are searched for afresh (structured families, temperature
sweeps, a hill climb on the equilibrium gap) and the proved ones are spot-checked on many more rows.

Other modules add claims with :func:`register_claim`; ``ees_theory.ledger.truncation_claims`` is imported
(when it exists) so that its claims join the ledger.

>>> v = {x.claim_id: x for x in run_ledger(ids=["EES-MONO", "EES-INCR"])}
>>> v["EES-MONO"].verdict, v["EES-MONO"].counterexample.n
('refuted', 3)
>>> v["EES-INCR"].verdict
'proved'
"""

from __future__ import annotations

import importlib
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import mpmath
import numpy as np

from ..families import distributions as dist
from .. import spec
from ..reference import curve_enclosure, dynatemp_temperature, edt_temperature, ees, entropy, softmax
from ..reference.rows import as_row
from .minimality import format_minimality, minimality_for

__all__ = [
    "VERDICTS",
    "GapRow",
    "Counterexample",
    "Verdict",
    "Claim",
    "CheckContext",
    "CLAIM_REGISTRY",
    "register_claim",
    "run_ledger",
    "recorded_verdicts",
    "write_ledger",
    "format_table",
    "format_detail",
    "certified_gaps",
    "to_hex",
    "from_hex",
    "LEDGER_PATH",
]

VERDICTS = ("proved", "refuted", "open")
LEDGER_PATH = Path(__file__).resolve().parent / "verdicts.json"
PROOFS_DIR = "proofs"


# ---- exact float I/O --------------------------------------------------------------------------


def to_hex(values: Iterable[float]) -> list[str]:
    """Floats as exact hex strings (``-inf`` as ``"-inf"``).

    >>> to_hex([1.5, -float("inf")])
    ['0x1.8000000000000p+0', '-inf']
    """
    return [float(v).hex() if math.isfinite(v) else str(float(v)) for v in values]


def from_hex(values: Iterable[str]) -> np.ndarray:
    """The inverse of :func:`to_hex`.

    >>> from_hex(['0x1.8p+0', '-inf']).tolist()
    [1.5, -inf]
    """
    return np.array([float.fromhex(v) if "0x" in v.lower() else float(v) for v in values], dtype=np.float64)


# ---- certified gap tables ----------------------------------------------------------------------


@dataclass(frozen=True)
class GapRow:
    """The certified sign of ``f(k)`` with bounds ``f_lo <= f(k) <= f_hi``.

    ``sign`` is ``"+"`` (``f > 0``), ``">=0"`` (``f >= 0``, certified, with 0 not excluded),
    ``"-"`` (``f < 0``) or ``"?"`` (undecided within the precision limit).
    """

    k: int
    f_lo: float
    f_hi: float
    sign: str
    method: str


def certified_gaps(logits: Any, temperature: float = 1.0, ks: Iterable[int] | None = None, max_prec: int = 4096) -> tuple[GapRow, ...]:
    """Certified signs of ``f(k)`` for ``k`` in ``ks`` (default ``2..n``).

    The reference's float64 enclosure decides most ``k``; each remaining one is escalated by the
    reference itself (``ees(..., min_tokens_to_keep=k - 1)`` makes ``k`` its first decisive
    comparison, decided by structure or by ``mpmath`` interval arithmetic).

    >>> [(g.k, g.sign) for g in certified_gaps([0.0, -3.0, -3.0])]
    [(2, '-'), (3, '-')]
    """
    row = as_row(logits)
    tau = spec.check_temperature(temperature)
    if row.n < 2:
        return ()
    enc = curve_enclosure(row, tau)
    out = []
    for k in range(2, row.n + 1) if ks is None else ks:
        lo, hi = float(enc.f_lo[k - 1]), float(enc.f_hi[k - 1])
        if lo > 0 or hi < 0:
            out.append(GapRow(k, lo, hi, "+" if lo > 0 else "-", "float64"))
            continue
        r = ees(row, tau, min_tokens_to_keep=k - 1, max_prec=max_prec)
        c = r.decisions[0]
        if c.k != k:  # cannot happen: k is the first comparison the reference makes
            raise AssertionError(f"expected the comparison at k={k}, got {c.k}")
        sign = "?" if c.crossing is None else ("-" if c.crossing else ("+" if c.f_lo > 0 else ">=0"))
        out.append(GapRow(k, c.f_lo, c.f_hi, sign, c.method))
    return tuple(out)


def _float_f(z: np.ndarray, tau: float = 1.0) -> np.ndarray:
    """Search heuristic only: float64 midpoints of the reference's curve enclosure, ``k = 2..n``."""
    return curve_enclosure(as_row(z), tau).f_mid[1:]


# ---- verdicts ----------------------------------------------------------------------------------


@dataclass
class Counterexample:
    """A certified counterexample: logits (exact hex floats), the parameters, the gap table."""

    logits: list[str]
    n: int
    temperatures: list[float]
    params: dict
    summary: str
    gaps: list[GapRow] = field(default_factory=list)
    certified: bool = False

    def to_json(self) -> dict:
        d = asdict(self)
        d["gaps"] = [asdict(g) for g in self.gaps]
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Counterexample":
        d = dict(d)
        d["gaps"] = [GapRow(**g) for g in d.get("gaps", [])]
        return cls(**d)

    @property
    def row(self) -> np.ndarray:
        return from_hex(self.logits)


@dataclass
class Verdict:
    """The ledger entry of one claim."""

    claim_id: str
    statement: str
    verdict: str
    evidence: str
    proof: str
    test: str
    counterexample: Counterexample | None = None
    undecided: int = 0
    seconds: float = 0.0
    minimality: dict | None = None  # refuted claims: is the counterexample's size the smallest possible?

    def to_json(self) -> dict:
        d = asdict(self)
        d["counterexample"] = self.counterexample.to_json() if self.counterexample else None
        return d


@dataclass
class CheckContext:
    """What a check gets: whether to search, the row budget, a seeded generator, the stored record."""

    search: bool
    rows: int
    rng: np.random.Generator
    recorded: dict


@dataclass(frozen=True)
class Claim:
    """A registered claim: its check returns ``(verdict, evidence, counterexample, undecided)``."""

    claim_id: str
    statement: str
    check: Callable[[CheckContext], tuple]
    proof: str
    test: str


#: Registered claims, by id, in registration order.
CLAIM_REGISTRY: dict[str, Claim] = {}


def register_claim(claim_id: str, statement: str | None = None, *, proof: str | None = None, test: str):
    """Decorator registering ``check(ctx) -> (verdict, evidence, counterexample | None, undecided)``.

    ``statement`` defaults to ``spec.CLAIMS[claim_id]``; ``proof`` to ``proofs/<id lower>.md``;
    ``test`` names the property test (a pytest node id) that exercises the claim.

    >>> @register_claim("DEMO-ONE", "1 + 1 = 2", test="tests/test_claims.py::test_registry")
    ... def _demo(ctx):
    ...     return "proved", "arithmetic", None, 0
    >>> run_ledger(ids=["DEMO-ONE"])[0].verdict
    'proved'
    >>> _ = CLAIM_REGISTRY.pop("DEMO-ONE")
    """
    if statement is None:
        if claim_id not in spec.CLAIMS:
            raise ValueError(f"claim {claim_id!r} is not in SPEC section 5: give its statement")
        statement = spec.CLAIMS[claim_id]

    def wrap(check):
        CLAIM_REGISTRY[claim_id] = Claim(claim_id, statement, check, proof or f"{PROOFS_DIR}/{claim_id.lower()}.md", test)
        return check

    return wrap


def recorded_verdicts(path: Path | str | None = None) -> dict[str, dict]:
    """The verdicts recorded in the repository (``ledger/verdicts.json``), by claim id."""
    p = Path(LEDGER_PATH if path is None else path)
    if not p.exists():
        return {}
    return json.loads(p.read_text(encoding="utf-8"))["claims"]


def write_ledger(verdicts: list[Verdict], path: Path | str | None = None) -> None:
    """Record verdicts (with their counterexamples) as the repository's ledger."""
    data = {"format": 1, "claims": {v.claim_id: {"verdict": v.verdict, "counterexample": v.counterexample.to_json() if v.counterexample else None} for v in verdicts}}
    Path(LEDGER_PATH if path is None else path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _load_extensions() -> None:
    try:
        importlib.import_module(".truncation_claims", __package__)
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.truncation_claims":
            raise


def run_ledger(search: bool = False, ids: Iterable[str] | None = None, rows: int | None = None, seed: int = 0, path: Path | str | None = None) -> list[Verdict]:
    """Run the checks (every registered claim, or ``ids``) and return their verdicts.

    ``search=False`` re-certifies the stored counterexamples and spot-checks the proved claims on
    ``rows`` rows (default 12); ``search=True`` searches afresh and checks 10x more rows.
    """
    _load_extensions()
    recorded = recorded_verdicts(path)
    wanted = list(CLAIM_REGISTRY) if ids is None else list(ids)
    unknown = [i for i in wanted if i not in CLAIM_REGISTRY]
    if unknown:
        raise ValueError(f"unknown claim id(s) {', '.join(unknown)}; known: {', '.join(CLAIM_REGISTRY)}")
    budget = rows if rows is not None else (120 if search else 12)
    out = []
    for cid in wanted:
        claim = CLAIM_REGISTRY[cid]
        ctx = CheckContext(search, budget, np.random.default_rng([seed, len(cid)]), recorded.get(cid, {}))
        t0 = time.perf_counter()
        verdict, evidence, cex, undecided = claim.check(ctx)
        if verdict not in VERDICTS:
            raise ValueError(f"check of {cid} returned {verdict!r}, not one of {VERDICTS}")
        mini = minimality_for(cid, cex.n) if verdict == "refuted" and cex is not None else None
        out.append(Verdict(cid, claim.statement, verdict, evidence, claim.proof, claim.test, cex, undecided, time.perf_counter() - t0, mini))
    return out


def format_table(verdicts: list[Verdict], recorded: dict | None = None) -> str:
    """The ledger as a text table: id, claim, verdict, evidence (one line each)."""
    recorded = recorded_verdicts() if recorded is None else recorded
    rows = [("id", "verdict", "claim", "evidence")]
    for v in verdicts:
        was = recorded.get(v.claim_id, {}).get("verdict")
        flag = "" if was in (None, v.verdict) else f" (recorded: {was}!)"
        claim = v.statement if len(v.statement) <= 60 else v.statement[:57] + "..."
        rows.append((v.claim_id, v.verdict + flag, claim, v.evidence))
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  {r[3]}" for r in rows]
    lines.insert(1, "-" * min(200, sum(w) + 6 + max(len(r[3]) for r in rows)))
    return "\n".join(lines)


def format_detail(v: Verdict) -> str:
    """One claim in detail, with its counterexample's certified gap table."""
    lines = [f"{v.claim_id}: {v.statement}", f"verdict:  {v.verdict}", f"evidence: {v.evidence}", f"proof:    {v.proof}", f"test:     {v.test}"]
    if v.undecided:
        lines.append(f"undecided comparisons: {v.undecided}")
    c = v.counterexample
    if c is not None:
        lines += [f"counterexample (n = {c.n}, certified = {c.certified}): {c.summary}", f"  temperatures: {c.temperatures}", f"  params: {c.params}"]
        lines.append("  logits (exact): [" + ", ".join(c.logits) + "]")
        if c.gaps:
            lines.append(f"  {'k':>6}  {'sign':>4}  {'f_lo':>24}  {'f_hi':>24}  method")
            for g in c.gaps:
                lines.append(f"  {g.k:>6}  {g.sign:>4}  {g.f_lo:>24.17g}  {g.f_hi:>24.17g}  {g.method}")
    if v.minimality is not None:
        lines.append(format_minimality(v.minimality))
    return "\n".join(lines)


# ---- the search: structured families, temperature sweeps, a hill climb on the gap ------------

_SEARCH_FAMILIES = ("head_tail", "tied_top", "peaked", "bimodal", "zipf", "normal", "near_tie")


def _hill_climb(score: Callable[[np.ndarray], float], z: np.ndarray, rng: np.random.Generator, steps: int) -> tuple[np.ndarray, float]:
    """Targeted search: random coordinate perturbations of the logits that never lower the score."""
    best = score(z)
    step = 0.3
    for _ in range(steps):
        trial = z + rng.normal(0.0, step, z.shape) * (rng.random(z.shape) < 0.5)
        s = score(trial)
        if s >= best:
            z, best = trial, s
        else:
            step = max(step * 0.997, 1e-5)
    return z, best


def _search(score: Callable[[np.ndarray], float], certify: Callable[[np.ndarray], Counterexample | None], rng: np.random.Generator, vocabs: Iterable[int], draws: int, climbs: int, steps: int):
    """Smallest vocabulary first: draw rows from the structured families, hill-climb the best few
    on ``score`` (> 0 means "looks like a counterexample" in float64), certify the first hit."""
    tried = 0
    for n in vocabs:
        pool = []
        for i in range(draws):
            fam = _SEARCH_FAMILIES[i % len(_SEARCH_FAMILIES)]
            z = dist.sample(fam, rng, n, shuffle=False)
            z = np.sort(z[np.isfinite(z)])[::-1]
            if len(z) < n:
                continue
            z = z - z[0]
            pool.append((score(z), z))
        pool.sort(key=lambda t: -t[0])
        for s, z in pool[:climbs]:
            tried += 1
            if s <= 0:
                z, s = _hill_climb(score, z, rng, steps)
            if s > 0:
                cex = certify(z)
                if cex is not None and cex.certified:
                    return cex, tried
    return None, tried


# ---- spot checks of proved claims on family rows -----------------------------------------------


def _rows(ctx: CheckContext, max_vocab: int = 40, families=dist.FAMILY_NAMES):
    """``ctx.rows`` rows cycling through the families (small vocabularies: certified checks are exact)."""
    for i in range(ctx.rows):
        fam = families[i % len(families)]
        yield fam, dist.sample(fam, ctx.rng, int(ctx.rng.integers(2, max_vocab + 1)))


def _proved(what: str, checked: int, undecided: int, violations: list) -> tuple:
    if violations:
        fam, detail = violations[0]
        return "refuted", f"proof contradicted: certified violation on a {fam} row ({detail})", None, undecided
    extra = f", {undecided} undecided (not counted)" if undecided else ""
    return "proved", f"proof; {what}: {checked} certified spot checks, 0 violations{extra}", None, undecided


def _k(z, tau=1.0, **kw):
    r = ees(z, tau, **kw)
    return r.k if r.certified else None


# ---- SPEC section 5 ----------------------------------------------------------------------------


def _stored(ctx: CheckContext) -> Counterexample | None:
    c = ctx.recorded.get("counterexample")
    return Counterexample.from_json(c) if c else None


def _refuted(ctx: CheckContext, recertify: Callable[[np.ndarray, Counterexample], Counterexample | None], search: Callable[[], tuple]) -> tuple:
    """Re-certify the stored counterexample; with ``ctx.search`` also search afresh and keep the smaller."""
    stored = _stored(ctx)
    cex = recertify(stored.row, stored) if stored else None
    found_note = ""
    if ctx.search or cex is None:
        found, tried = search()
        if found is not None and (cex is None or found.n < cex.n):
            cex = found
        found_note = f"; search: {'found n=' + str(found.n) if found else 'nothing'} after {tried} climbs"
    if cex is None or not cex.certified:
        return "open", "no certified counterexample (stored one failed to re-certify)" + found_note, cex, 0
    return "refuted", f"certified counterexample, n={cex.n}: {cex.summary}" + found_note, cex, 0


def _signs(gaps) -> str:
    return "".join({"+": "+", ">=0": "+", "-": "-", "?": "?"}[g.sign] for g in gaps)


# EES-MONO ---------------------------------------------------------------------------------------


def _mono_certify(z: np.ndarray, stored: Counterexample | None = None) -> Counterexample | None:
    tau = stored.temperatures[0] if stored else 1.0
    gaps = certified_gaps(z, tau)
    rises = [(a.k, b.k) for a, b in zip(gaps, gaps[1:]) if a.f_hi < b.f_lo]
    if not rises:
        return None
    k, k1 = rises[0]
    return Counterexample(to_hex(z), len(z), [tau], {"k": k}, f"f({k1}) > f({k}) (certified disjoint enclosures); signs {_signs(gaps)}", list(gaps), True)


@register_claim("EES-MONO", test="tests/test_property_ees.py::test_mono_counterexample_refutes")
def _check_mono(ctx):
    def score(z):
        f = _float_f(z)
        return float(np.max(np.diff(f))) if len(f) > 1 else -1.0

    return _refuted(ctx, _mono_certify, lambda: _search(score, _mono_certify, ctx.rng, range(3, 9), 40, 4, 200))


# EES-UNIQUE -------------------------------------------------------------------------------------


def _unique_score(z: np.ndarray) -> float:
    """max over k1 < k2 of min(-f(k1), f(k2)): > 0 when f goes negative and then positive again."""
    f = _float_f(z)
    best_neg = np.maximum.accumulate(-f)[:-1]
    return float(np.max(np.minimum(best_neg, f[1:]))) if len(f) > 1 else -1.0


def _unique_certify(z: np.ndarray, stored: Counterexample | None = None) -> Counterexample | None:
    gaps = certified_gaps(z)
    neg = [g.k for g in gaps if g.sign == "-"]
    pos = [g.k for g in gaps if g.sign == "+" and neg and g.k > neg[0]]
    if not pos:
        return None
    r_first, r_last = ees(z), ees(z, rule="last")
    summary = (f"f({neg[0]}) < 0 < f({pos[0]}); sign pattern {_signs(gaps)}; first-exclusive keeps {r_first.k}, 'last' keeps {r_last.k}")
    return Counterexample(to_hex(z), len(z), [1.0], {"k_negative": neg[0], "k_positive": pos[0]}, summary, list(gaps), all(g.sign != "?" for g in gaps))


@register_claim("EES-UNIQUE", test="tests/test_property_ees.py::test_unique_counterexample_refutes")
def _check_unique(ctx):
    return _refuted(ctx, _unique_certify, lambda: _search(_unique_score, _unique_certify, ctx.rng, range(3, 13), 80, 6, 2500))


# EES-EXIST --------------------------------------------------------------------------------------


@register_claim("EES-EXIST", test="tests/test_property_ees.py::test_exist_drops_least_likely")
def _check_exist(ctx):
    checked = und = 0
    bad = []
    for fam, z in _rows(ctx):
        r = ees(z)
        if r.row.all_tied or r.n < 2:
            continue
        if not r.certified:
            und += 1
            continue
        checked += 1
        if r.k >= r.n:
            bad.append((fam, f"k*={r.k} = n"))
    return _proved("non-uniform rows keep k* <= n-1", checked, und, bad)


# EES-INCR ---------------------------------------------------------------------------------------


def incremental_entropies(p: list, dps: int = 60) -> tuple[list, list]:
    """``H_k`` by the paper's incremental update and by the direct formula, at ``dps`` digits.

    >>> inc, direct = incremental_entropies([0.5, 0.25, 0.25])
    >>> float(abs(inc[-1] - direct[-1])) < 1e-50
    True
    """
    with mpmath.workdps(dps):
        q = [mpmath.mpf(x) for x in p]
        total = mpmath.fsum(q)
        q = [x / total for x in q]
        inc = [mpmath.mpf(0)]
        P = q[0]
        for pk in q[1:]:
            Pn = P + pk
            inc.append((P / Pn) * inc[-1] + (P / Pn) * mpmath.log(Pn / P) - (pk / Pn) * mpmath.log(pk / Pn))
            P = Pn
        direct = []
        for k in range(1, len(q) + 1):
            Pk = mpmath.fsum(q[:k])
            direct.append(-mpmath.fsum(x / Pk * mpmath.log(x / Pk) for x in q[:k]))
    return inc, direct


@register_claim("EES-INCR", test="tests/test_property_ees.py::test_incremental_update_identity")
def _check_incr(ctx):
    checked = 0
    bad = []
    for fam, z in _rows(ctx, max_vocab=24):
        p = [x for x in softmax(z) if x > 0]
        p.sort(reverse=True)
        inc, direct = incremental_entropies(p)
        worst = max(abs(a - b) for a, b in zip(inc, direct))
        checked += 1
        if worst > mpmath.mpf(10) ** -45:
            bad.append((fam, f"|incremental - direct| = {float(worst):.3g}"))
    verdict, evidence, _, und = _proved("rows where both agree to 45 digits", checked, 0, bad)
    return verdict, evidence.replace("certified spot checks", "60-digit spot checks"), None, und


# EES-TAU-INV / EES-TAU-MONO / EES-TAU-LIM --------------------------------------------------------

_SWEEP = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 16.0, 100.0)


def _tau_inv_certify(z: np.ndarray, stored: Counterexample | None = None) -> Counterexample | None:
    taus = stored.temperatures if stored else list(_SWEEP)
    results = [(t, ees(z, t)) for t in taus]
    ks = {t: r.k for t, r in results if r.certified}
    if len(set(ks.values())) < 2:
        return None
    (t1, k1), (t2, k2) = min(ks.items(), key=lambda kv: kv[1]), max(ks.items(), key=lambda kv: kv[1])
    gaps = [GapRow(c.k, c.f_lo, c.f_hi, "?" if c.crossing is None else ("-" if c.crossing else "+"), f"tau={t}: {c.method}") for t, r in results if t in (t1, t2) for c in r.decisions]
    return Counterexample(to_hex(z), len(z), sorted({t1, t2}), {"k_star": {str(t): k for t, k in ks.items()}}, f"k*(tau={t1}) = {k1} but k*(tau={t2}) = {k2}", gaps, True)


@register_claim("EES-TAU-INV", test="tests/test_property_ees.py::test_tau_inv_counterexample_refutes")
def _check_tau_inv(ctx):
    def score(z):
        return 1.0 if len({int(np.argmax(_float_f(z, t) < 0)) if (_float_f(z, t) < 0).any() else -1 for t in (0.25, 4.0)}) > 1 else -1.0

    return _refuted(ctx, _tau_inv_certify, lambda: _search(score, _tau_inv_certify, ctx.rng, range(3, 6), 20, 4, 50))


@register_claim("EES-TAU-MONO", test="tests/test_property_ees.py::test_tau_mono")
def _check_tau_mono(ctx):
    checked = und = 0
    bad = []
    for fam, z in _rows(ctx, families=("head_tail", "normal", "zipf", "bimodal", "tied_top", "peaked")):
        ks = [_k(z, t) for t in _SWEEP]
        if None in ks:
            und += ks.count(None)
        known = [(t, k) for t, k in zip(_SWEEP, ks) if k is not None]
        checked += 1
        for (t1, k1), (t2, k2) in zip(known, known[1:]):
            if k2 < k1:
                bad.append((fam, f"k*({t1}) = {k1} > k*({t2}) = {k2}"))
    return _proved(f"rows x {len(_SWEEP)}-point temperature sweeps non-decreasing", checked, und, bad)


def _tau_limits(z: np.ndarray) -> tuple[float, float]:
    """A small and a large temperature at which the limits have set in (see the proof page)."""
    v = np.unique(z[np.isfinite(z)])
    gaps = np.diff(v)
    small = float(gaps.min()) / 200.0 if len(gaps) else 1.0
    big = 1e3 * len(v) * float(v[-1] - v[0]) * max(1, int(np.isfinite(z).sum())) if len(v) > 1 else 1.0
    return small, big


@register_claim("EES-TAU-LIM", test="tests/test_property_ees.py::test_tau_limits")
def _check_tau_lim(ctx):
    checked = und = 0
    bad = []
    for fam, z in _rows(ctx, max_vocab=30, families=("normal", "tied_top", "head_tail", "zipf", "peaked", "bimodal", "masked")):
        row = as_row(z)
        if row.all_tied or row.n < 2:
            continue
        small, big = _tau_limits(z)
        k0, kinf = _k(z, small), _k(z, big)
        if k0 is None or kinf is None:
            und += 1
            continue
        checked += 1
        if k0 != row.top_ties:
            bad.append((fam, f"k*(tau={small:.3g}) = {k0}, top ties {row.top_ties}"))
        if kinf != row.n - 1:
            bad.append((fam, f"k*(tau={big:.3g}) = {kinf}, n - 1 = {row.n - 1}"))
    return _proved("rows at a tiny and a huge temperature", checked, und, bad)


# EES-SHIFT ---------------------------------------------------------------------------------------


@register_claim("EES-SHIFT", test="tests/test_property_ees.py::test_shift_permutation_ties")
def _check_shift(ctx):
    checked = und = splits = 0
    bad = []
    for fam, z in _rows(ctx, families=("normal", "tied_boundary", "tied_top", "zipf", "head_tail", "masked")):
        z = np.where(np.isfinite(z), np.round(z * 2.0**30) / 2.0**30, z)  # dyadic: z + 8 is exact
        perm = ctx.rng.permutation(len(z))
        variants = [z, z + 8.0, z[perm], z[::-1]]
        ks = [_k(v) for v in variants]
        if None in ks:
            und += 1
            continue
        checked += 1
        if len(set(ks)) > 1:
            bad.append((fam, f"k* = {ks} for shift/permutation/reversal"))
        r = ees(z)
        vals = r.row.values
        splits += bool(r.k < r.n and vals[r.k - 1] == vals[r.k])
    verdict, evidence, _, und = _proved("rows with shift, permutation and reversed tie order", checked, und, bad)
    return verdict, evidence + f"; {splits} rows had a tie block split by the boundary (kept set depends on tie order, k* does not)", None, und


# EES-TAIL ----------------------------------------------------------------------------------------


@register_claim("EES-TAIL", test="tests/test_property_ees.py::test_tail_never_decreases")
def _check_tail(ctx):
    checked = und = 0
    bad = []
    for fam, z in _rows(ctx, families=("head_tail", "normal", "zipf", "uniform", "tied_top", "peaked")):
        zmin = float(np.min(z[np.isfinite(z)]))
        extra = zmin - ctx.rng.uniform(0.0, 3.0, int(ctx.rng.integers(1, 20)))
        tau = float(ctx.rng.choice(_SWEEP))
        k0, k1 = _k(z, tau), _k(np.concatenate([z, extra]), tau)
        if k0 is None or k1 is None:
            und += 1
            continue
        checked += 1
        if k1 < k0:
            bad.append((fam, f"k* fell from {k0} to {k1} at tau={tau}"))
    return _proved("rows with 1-19 less likely tokens appended", checked, und, bad)


# EDT / dynatemp ----------------------------------------------------------------------------------


@register_claim("EDT-RANGE", test="tests/test_property_temperatures.py::test_edt_range")
def _check_edt_range(ctx):
    checked = 0
    bad = []
    for fam, z in _rows(ctx, max_vocab=30):
        T0, theta, N = float(ctx.rng.uniform(0.1, 3)), float(ctx.rng.uniform(0.01, 4)), float(ctx.rng.uniform(0.05, 0.95))
        H = entropy(z)
        T = edt_temperature(z, T0, theta, N)
        z2 = z / 2.0  # halving the logits raises the entropy (or keeps it, for a flat row)
        H2, T2 = entropy(z2), edt_temperature(z2, T0, theta, N)
        checked += 1
        if not (0 <= T < T0) or (H2 > H and not T2 > T) or (H2 == H and T2 != T):
            bad.append((fam, f"T={float(T)}, T0={T0}, H={float(H)} -> {float(H2)}, T -> {float(T2)}"))
    return _proved("rows: 0 <= T < T0 and T rises with H", checked, 0, bad)


@register_claim("EDT-POINTS", test="tests/test_property_temperatures.py::test_edt_points")
def _check_edt_points(ctx):
    checked = 0
    bad = []
    for fam, z in _rows(ctx, max_vocab=30):
        row = as_row(z)
        if row.n < 2:
            continue
        T0, N = float(ctx.rng.uniform(0.1, 3)), float(ctx.rng.uniform(0.05, 0.95))
        H = entropy(z)
        theta = float(H)  # theta = H up to its rounding: |theta/H - 1| <= 2**-52
        T = edt_temperature(z, T0, theta, N)
        checked += 1
        with mpmath.workdps(40):  # N * T0 of two doubles, exactly enough
            ratio = T / (mpmath.mpf(N) * mpmath.mpf(T0))
            if abs(mpmath.log(ratio)) > abs(math.log(N)) * 2.0**-51 + mpmath.mpf(10) ** -28:
                bad.append((fam, f"T(H = theta) / (N T0) = {mpmath.nstr(ratio, 20)}"))
    return _proved("rows: T(H = theta) = N T0 to the rounding of theta", checked, 0, bad)


def _dyn_certify(z: np.ndarray, stored: Counterexample | None = None) -> Counterexample | None:
    """A row and parameters with T outside [T_min, T_max], certified by the reference's 30 correct digits."""
    p = stored.params if stored else {"temp": 1.0, "delta": 0.5, "exponent": -1.0}
    temp, delta, e = float(p["temp"]), float(p["delta"]), float(p["exponent"])
    T = dynatemp_temperature(z, temp, delta, e)
    if T is None:
        return None
    with mpmath.workprec(200):  # temp -/+ delta of two doubles, exactly
        t_min, t_max = max(mpmath.mpf(0), mpmath.mpf(temp) - delta), mpmath.mpf(temp) + delta
    with mpmath.workdps(50):
        tol = mpmath.mpf(10) ** -25 * (1 + abs(t_max))
        if t_min - tol <= T <= t_max + tol:
            return None
    params = {"temp": temp, "delta": delta, "exponent": e, "T": mpmath.nstr(T, 20), "T_max": mpmath.nstr(t_max, 20)}
    summary = (f"exponent {e:g} < 0: T = {mpmath.nstr(T, 12)} > T_max = {mpmath.nstr(t_max, 12)} "
               f"(H < ln n, so (H / ln n)**exponent > 1); the range holds for exponent >= 0 (proof)")
    return Counterexample(to_hex(z), len(z), [], params, summary, [], True)


@register_claim("DYN-RANGE", test="tests/test_property_temperatures.py::test_dynatemp_range")
def _check_dyn_range(ctx):
    """Refuted as stated: the range part fails for a negative exponent, which llama.cpp accepts.

    For ``exponent > 0`` the whole statement is proved (the page says how); the spot checks below
    exercise that scope, and any violation there would be reported too.
    """
    checked = 0
    bad = []
    for fam, z in _rows(ctx, max_vocab=30):
        temp, delta, e = float(ctx.rng.uniform(0, 3)), float(ctx.rng.uniform(0.01, 2)), float(ctx.rng.uniform(0.01, 4))
        with mpmath.workprec(200):  # temp -/+ delta of two doubles, exactly
            t_min, t_max = max(mpmath.mpf(0), mpmath.mpf(temp) - delta), mpmath.mpf(temp) + delta
        T = dynatemp_temperature(z, temp, delta, e)
        if T is None:
            continue
        z2 = z / 2.0
        T2 = dynatemp_temperature(z2, temp, delta, e)
        H, H2 = entropy(z), entropy(z2)
        checked += 1
        with mpmath.workdps(50):  # the reference's values carry 30 correct digits
            tol = mpmath.mpf(10) ** -25 * (1 + abs(t_max))
            outside = not (t_min - tol <= T <= t_max + tol) or (H2 > H and T2 < T - tol)
        if outside:
            bad.append((fam, f"T={mpmath.nstr(T, 20)} outside [{mpmath.nstr(t_min, 20)}, {mpmath.nstr(t_max, 20)}] or falling in H"))
    verdict, evidence, cex, undecided = _refuted(
        ctx, _dyn_certify, lambda: _search(lambda z: 1.0, _dyn_certify, ctx.rng, range(2, 4), 7, 3, 0))
    scoped = _proved("exponent > 0: T_min <= T <= T_max, non-decreasing in H", checked, 0, bad)
    return verdict, f"{evidence}; {scoped[1]}", cex, undecided


# SEED-TAU ----------------------------------------------------------------------------------------


def _seed_certify(z: np.ndarray, stored: Counterexample | None = None) -> Counterexample | None:
    taus = stored.temperatures if stored else [1.0, 10.0, 100.0, 1000.0]
    tops = [max(softmax(z, t)) for t in taus]
    n = int(np.isfinite(z).sum())
    falling = all(b < a for a, b in zip(tops, tops[1:]))
    if not falling or not tops[-1] < 1.0 / n + 0.01:
        return None
    summary = "top probability " + ", ".join(f"{float(p):.6f} at tau={t:g}" for p, t in zip(tops, taus)) + f": falls towards 1/n = {1 / n:g}"
    return Counterexample(to_hex(z), len(z), list(taus), {"top_probability": [mpmath.nstr(p, 20) for p in tops]}, summary, [], True)


@register_claim("SEED-TAU", test="tests/test_property_temperatures.py::test_seed_tau_counterexample_refutes")
def _check_seed(ctx):
    return _refuted(ctx, _seed_certify, lambda: _search(lambda z: 1.0, _seed_certify, ctx.rng, range(2, 4), 7, 3, 0))
