"""Top-n-sigma (arXiv 2411.07641): keep ``l_i >= max l - n sigma`` over the scaled logits of the
candidates. The paper and llama.cpp use the population standard deviation (divide by ``N``), the
``sample-std`` policy the unbiased one (``torch.std``'s default, divide by ``N - 1``).

>>> ddof("paper"), ddof("sample-std")
(0, 1)
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ...spec.methods import REQUIRED, MethodSpec, Param, nonneg
from ..certify import fraction_to_float
from .faults import MASKED_AS_ZERO, SMALLEST_SUBNORMAL
from .policy import Policy


POLICIES = {
    "paper": Policy(min_keep="none"),
    "llama.cpp": Policy(noop=lambda prm: prm["n"] <= 0, noop_text="n <= 0", min_keep="none", off={"n": 0.0}),
    "sample-std": Policy(min_keep="none"),
}

__all__ = ["ddof", "certify", "power_of_two_near", "kernel", "POLICIES", "RULES", "ORDER", "RECORDS"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"top-n-sigma": {}}

#: where its samplers stand in every listing of the samplers (the command line's help, the reports):
#: the table is ordered by ``ORDER``, then by each module's ``RULES``
ORDER = 80

#: the records of its samplers (their parameters, domains, policies; see ``ees_theory.spec.methods.MethodSpec``)
RECORDS = {
    "top-n-sigma": MethodSpec(
        "top-n-sigma",
        {"n": Param(REQUIRED, nonneg("n", ("llama.cpp",)), (0.5, 1.0, 1.5, 2.0, 3.0), help="standard deviations below the maximum")},
        ("paper", "llama.cpp", "sample-std"),
        "l_i >= max l - n sigma(l)",
    ),
}
#: the arithmetic choices of a careful port (``kernels._numerics``) that its kernel reads beyond the
#: probabilities and their order (see ``registry.numerics_read``)
NUMERICS_READ = frozenset({"variance"})


def ddof(policy: str) -> int:
    """Delta degrees of freedom of ``sigma`` under ``policy``: the variance divides by ``N - ddof``.

    Parameters
    ----------
    policy : str
        A policy of top-n-sigma (``"paper"``, ``"llama.cpp"`` or ``"sample-std"``).

    Returns
    -------
    int
        1 under ``sample-std``, else 0.
    """
    return 1 if policy == "sample-std" else 0


# ---- the drivers: certified (ees_theory.reference.truncation) and on tensors (ees_theory.kernels.truncation)

def certify(row, ctx, tau, pol, prm, rule, policy):
    """The kept prefix length on one row and the checks that decide it (see
    :mod:`ees_theory.core.truncation` for the arguments)."""
    nn = prm["n"]
    n = row.n
    if pol.noop(prm) or n == 1:
        return n, []
    denom = n - ddof(policy)
    xs = ctx.exponents
    if xs is not None:  # logits: a_i = -x_i rational, sigma^2 rational: decide a_i^2 <= n^2 sigma^2 exactly
        a = [-x for x in xs]
        mean = sum(a, Fraction(0)) / n
        var = sum(((ai - mean) ** 2 for ai in a), Fraction(0)) / denom
        bound = Fraction(nn) ** 2 * var
        est = np.array([fraction_to_float(bound - ai * ai) for ai in a])

        def decide(i):
            return ctx.decide_fraction("n^2 sigma^2 - (max - l_i)^2", i, bound - a[i] * a[i])

    else:
        a_est = ctx.est_a
        est = nn * float(np.std(a_est, ddof=ddof(policy))) - a_est

        def sigma(prec):
            mean = ctx.total("a", prec, lambda j: ctx.a(j, prec)) / n
            var = ctx.total(f"var{denom}", prec, lambda j: (ctx.a(j, prec) - mean) ** 2) / denom
            return ctx.iv.sqrt(var)

        def decide(i):
            return ctx.decide("n sigma - (max - l_i)", i, lambda prec: ctx.iv.mpf(nn) * sigma(prec) - ctx.a(i, prec))

    k, checks = ctx.prefix_cut(est, pol.strict, decide)
    return max(k, 1), checks


def power_of_two_near(x, t):
    """``2**(e - 1)`` for ``x = m 2**e`` (``1/2 <= m < 1``): a power of two in ``(x/2, x]``, formed
    without leaving ``x``'s dtype (``2**e`` itself may overflow it); 1 where ``x`` is 0.

    Parameters
    ----------
    x : tensor or numpy.ndarray
        Values ``>= 0``.
    t : module
        Their array namespace (``torch``, or ``numpy``): ``frexp``, ``where``, ``ones_like``.

    Returns
    -------
    tensor or numpy.ndarray
        The power of two of each value, in ``x``'s dtype.

    >>> import numpy as np
    >>> with np.errstate(invalid="ignore"):
    ...     power_of_two_near(np.array([3.0, 0.375, 2.0**-1060, 0.0]), np).tolist() == [2.0, 0.25, 2.0**-1060, 1.0]
    True
    """
    m, _ = t.frexp(x)
    return t.where(x > 0, x / (2 * m), t.ones_like(x))


def _sigma_test(t, r, sx, nn, policy):
    cand, n = r.cand, r.n
    nf = n.to(sx.dtype)
    vals = t.where(cand, sx, t.zeros_like(sx))
    mean = r.total(vals) / nf
    dev = t.where(cand, sx - mean, t.zeros_like(sx))
    # the squares of a row scaled far down (a huge temperature) underflow to 0: the deviations are
    # squared divided by a power of two near the largest one (exact), the root scaled back
    unit = power_of_two_near(dev.abs().amax(dim=-1, keepdim=True), t)
    if r.numerics.variance == "plain":  # as plain code squares them (a style: see _numerics)
        unit = t.ones_like(unit)
    dev = dev / unit
    denom = nf - ddof(policy)
    var = r.total(dev * dev) / t.clamp(denom, min=1)
    sigma = t.sqrt(var) * unit
    return (sx >= sx[..., :1] - nn * sigma) | (n <= 1), sigma


def kernel(r, prm, pol, noop, rule, policy):
    """The kept sorted positions of a prepared batch ``r`` (bool tensor): the test
    ``l_i >= max l - n sigma``. Where ``sigma`` (or ``n sigma``) overflows, the row is tested again
    on its candidates scaled by a power of two into ``[-1, 1]`` (exact) and then shifted: the test
    is shift- and scale-invariant, and the scaled statistics cannot overflow."""
    if noop:
        return r.all()
    t, nn, cand = r.t, prm["n"], r.cand
    # the test is scale-invariant: on the logits themselves when their scaled values leave the
    # float range
    sx = r.values()
    keep, sigma = _sigma_test(t, r, sx, nn, policy)
    bad = ~t.isfinite(nn * sigma)
    if bool(bad.any()):
        z = t.where(cand, sx, t.zeros_like(sx)).double()
        span = z.abs().amax(dim=-1, keepdim=True)
        _, exponent = t.frexp(t.where(span > 0, span, t.ones_like(span)))
        zs = t.ldexp(z, -exponent)  # in [-1, 1]: exact unless it underflows
        scaled = t.where(cand, zs - zs[..., :1], t.full_like(zs, -math.inf)).to(sx.dtype)
        keep2, _ = _sigma_test(t, r, scaled, nn, policy)
        keep = t.where(bad, keep2, keep)
    return r.floor(keep, 1)


# ---- its judge (assembled by ees_theory.judging.judges) ---------------------------------------

class Judge:
    """What top-n-sigma's judge states (``ees_theory.judging.judges`` assembles it):
    ``l_i >= max l - n sigma(l)``; the band is ``n +- d`` with ``d`` the logit and
    standard-deviation errors over ``sigma``.

    >>> Judge.threshold, Judge.reads_temperature, sorted(Judge.misreadings)
    (True, False, ['masked-as-zero', 'population-std', 'sample-std', 'sigma-overflow'])
    """

    reads_temperature = False  # the same kept set at every temperature
    threshold = True
    misreadings = {
        "sample-std": "sigma is the sample standard deviation (divide by N - 1); this policy uses the population one (divide by N)",
        "population-std": "sigma is the population standard deviation; the sample-std policy divides by N - 1",
        **MASKED_AS_ZERO,
        "sigma-overflow": ("the squared deviations of the scaled logits, or their sum, overflow the compute dtype (float16's largest "
                           "value is 65504: a deviation above 256, or a few dozen above 40), so sigma is inf and every token is kept; "
                           "sum the squares in float32, or scale the deviations by a power of two first"),
    }

    def band(self, st, row, params, ref, b, options):
        pol = options.policy
        u = self.unit_roundoff(st, options)
        nn = params["n"]
        if st.n <= 1 or st.uniform or (pol == "llama.cpp" and nn <= 0):
            return []
        x = st.values / st.tau
        sigma = float(np.std(x, ddof=1 if pol == "sample-std" else 0))
        d_sigma = b["logit"] + 2 * (b["sum"] + 3 * u) * (st.X + sigma)
        d = (b["logit"] + abs(nn) * d_sigma) / sigma
        lo = max(nn - d, SMALLEST_SUBNORMAL if pol == "llama.cpp" else 0.0)  # n <= 0 is llama.cpp's no-op, not an error
        return [{"n": lo}, {"n": nn + d}]

    def misread(self, st, row, params, ref, kept, options) -> list[str]:
        found: list[str] = []
        if self._sigma_overflows(st, kept, options):
            return ["sigma-overflow"]
        if params["n"] > 0:
            pol = options.policy
            other = "paper" if pol == "sample-std" else "sample-std"
            other_std = "population-std" if pol == "sample-std" else "sample-std"
            # first: it can only show on a row with masked entries, the other std on any row
            if self.masked_as_zero(row, params, kept, options) or self._spread_of_filled(st, row, params, kept, ddof(pol)):
                found.append("masked-as-zero")
            elif self._spread_of_filled(st, row, params, kept, ddof(other)):
                found += ["masked-as-zero", other_std]  # both (text-generation-webui's torch.std after masked_fill)
            if other_std not in found and set(int(i) for i in self.truncate(row, params, other).kept) == kept:
                found.append(other_std)
        return found

    @staticmethod
    def _sigma_overflows(st, kept, options) -> bool:
        """Every candidate kept on a row whose squared deviations of ``z / T`` (each, or their sum)
        exceed the largest finite value of the compute dtype (see ``misreadings``)."""
        from ...spec.formats import largest_finite
        from ...tolerances import compute_dtype_name

        dtype = getattr(st, "dtype", None)
        if dtype is None or st.n < 2 or len(kept) != st.n:
            return False
        x = np.asarray(st.values, dtype=np.float64) / st.tau
        return float(((x - x.mean()) ** 2).sum()) > largest_finite(compute_dtype_name(dtype, options.accumulate))

    @staticmethod
    def _spread_of_filled(st, row, params, kept, ddof: int) -> bool:
        """Kept set of a port whose sigma (``ddof``) runs over every entry, masked ones as 0,
        while the maximum is the true one (float64: a best-effort diagnosis)."""
        z = np.asarray(row, dtype=np.float64)
        finite = np.isfinite(z)
        if finite.all() or finite.sum() < 2:
            return False
        x = np.where(finite, z / st.tau, 0.0)
        cut = x[finite].max() - params["n"] * float(np.std(x, ddof=ddof))
        return kept == {int(i) for i in np.flatnonzero(finite & (x >= cut))}
