"""mirostat v1 and v2: the kept count moves with the state ``mu``, the chosen token with the
draw ``u``; the band moves both (``mu +- logp / ln 2`` for v2, through the Zipf fit for v1), and
the returned token and new ``mu`` are checked against the exact update.

>>> MirostatV2().stateful, MirostatV2().threshold, MirostatV1().threshold
(True, True, False)
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from ... import reference, tolerances
from ...core.ctx import FLOAT
from ...core.truncation import mirostat
from ...core.truncation.faults import LN2
from ...core.truncation.registry import SAMPLERS
from ..methods import Verdict
from ..outcomes import Status
from .base import SamplerJudge

__all__ = ["MirostatV1", "MirostatV2", "INT_K_LIMIT", "k_estimate", "k_overflows", "KOverflowWatch"]

#: top-k takes a C ``int``: an estimate of ``k`` at or beyond ``2**31`` (or NaN) has no ``int``
#: value, and converting it is undefined behaviour (x86-64 gives ``INT_MIN``)
INT_K_LIMIT = 2.0**31


def k_estimate(row, temperature: float, mu: float, m: int, n_vocab: int | None = None) -> tuple[float, float]:
    """Mirostat v1's estimate ``(s_hat, k_hat)`` as the algorithm states it, in float64: the Zipf
    fit over the first ``m`` entries of the *whole* row sorted by probability, masked entries
    included (probability 0, so their log-ratios are ``inf`` or NaN, as in an engine that fits its
    whole candidate array), then ``k_hat = exp(ln k_hat)`` from
    :func:`ees_theory.core.truncation.mirostat.log_k_hat` (``N``: ``n_vocab``, default the row's
    length). NaN and ``inf`` are returned as they arise, not repaired: they are what an engine
    converting ``k_hat`` to an integer meets.

    >>> s_hat, k_hat = k_estimate([0.0, -1.0, -2.0, -3.0], 1.0, 10.0, 100)
    >>> round(s_hat, 4), round(k_hat, 2)
    (1.9053, 43.03)
    >>> k_estimate([0.0, -1.0, -np.inf, -np.inf], 1.0, 10.0, 100)     # two masked: ln 0 - ln 0
    (nan, nan)
    >>> k_estimate([0.0, -1e-9, -2e-9], 1.0, 10.0, 100)[1]               # a near-flat head: 1 / s_hat overflows
    inf
    """
    z = np.asarray(row, dtype=np.float64)
    if z.ndim != 1 or z.size < 2:
        raise ValueError(f"k_estimate needs a 1-D row of at least 2 logits, got shape {z.shape}")
    if not (temperature > 0) or int(m) < 2:
        raise ValueError(f"k_estimate needs temperature > 0 and m >= 2, got temperature={temperature!r}, m={m!r}")
    ctx = FLOAT
    with np.errstate(all="ignore"):
        x = z / temperature
        lp = np.sort(x - np.max(x) - np.log(np.sum(np.exp(x - np.max(x)))))[::-1]  # log-probabilities, descending
        mm = min(int(m), z.size)
        i = np.arange(mm - 1)
        t = mirostat.zipf_weight(i, ctx)
        s_hat = np.float64(np.sum(t * (lp[:mm - 1] - lp[1:mm])) / np.sum(t * t))
        ln_n = ctx.log(ctx.num(n_vocab if n_vocab is not None else z.size))
        y = (s_hat - 1) * ln_n
        phi = np.float64(1.0) if y == 0 else -np.expm1(-y) / y
        k_hat = np.exp(mirostat.log_k_hat(s_hat, mu, ln_n, phi, ctx))
    return float(s_hat), float(k_hat)


def k_overflows(k_hat: float) -> bool:
    """Whether ``k_hat`` has no C ``int`` value (NaN, infinite or at least :data:`INT_K_LIMIT`).

    >>> k_overflows(float("nan")), k_overflows(3e9), k_overflows(12.5)
    (True, True, False)
    """
    return not (k_hat < INT_K_LIMIT)


def _draw_band(b: dict, kept_mass: float) -> float:
    """How far an inverse-CDF draw over a kept set of mass ``kept_mass`` may land from ``u``: the
    error of the cumulative masses (row bounds ``b``), twice, renormalised by the kept mass."""
    return 2 * (b["cum"] + b["underflow"]) / kept_mass


class _Mirostat(SamplerJudge):
    stateful = True
    needs_entropy = True

    def member_tolerance(self, st, b, dtype, options) -> float:
        """The rigorous near-tie of the logits, plus one rounding of the probabilities a port ranks
        by. Mirostat is judged by the rigorous band alone (its state follows the kept set), and a
        port sorting its computed probabilities sees two of them one rounding apart (relative
        ``2u``; ``2u |ln p|`` when it takes them from log-probabilities) as equal, and puts either
        first: in tempered logits that is ``2u max(1, |ln p|)``, ``|ln p|`` at most that of the
        least probable candidate and of the compute dtype's smallest positive value."""
        base = super().member_tolerance(st, b, dtype, options)
        cd = tolerances.compute_dtype_name(st.dtype, options.accumulate)
        z = np.asarray(st.values[: st.n], dtype=np.float64) / st.tau
        if z.size == 0 or not np.all(np.isfinite(z)):
            return base
        with np.errstate(under="ignore"):
            lnp_min = float(z[-1] - z[0] - np.log(np.sum(np.exp(z - z[0]))))
        depth = min(-lnp_min, -math.log(tolerances.SMALLEST_SUBNORMAL[cd]))
        return base + 2.0 * tolerances.unit_roundoff(st.dtype, options.accumulate) * st.tau * max(1.0, depth)

    def sequence_watch(self, row, tau: float, params: dict, probs, st):
        """What the draws judge watches for along its replay of the port's tokens (an object with
        ``step(t, mu, kept, token)`` and ``diagnosis(details)``), or ``None``."""
        return None

    def mu_band(self, st, params, ref, b, u: float) -> float | None:
        """How far ``mu`` may move the kept count (``None``: no claim)."""
        raise NotImplementedError

    def band(self, st, row, params, ref, b, options):
        if not math.isfinite(b["logp"]) or not math.isfinite(b["cum"]):
            return None
        mu = params["mu"]
        dmu = self.mu_band(st, params, ref, b, self.unit_roundoff(st, options))
        if dmu is None:
            return None
        pk = float(np.sum(np.exp(st.values[: ref.k] / st.tau - st.values[0] / st.tau)) / np.sum(np.exp(st.values / st.tau - st.values[0] / st.tau)))
        du = _draw_band(b, pk)
        ulo, uhi = max(params["u"] - du, 0.0), min(params["u"] + du, 1.0 - 2.0**-53)
        return [{"mu": mu + a, "u": w} for a in (-dmu, dmu) for w in (ulo, uhi)]

    def check_state(self, st, row, params, ref, b, kept, token, mu, dtype, options, counts, edge_refs, base) -> Verdict | None:
        """The chosen token must be the inverse-CDF draw of the kept set, and the new mu follow."""
        k = len(kept)
        if token not in kept:
            return Verdict(Status.FAILED, f"chose token {token}, which is not in its own kept set", "wrong-token", **base)
        pos = {int(t): j for j, t in enumerate(st.order)}
        if counts is None:
            ok_token = True
        else:
            positions = {pos[int(r.token)] for r in edge_refs + [ref] if r.k == k}
            ok_token = bool(positions) and min(positions) <= pos[token] <= max(positions)
            if not positions:  # no reference keeps k tokens: the inverse CDF over the port's own kept set
                positions = self._draw_positions(st, kept, params["u"], b)
                ok_token = bool(positions) and min(positions) <= pos[token] <= max(positions)
            if not ok_token and positions:  # a near-tie the port's own order put at the drawn place
                tie = self.member_tolerance(st, b, dtype, options)
                v = st.values[pos[token]]
                ok_token = any(abs(float(st.values[j]) - float(v)) <= tie for j in range(min(positions), max(positions) + 1))
        if not ok_token:
            expected = sorted({int(r.token) for r in edge_refs + [ref] if r.k == k})
            why = f"chose token {token}; the inverse CDF at u = {params['u']!r} over the {k} kept token(s) gives {expected[:4] or [ref.token]}"
            return self.fail(row, params, ref, kept, options, why, "wrong-token", base)
        # expected new mu for this token and kept set, from the exact probabilities
        renorm = options.policy == "llama.cpp"
        if token == ref.token and k == ref.k:
            with mpmath.workdps(30):
                expected = ref.mu
                surprise = ref.surprise
        else:
            with mpmath.workdps(30):
                p = reference.softmax(row, st.tau)
                denom = mpmath.fsum(p[i] for i in kept) if renorm else mpmath.mpf(1)
                surprise = -mpmath.log(p[token] / denom, 2)
                expected = mpmath.mpf(params["mu"]) - params["eta"] * (surprise - params["tau"])
        # the surprise's error (s_err, rigorous) and the update's own roundings: mu, eta and tau held in
        # the compute dtype and three operations, a few units of it (eight, for margin) of the terms
        rho = 8.0 * tolerances.unit_roundoff(dtype, options.accumulate)
        s_err = (b["logp"] + (b["cum"] if renorm else 0.0)) / LN2
        tol = rho * (abs(params["mu"]) + params["eta"] * (abs(float(surprise)) + params["tau"])) + params["eta"] * s_err
        err = abs(float(mu) - float(expected))
        base["details"].update(expected_mu=float(expected), got_mu=mu, mu_tolerance=tol, expected_token=int(ref.token), got_token=token)
        if math.isfinite(tol) and err > tol:
            fault, why = self.diagnose_mu(row, st, params, kept, token, mu, tol, options)
            msg = f"new mu {mu!r} where the exact update gives {mpmath.nstr(expected, 17)} (tolerance {tol:.3g}, {dtype})"
            if why:
                msg += ". Diagnosis: " + why
            return Verdict(Status.FAILED, msg, fault, **dict(base, severity=err / tol if tol > 0 else math.inf))
        return None

    @staticmethod
    def _draw_positions(st, kept: set, u: float, b: dict) -> set:
        """The positions (in the canonical order) an inverse-CDF draw at ``u`` over ``kept`` may
        land on: the one whose cumulative interval holds ``u``, and its neighbours where ``u`` lies
        within the cumulative masses' error of an edge (float64 estimates of the masses, whose own
        error is far below that band)."""
        idx = [j for j, t in enumerate(st.order[: st.n]) if int(t) in kept]
        if not idx:
            return set()
        z = np.asarray(st.values[: st.n], dtype=np.float64) / st.tau
        w = np.exp(z - z[0])
        pk = w[idx]
        cum = np.cumsum(pk) / np.sum(pk)
        du = _draw_band(b, np.sum(pk) / np.sum(w))
        lo = np.concatenate([[0.0], cum[:-1]])
        return {idx[i] for i in range(len(idx)) if lo[i] - du <= u <= cum[i] + du}

    def diagnose_mu(self, row, st, params, kept, token, mu, tol, options) -> tuple[str, str]:
        """The misreading of the surprise that reproduces the port's new mu, if one does."""
        with mpmath.workdps(30):
            p = reference.softmax(row, st.tau)
            full = -mpmath.log(p[token], 2)
            renorm = -mpmath.log(p[token] / mpmath.fsum(p[i] for i in kept), 2)
            upd = lambda s: float(mirostat.mu_update(mpmath.mpf(params["mu"]), params["eta"], s, params["tau"]))  # noqa: E731
            if options.policy == "llama.cpp" and abs(mu - upd(full)) <= tol:
                return "surprise-untruncated", "the surprise is taken under the untruncated distribution; llama.cpp renormalises over the kept set"
            if options.policy != "llama.cpp" and abs(mu - upd(renorm)) <= tol:
                return "surprise-renormalised", "the surprise is taken under the renormalised kept set; the paper uses the untruncated distribution"
            nats = (renorm if options.policy == "llama.cpp" else full) * mpmath.log(2)
            if abs(mu - upd(nats)) <= tol:
                return "surprise-in-nats", "the surprise is in nats; mirostat measures it in bits (-log2 p)"
        return "wrong-mu", ""


class MirostatV1(_Mirostat):
    name = "mirostat-v1"

    def sequence_watch(self, row, tau, params, probs, st):
        return KOverflowWatch(row, tau, params, probs, st)

    def mu_band(self, st, params, ref, b, u):
        s_hat, k_hat = ref.extras.get("s_hat"), ref.extras.get("k_hat")
        mm = min(int(params["m"]), st.n)
        if k_hat is None or not math.isfinite(k_hat) or mm < 2:
            return 0.0  # a flat or one-token head: the fit is degenerate and nothing is cut
        t = np.log(np.arange(2, mm + 1) / np.arange(1, mm))
        if not (s_hat and s_hat > 0):
            return None
        eps_s = 2 * b["logp"] * float(t.sum()) / (s_hat * float((t * t).sum())) + 2 * (b["sum"] + 4 * u)
        if eps_s >= 0.5:
            return None
        L = abs(math.log(max(k_hat, 1e-300)))
        return (L * eps_s / (1 - eps_s) * s_hat + 2 * b["logp"]) / LN2


class MirostatV2(_Mirostat):
    name = "mirostat-v2"
    threshold = True

    def mu_band(self, st, params, ref, b, u):
        return b["logp"] / LN2


class KOverflowWatch:
    """Mirostat v1's steps whose estimate of ``k`` has no C ``int`` value
    (:func:`k_overflows`), along a replay of the port's draws, and whether the port drew greedily
    there: an engine calling top-k with ``max(int(k), 1)`` keeps one token at such a step (the
    conversion is undefined behaviour; x86-64 gives ``INT_MIN``) where the algorithm keeps many."""

    #: the chance under the exact kept distributions of drawing greedily at every such step, at
    #: most this, names the fault (a correct port draws greedily there only by that chance)
    CHANCE = 1e-6

    def __init__(self, row64, tau, prm, pf, st):
        self.row, self.tau, self.pf = row64, tau, pf
        self.m = int(prm.get("m") or SAMPLERS[MirostatV1.name].params["m"].default)
        self.n_vocab = prm.get("n_vocab")
        self.top = {int(i) for i in st.order[: int(np.sum(st.values == st.values[0]))]} if st.n else set()
        self.steps = 0
        self.greedy = 0
        self.log_chance = 0.0
        self.first: tuple | None = None

    def step(self, t: int, mu: float, kept: list, token: int) -> None:
        """Step ``t`` of the replay: state ``mu``, the reference's kept ids, the port's token."""
        if len(kept) < 2 or self.m < 2 or self.row.size < 2:
            return
        s_hat, k_hat = k_estimate(self.row, self.tau, mu, self.m, self.n_vocab)
        if not k_overflows(k_hat):
            return
        p_top = float(self.pf[[i for i in kept if i in self.top]].sum() / self.pf[kept].sum())
        if p_top >= 1:
            return
        self.steps += 1
        if token in self.top:
            self.greedy += 1
            self.log_chance += math.log(p_top)
        if self.first is None:
            self.first = (t, mu, s_hat, k_hat, len(kept))

    def diagnosis(self, details: dict) -> str | None:
        """The words of the ``k-overflow`` fault, or ``None`` when the draws do not show it (the
        counts go into ``details``)."""
        if not self.steps:
            return None
        details.update(k_overflow_steps=self.steps, k_overflow_greedy=self.greedy)
        if self.greedy < self.steps or self.log_chance > math.log(self.CHANCE):
            return None
        t, mu, s_hat, k_hat, k = self.first
        if math.isnan(s_hat):
            cause = (f"s_hat = nan: the Zipf fit over the top {self.m} entries meets masked tokens (probability 0, "
                     f"ln 0 - ln 0 is NaN), so k = nan")
        elif math.isinf(s_hat) or math.isnan(k_hat):
            cause = f"s_hat = {s_hat!r}: the Zipf fit over the top {self.m} entries meets a masked token, so k is undefined (nan)"
        elif math.isinf(k_hat):
            cause = f"s_hat = {s_hat:.4g} (a near-flat head), so k = (eps 2**mu / (1 - N**-eps))**(1/s_hat) overflows to inf"
        else:
            cause = f"k = {k_hat:.4g} >= 2**31 (s_hat = {s_hat:.4g}: mu has risen past what 2**31 tokens allow)"
        lc = self.log_chance
        chance = f"{math.exp(lc):.3g}" if lc > -700 else f"10**{lc / math.log(10):.0f}"
        return (f"from step {t} (mu = {mu:.6g} bits replayed from the port's own tokens) {cause}; converting it to a C int "
                f"(top-k with max(int(k), 1)) is undefined behaviour (INT_MIN on x86-64), so one token is kept where the "
                f"algorithm keeps {k}: the port drew the most probable token at all {self.steps} such step(s), a chance of "
                f"{chance} under the exact kept distributions")
