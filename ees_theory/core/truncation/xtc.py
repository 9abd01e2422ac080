"""XTC, "exclude top choices" (text-generation-webui; llama.cpp's ``llama_sampler_init_xtc``).

A gate opens with chance ``probability``; when it is open, every token with ``p_i >= threshold``
is dropped except the least probable of them, so that a choice that reaches the threshold always
remains. The draw ``u`` of the gate is a parameter: the gate is open when ``u < probability``
(text-generation-webui's ``random() >= probability`` skips) or, under llama.cpp,
``u <= probability`` (its ``chance > probability`` skips; ``probability <= 0`` never opens it).
A drop that would leave fewer than ``min_keep`` tokens does not happen; llama.cpp counts every
entry of its candidate array there, masked (``-inf``) ones included, so under its policy ``n`` is
the row length.

>>> gate_open(0.5, 0.5, "paper"), gate_open(0.5, 0.5, "llama.cpp"), gate_open(0.0, 0.0, "llama.cpp")
(False, True, False)
>>> dropped(3, 5, 1), dropped(1, 5, 1), dropped(0, 5, 1), dropped(3, 5, 4)   # 4 > 5 - 2: no drop
(2, 0, 0, 0)
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from ... import tolerances
from ...spec.inputs import check_real
from ...spec.methods import MIN_KEEP_PARAM, REQUIRED, MethodSpec, Param, check_draw, in_range, real, unit
from .faults import NON_STRICT, SMALLEST_SUBNORMAL
from .policy import Policy


__all__ = ["gate_open", "counted", "dropped", "certify", "kernel", "POLICIES", "RULES", "ORDER", "RECORDS"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"xtc": {}}

#: where its samplers stand in every listing of the samplers (the command line's help, the reports):
#: the table is ordered by ``ORDER``, then by each module's ``RULES``
ORDER = 100


def _threshold(v: Any, policy: str) -> float:
    x = check_real(v, "threshold")
    if policy == "llama.cpp":  # any threshold > 0.5 is a no-op there
        if x <= 0:
            raise ValueError(f"threshold must be > 0 under policy {policy!r}, got {x!r}")
        return x
    return in_range("threshold", x, 0.0, 1.0, True, False, policy)


#: the records of its samplers (their parameters, domains, policies; see ``ees_theory.spec.methods.MethodSpec``)
RECORDS = {
    "xtc": MethodSpec(
        "xtc",
        {
            "threshold": Param(REQUIRED, _threshold, (0.05, 0.1, 0.1, 0.2, 0.3, 0.5), plain=0.1, help="probability a top choice reaches"),
            # llama.cpp: probability <= 0 never opens the gate
            "probability": Param(REQUIRED, {"paper": unit("probability", False, False), "llama.cpp": real("probability")},
                                 (0.0, 0.3, 0.5, 1.0, 1.0, 1.0), plain=1.0, help="chance the gate opens"),
            "u": Param(REQUIRED, check_draw, (0.05, 0.3, 0.5, 0.9), plain=0.5, help="the uniform draw of the gate, in [0, 1)"),
            **MIN_KEEP_PARAM,
        },
        ("paper", "llama.cpp"),
        "gate open: drop every token with p_i >= threshold except the least probable of them",
        keeps_suffix=True,
    ),
}


def gate_open(u: Any, probability: Any, policy: str) -> Any:
    """Whether the gate opens for the draw ``u`` (numbers).

    Parameters
    ----------
    u : float
        The gate's draw, in ``[0, 1)``.
    probability : float
        The chance that the gate opens, in ``[0, 1]``.
    policy : str
        ``"paper"`` or ``"llama.cpp"``.

    Returns
    -------
    bool
        ``u < probability``; under ``llama.cpp`` ``0 < probability and u <= probability``.
    """
    return 0 < probability and u <= probability if policy == "llama.cpp" else u < probability


def counted(n: Any, size: Any, policy: str) -> Any:
    """The count a drop is checked against ``min_keep`` with: the ``n`` candidates, or under
    llama.cpp the ``size`` entries of the whole array (masked ones included).

    Parameters
    ----------
    n : int or integer tensor
        The number of candidates.
    size : int or integer tensor
        The row length, masked entries included.
    policy : str
        ``"paper"`` or ``"llama.cpp"``.

    Returns
    -------
    int or integer tensor
        ``size`` under ``llama.cpp``, else ``n``.
    """
    return size if policy == "llama.cpp" else n


def dropped(above: Any, n: Any, min_keep: Any) -> Any:
    """How many of the most probable tokens are dropped when ``above`` of them reach the threshold:
    all but the last of those, or none where fewer than ``min_keep`` (at least 1) of the ``n``
    would remain. Integers or integer tensors (``+ - *`` and comparisons only).

    Parameters
    ----------
    above : int or integer tensor
        How many tokens reach the threshold, ``>= 0``.
    n : int or integer tensor
        The count checked against ``min_keep`` (:func:`counted`).
    min_keep : int or integer tensor
        ``min_tokens_to_keep``, ``>= 1``.

    Returns
    -------
    int or integer tensor
        ``above - 1`` (0 when ``above = 0``), or 0 when that would leave fewer than ``min_keep``.
    """
    d = (above - 1) * (above > 0)
    return d * (n - d >= min_keep)


#: the gate closed is a no-op (every candidate kept); a drop never leaves fewer than min_keep
POLICIES = {
    pol: Policy(noop=lambda prm, pol=pol: not gate_open(prm["u"], prm["probability"], pol), noop_text="the gate stays shut",
                off={"probability": 0.0, "u": 0.5})
    for pol in ("paper", "llama.cpp")
}


# ---- the drivers: certified (ees_theory.reference.truncation) and on tensors (ees_theory.kernels.truncation)

def certify(row, ctx, tau, pol, prm, rule, policy):
    """The kept sorted positions on one row (a suffix: XTC drops from the top), the checks that
    decide them and whether the gate opened (see :mod:`ees_theory.core.truncation` for the
    arguments)."""
    n, thr = row.n, prm["threshold"]
    if n < 2 or pol.noop(prm):  # the gate stays shut
        return n, [], {"gate": False}
    tf = Fraction(thr)

    def decide(i):
        return ctx.decide(
            "p_i - xtc threshold",
            i,
            lambda prec: ctx.p(i, prec) - ctx.iv.mpf(thr),
            lambda: [(Fraction(1), (i,))] + [(-tf, (j,)) for j in range(n)],
        )

    above, checks = ctx.prefix_cut(ctx.est_p - thr, pol.strict, decide)
    d = int(dropped(above, counted(n, row.size, policy), max(prm["min_tokens_to_keep"], 1)))
    return range(d, n), checks, {"gate": True, "above": above}


def kernel(r, prm, pol, noop, rule, policy):
    """The kept sorted positions of a prepared batch ``r`` (bool tensor)."""
    if noop:  # the gate stays shut
        return r.all()
    above = r.count(pol.holds(r.sp, prm["threshold"]))
    return r.pos >= dropped(above, counted(r.n, r.V, policy), max(r.m, 1))  # the most probable ones go


# ---- its judge (assembled by ees_theory.judging.judges) ---------------------------------------

class Judge:
    """What XTC's judge states (``ees_theory.judging.judges`` assembles it): with its gate open, every
    token with ``p_i >= threshold`` but the least probable of them is dropped, so the kept set is a
    *suffix* of the canonical order (the least probable tokens).

    The gate compares two parameters (the draw ``u`` with ``probability``), exactly: it is the
    reference's. A token sampler draws its own gate: its draws are judged against the mixture, the
    kept set with chance ``probability`` (:meth:`gate`), every candidate otherwise. The count of
    tokens reaching the threshold carries the error of the probabilities, so the band is
    ``threshold (1 +- r)^2`` as for epsilon; the kept count is ``n - (above - 1)`` (or ``n``),
    monotone in the threshold.

    >>> Judge.tie_order, sorted(Judge.misreadings)
    (False, ['gate-comparison', 'least-above-dropped', 'min-keep-partial', 'non-strict'])
    """

    rational = True
    #: ties at the drop boundary are broken by the canonical order, which a suffix does not check
    tie_order = False
    misreadings = {
        **NON_STRICT,
        "gate-comparison": "the gate opened (or stayed shut) by the other convention: u < probability (text-generation-webui) "
        "versus u <= probability (llama.cpp)",
        "least-above-dropped": "every token reaching the threshold was dropped; XTC keeps the least probable of them",
        "min-keep-partial": "min_tokens_to_keep applied as a floor (fewer tokens dropped) where XTC drops none",
    }

    def band(self, st, row, params, ref, b, options):
        if not ref.extras.get("gate"):
            return []  # a shut gate keeps every token: nothing in the row is compared
        thr = params["threshold"]
        # the probabilities' error, and the threshold as the port holds it (rounded to its dtype)
        u = max(self.unit_roundoff(st, options), tolerances.unit_roundoff(st.dtype, "input"))
        r = b["prob"] + u
        if r >= 0.5:
            return None
        tiny = b["underflow"]
        lo = max(thr * (1 - r) ** 2 - tiny, SMALLEST_SUBNORMAL)
        hi = thr * (1 + r) ** 2 + tiny
        if options.policy != "llama.cpp":
            hi = min(hi, 1.0)
        return [{"threshold": lo}, {"threshold": hi}]

    def members(self, st, row, ref, b, kept, dtype, options):
        """None when ``kept`` is the ``|kept|`` least probable tokens up to ties and near-ties."""
        k = len(kept)
        if k > st.n:
            return None
        tol = self.member_tolerance(st, b, dtype, options)
        vk = st.values[st.n - k]  # the most probable kept token
        must = {int(st.order[j]) for j in range(st.n) if st.values[j] < vk - tol}
        may = {int(st.order[j]) for j in range(st.n) if st.values[j] <= vk + tol}
        if must <= kept <= may:
            return None
        return (f"kept set is not the {k} least probable tokens (XTC drops the most probable ones): expected "
                f"{[int(i) for i in st.order[st.n - k:]][:8]}")

    def may_keep(self, st, row, ref, b, kmax, dtype, options):
        # the draws judge's support, in the order XTC's kept sets are prefixes of (least probable
        # first): the kmax least probable tokens, near-ties included
        order, values = st.order[::-1], st.values[::-1]
        tol = self.member_tolerance(st, b, dtype, options)
        return order, values, values <= values[kmax - 1] + tol

    def gate(self, params, policy):
        # a uniform draw u opens it with chance probability (u < p and u <= p differ on a null set)
        return min(max(float(params["probability"]), 0.0), 1.0)

    def acting(self, params):
        return dict(params, probability=1.0, u=0.0)

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        found = []
        n, m = st.n, max(int(params.get("min_tokens_to_keep", 1)), 1)
        size = st.size if options.policy == "llama.cpp" else n
        suffix = lambda count: {int(i) for i in st.order[n - count:]} if count > 0 else set()  # noqa: E731
        other = "paper" if options.policy == "llama.cpp" else "llama.cpp"
        if gate_open(params["u"], params["probability"], other) != bool(ref.extras.get("gate")):
            if kept == set(int(i) for i in self.truncate(row, params, other).kept):
                found.append("gate-comparison")
        above = ref.extras.get("above")
        if above:
            if above < n and kept == suffix(n - above):
                found.append("least-above-dropped")
            d = (above - 1) * (above > 0)
            if d > 0 and size - d < m and kept == suffix(min(max(n - d, m - (size - n)), n)) and len(kept) != ref.k:
                found.append("min-keep-partial")
            nudged = self.truncate(row, params, options.policy, threshold=math.nextafter(params["threshold"], math.inf))
            if set(int(i) for i in nudged.kept) == kept != set(int(i) for i in ref.kept):
                found.append("non-strict")
        return found
