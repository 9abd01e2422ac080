"""Mirostat (Basu et al. 2020): the Zipf estimate of v1 and the ``mu`` update of both versions.

* v1 fits a Zipf exponent to the top ``m`` tokens,
  ``s_hat = sum_i t_i b_i / sum_i t_i^2`` with ``t_i = ln((i + 2)/(i + 1))`` and
  ``b_i = ln p_(i+1) - ln p_(i+2)`` (0-based ``i``), then keeps
  ``k_hat = (eps 2**mu / (1 - N**-eps))**(1/s_hat)`` tokens, ``eps = s_hat - 1``, ``N`` the
  vocabulary size. With ``phi(y) = (1 - e**-y) / y`` (``phi(0) = 1``):
  ``ln k_hat = (mu ln 2 - ln ln N - ln phi(eps ln N)) / s_hat``;
* after the draw: ``mu <- mu - eta (surprise - tau)``, the surprise ``-log2 p`` in bits.

>>> from ees_theory.core.ctx import MP
>>> round(mu_update(2.0, 0.1, 1.0, 3.0), 12)     # surprise 1 bit under a target of 3
2.2
>>> round(float(log_k_hat(MP.num(1.0), 3.0, MP.log(100), MP.num(1), MP)), 6)   # s = 1: phi(0) = 1
0.552262
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np

from ... import tolerances
from ...spec.inputs import check_real
from ...spec.methods import REQUIRED, MethodSpec, Param, check_draw, positive, whole
from ..certify import enclose, iv_bounds, iv_exp, iv_precision
from ..ctx import Context
from ..ctx import FLOAT, IV
from .faults import LN2
from .policy import Policy


#: v2 keeps ``-log2 p_i <= mu``; paper: surprise under the untruncated distribution, v1's ``k``
#: rounded half up; llama.cpp: surprise under the renormalised kept set, ``k`` truncated
POLICIES = {"paper": Policy(min_keep="none"), "llama.cpp": Policy(min_keep="none")}

__all__ = ["rounds_half_up", "renormalised_surprise", "zipf_weight", "log_k_hat", "mu_update", "certify", "kernel", "POLICIES", "RULES", "ORDER", "RECORDS"]

#: the samplers this module is the rule of, each with its variant (see ``registry.register_builtin``)
RULES = {"mirostat-v1": {"version": 1}, "mirostat-v2": {"version": 2}}

#: where its samplers stand in every listing of the samplers (the command line's help, the reports):
#: the table is ordered by ``ORDER``, then by each module's ``RULES``
ORDER = 90


def _mu(v: Any, policy: str) -> Any:
    return None if v is None else check_real(v, "mu")


def _m(v: Any, policy: str) -> int:
    m = whole("m", v)
    if m < 2:
        raise ValueError(f"m (tokens used to fit the Zipf exponent) must be >= 2, got {m}")
    return m


def _n_vocab(v: Any, policy: str) -> Any:
    if v is None:
        return None
    nv = whole("n_vocab", v)
    if nv < 2:
        raise ValueError(f"n_vocab must be >= 2, got {nv}")
    return nv


_PARAMS = {
    "tau": Param(REQUIRED, positive("tau"), (2.0, 3.0, 5.0), help="target surprise (bits)"),
    "eta": Param(REQUIRED, positive("eta"), (0.1, 0.1, 0.5), help="learning rate of mu"),
    "mu": Param(None, _mu, (2.0, 4.0, 6.0, 10.0), help="the state (bits; default 2 tau)"),
    "u": Param(REQUIRED, check_draw, (0.05, 0.3, 0.5, 0.9), help="the uniform draw that picks the token, in [0, 1)"),
}

#: the records of its samplers (their parameters, domains, policies; see ``ees_theory.spec.methods.MethodSpec``)
RECORDS = {
    "mirostat-v1": MethodSpec(
        "mirostat-v1",
        {
            **_PARAMS,
            "m": Param(100, _m, (2, 5, 100), integer=True, help="tokens of the Zipf fit"),
            # a port reads the vocabulary size from the row itself: no grid
            "n_vocab": Param(None, _n_vocab, integer=True, help="vocabulary size of the Zipf estimate"),
        },
        ("paper", "llama.cpp"),
        "top-k with k from a Zipf fit, steered by mu",
        form="mask-with-state",
        stateful=True,
    ),
    "mirostat-v2": MethodSpec("mirostat-v2", dict(_PARAMS), ("paper", "llama.cpp"), "surprise -log2 p_i <= mu, steered by mu", form="mask-with-state",
                              stateful=True),
}


def rounds_half_up(policy: str) -> bool:
    """Whether v1 rounds ``k_hat`` to nearest, half up (the paper), or truncates it (llama.cpp).

    Parameters
    ----------
    policy : str
        ``"paper"`` or ``"llama.cpp"``.

    Returns
    -------
    bool
        ``True`` under ``paper``.
    """
    return policy == "paper"


def renormalised_surprise(policy: str) -> bool:
    """Whether the surprise of the drawn token is taken under the renormalised kept set
    (llama.cpp), or under the untruncated distribution (the paper).

    Parameters
    ----------
    policy : str
        ``"paper"`` or ``"llama.cpp"``.

    Returns
    -------
    bool
        ``True`` under ``llama.cpp``.
    """
    return policy == "llama.cpp"


def zipf_weight(i: Any, ctx: Context) -> Any:
    """``t_i = ln((i + 2) / (i + 1))``, the weight of the ``i``-th (0-based) log-ratio in ``s_hat``.

    Parameters
    ----------
    i : int or array of int
        The 0-based index of the log-ratio, ``>= 0``.
    ctx : Context
        The arithmetic context (:mod:`ees_theory.core.ctx`).

    Returns
    -------
    number or array
        ``ln((i + 2) / (i + 1))``.
    """
    return ctx.log(ctx.num(i + 2) / (i + 1))


def log_k_hat(s_hat: Any, mu: Any, ln_n: Any, phi: Any, ctx: Context) -> Any:
    """``ln k_hat = (mu ln 2 - ln ln N - ln phi) / s_hat`` with ``phi = phi((s_hat - 1) ln N)``.

    Parameters
    ----------
    s_hat : number, interval, array or tensor
        The estimated Zipf exponent, ``> 0``.
    mu : number
        The current ``mu`` (bits).
    ln_n : number
        ``ln N``, ``N`` the vocabulary size.
    phi : number, interval, array or tensor
        ``phi((s_hat - 1) ln N)``, ``> 0``.
    ctx : Context
        The arithmetic context (:mod:`ees_theory.core.ctx`).

    Returns
    -------
    number, interval, array or tensor
        ``ln k_hat``.
    """
    return (ctx.num(mu) * ctx.log(ctx.num(2)) - ctx.log(ln_n) - ctx.log(phi)) / s_hat


def mu_update(mu: Any, eta: Any, surprise: Any, tau: Any) -> Any:
    """``mu - eta (surprise - tau)`` (the surprise in bits).

    Parameters
    ----------
    mu : number or tensor
        The current ``mu`` (bits).
    eta : number
        The learning rate.
    surprise : number or tensor
        The drawn token's surprise ``-log2 p``, in bits.
    tau : number
        The target surprise, in bits.

    Returns
    -------
    number or tensor
        The next ``mu``.
    """
    return mu - eta * (surprise - tau)


# ---- the drivers: certified (ees_theory.reference.truncation) and on tensors (ees_theory.kernels.truncation)

def _sample(ctx, k, u):
    """Inverse CDF over the renormalised first ``k`` tokens of the exact context ``ctx``: the first
    ``j`` with ``S_{j+1} > u S_k``, and the checks that decide it."""
    iv = ctx.iv
    uf = Fraction(u)
    cum = np.cumsum(ctx.est_e[:k])
    est = u * cum[-1] - cum  # "not yet past u" gaps, non-increasing: >= 0 means not past

    def decide(j):
        return ctx.decide(
            "u S_k - S_{j+1}",
            j,
            lambda prec: iv.mpf(u) * ctx.prefix(k, prec) - ctx.prefix(j + 1, prec),
            lambda: [(uf, (l,)) for l in range(k)] + [(Fraction(-1), (l,)) for l in range(j + 1)],
        )

    j, checks = ctx.prefix_cut(est, False, decide, n=k)
    return min(j, k - 1), checks


def certify(row, ctx, tau, pol, prm, rule, policy):
    """The kept prefix length on one row, the checks that decide it, the Zipf estimates (v1) and the
    state: the chosen ``token``, the updated ``mu`` and the ``surprise`` (see
    :mod:`ees_theory.core.truncation` for the arguments)."""
    iv = ctx.iv
    version = rule.variant["version"]
    n = row.n
    target, eta, u = prm["tau"], prm["eta"], prm["u"]
    mu = prm["mu"] if prm["mu"] is not None else 2.0 * target
    ln2 = math.log(2.0)
    checks: list = []
    extras: dict = {"mu_in": mu}
    if version == 2:
        # keep surprise -log2 p_i <= mu:  mu ln 2 - a_i - ln S >= 0
        with np.errstate(divide="ignore"):
            est = mu * ln2 + np.log(ctx.est_p)

        def decide(i):
            return ctx.decide(
                "mu ln2 - ln(1/p_i)",
                i,
                lambda prec: iv.mpf(mu) * iv.log(iv.mpf(2)) - ctx.a(i, prec) - iv.log(ctx.S(prec)),
            )

        k, checks = ctx.prefix_cut(est, False, decide)
        k = max(k, 1)
    else:
        mm = min(prm["m"], n)
        nv = prm["n_vocab"] if prm["n_vocab"] is not None else row.size
        if nv < 2:
            raise ValueError("mirostat-v1 needs a vocabulary of at least 2 tokens (n_vocab)")
        vals = row.values[:mm]
        if mm < 2 or np.all(vals == vals[0]):
            k = n  # a flat (or one-token) head: the Zipf fit is degenerate, nothing is cut
            extras.update(s_hat=0, k_hat=math.inf)
        else:

            def s_hat(prec):
                num = iv.mpf(0)
                den = iv.mpf(0)
                for i in range(mm - 1):
                    t = zipf_weight(i, IV)
                    num += t * (ctx.a(i + 1, prec) - ctx.a(i, prec))
                    den += t * t
                return num / den

            def log_k(prec):
                s = s_hat(prec)
                y = (s - 1) * iv.log(iv.mpf(nv))
                # eps/(1 - N^-eps) = 1/(ln N * phi(eps ln N)), phi(y) = (1 - e^-y)/y decreasing, phi(0) = 1
                ylo, yhi = iv_bounds(y)

                def phi(x):
                    if x == 0:
                        return iv.mpf(1)
                    xv = iv.mpf(x)
                    return (1 - iv_exp(-xv)) / xv

                plo, phi_hi = phi(yhi), phi(ylo)
                ph = iv.mpf([iv_bounds(plo)[0], iv_bounds(phi_hi)[1]])
                return log_k_hat(s, mu, iv.log(iv.mpf(nv)), ph, IV)

            half = rounds_half_up(policy)  # floor(k_hat + 1/2)

            def q(prec):
                kh = iv_exp(log_k(prec))
                return kh + iv.mpf(0.5) if half else kh

            with iv_precision(128):
                qlo, qhi = iv_bounds(q(128))
                extras["s_hat"] = float(mpmath.mpf(iv_bounds(s_hat(128))[0]))
                extras["k_hat"] = float(mpmath.mpf(iv_bounds(iv_exp(log_k(128)))[0]))
            j = n if qlo >= n else max(int(mpmath.floor(qlo)), 1)
            # certify j <= q (when j >= 2) and q < j + 1 (when j < n), walking if the guess was off
            while True:
                if j >= 2:
                    c = ctx.decide("q - j", j, lambda prec, j=j: q(prec) - j)
                    ok = c.outcome(False)
                    if not ok:
                        j -= 1
                        continue
                    checks = [c]
                else:
                    checks = []
                if j < n:
                    c2 = ctx.decide("j + 1 - q", j, lambda prec, j=j: (j + 1) - q(prec))
                    ok = c2.outcome(True)
                    if not ok:
                        j += 1
                        continue
                    checks.append(c2)
                break
            k = j
    tok_pos, sample_checks = _sample(ctx, k, u)
    checks = list(checks) + sample_checks
    renorm = renormalised_surprise(policy)

    def surprise(prec):  # bits
        denom = ctx.prefix(k, prec) if renorm else ctx.S(prec)
        return (ctx.a(tok_pos, prec) + iv.log(denom)) / iv.log(iv.mpf(2))

    s_val, ok_s = enclose(surprise, 30, ctx.max_prec, floor=1)
    mu_val, ok_m = enclose(lambda prec: mu_update(iv.mpf(mu), iv.mpf(eta), surprise(prec), iv.mpf(target)), 30, ctx.max_prec, floor=1)
    if not (ok_s and ok_m):
        checks.append(ctx.known("mu to 30 digits", 0, None, float(mu_val), float(mu_val), "undecided"))
    return k, checks, extras, {"token": row.order[tok_pos], "mu": mu_val, "surprise": s_val}


def _kept_count(r, version, policy, prm, mu):
    """Per-row kept count of mirostat ``version`` (1 or 2; sorted prefix length) on the prepared
    batch ``r``, at the state tensor ``mu``."""
    t, sx, n, size = r.t, r.sx, r.n, r.V
    slp = r.log_probs()
    if version == 2:
        keep = slp >= -mu * math.log(2.0)
        k = keep.sum(dim=-1, keepdim=True)
        return t.clamp(k, min=1)
    m = prm["m"]
    nv = prm["n_vocab"] if prm["n_vocab"] is not None else size
    width = min(m, sx.shape[-1]) - 1
    mm = t.clamp(t.minimum(n, t.full_like(n, m)), min=1)
    if width < 1:
        return n
    i = t.arange(width, device=sx.device, dtype=sx.dtype)
    w = zipf_weight(i, r.T)
    b = slp[..., :-1][..., :width] - slp[..., 1:][..., :width]
    valid = i < (mm - 1)
    b = t.where(valid, b, t.zeros_like(b))
    tt = t.where(valid, w * w, t.zeros_like(b))
    num = (w * b).sum(dim=-1, keepdim=True)
    den = tt.sum(dim=-1, keepdim=True)
    s = t.where(den > 0, num / t.where(den > 0, den, t.ones_like(den)), t.zeros_like(num))
    eps = s - 1
    ln_n = math.log(nv)
    y = eps * ln_n
    # eps / (1 - N^-eps) = 1 / (ln N * phi(y)), phi(y) = -expm1(-y)/y, phi(0) = 1
    safe_y = t.where(y == 0, t.ones_like(y), y)
    phi = t.where(y == 0, t.ones_like(y), -t.expm1(-safe_y) / safe_y)
    safe_s = t.where(s > 0, s, t.ones_like(s))
    log_k = log_k_hat(safe_s, mu, ln_n, phi, r.T)
    k_hat = t.exp(log_k)
    q = k_hat + 0.5 if rounds_half_up(policy) else k_hat
    big = q >= n.to(q.dtype)
    k = t.where(big, n.to(q.dtype), t.floor(t.where(big, t.zeros_like(q), q)))
    k = t.clamp(k.to(n.dtype), min=1)
    return t.where(s > 0, t.minimum(k, n), n)


def kernel(r, prm, pol, noop, rule, policy):
    """The kept sorted positions of a prepared batch ``r`` (bool tensor); where ``r.want_state``,
    ``(kept mask by token id, drawn token, new mu)`` of every row instead."""
    t = r.t
    mu = r.params.get("mu")
    mu_t = r.row_param(2.0 * prm["tau"] if mu is None else mu, "mu")
    k = _kept_count(r, rule.variant["version"], policy, prm, mu_t)
    keep = r.pos < k
    if not r.want_state:
        return keep
    u = r.row_param(r.params["u"], "u", lo=0.0, hi_open=1.0)
    kp = t.where(keep, r.sp, t.zeros_like(r.sp))
    cum = t.cumsum(kp, dim=-1)
    total = cum[..., -1:]
    j = t.clamp((cum <= u * total).sum(dim=-1, keepdim=True), max=k - 1)
    p_sel = t.gather(r.sp, -1, j)
    if renormalised_surprise(policy):
        p_sel = p_sel / total
    surprise = -t.log2(p_sel)
    new_mu = mu_update(mu_t, prm["eta"], surprise, prm["tau"])
    token = t.gather(r.idx, -1, j)
    return r.unsort(keep & r.cand), token.squeeze(-1), new_mu.squeeze(-1)


# ---- its judge (assembled by ees_theory.judging.judges) ---------------------------------------

#: top-k takes a C ``int``: an estimate of ``k`` at or beyond ``2**31`` (or NaN) has no ``int``
#: value, and converting it is undefined behaviour (x86-64 gives ``INT_MIN``)
INT_K_LIMIT = 2.0**31


def k_estimate(row, temperature: float, mu: float, m: int, n_vocab: int | None = None) -> tuple[float, float]:
    """Mirostat v1's estimate ``(s_hat, k_hat)`` as the algorithm states it, in float64: the Zipf
    fit over the first ``m`` entries of the *whole* row sorted by probability, masked entries
    included (probability 0, so their log-ratios are ``inf`` or NaN, as in an engine that fits its
    whole candidate array), then ``k_hat = exp(ln k_hat)`` from
    :func:`log_k_hat` (``N``: ``n_vocab``, default the row's
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
        t = zipf_weight(i, ctx)
        s_hat = np.float64(np.sum(t * (lp[:mm - 1] - lp[1:mm])) / np.sum(t * t))
        ln_n = ctx.log(ctx.num(n_vocab if n_vocab is not None else z.size))
        y = (s_hat - 1) * ln_n
        phi = np.float64(1.0) if y == 0 else -np.expm1(-y) / y
        k_hat = np.exp(log_k_hat(s_hat, mu, ln_n, phi, ctx))
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


class Judge:
    """What both mirostat judges state (``ees_theory.judging.judges`` assembles each version's,
    :class:`V1Judge` and :class:`V2Judge`): the kept count moves with the state ``mu``, the chosen
    token with the draw ``u``; the band moves both (``mu +- logp / ln 2`` for v2, through the Zipf
    fit for v1), and the returned token and new ``mu`` are checked against the exact update.

    >>> V2Judge.stateful, V2Judge.threshold, getattr(V1Judge, "threshold", False)
    (True, True, False)
    """

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

    def check_state(self, st, row, params, ref, b, kept, token, mu, dtype, options, counts, edge_refs, base):
        """The chosen token must be the inverse-CDF draw of the kept set, and the new mu follow."""
        k = len(kept)
        if token not in kept:
            return self.failed(f"chose token {token}, which is not in its own kept set", "wrong-token", base)
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
            return self.fail(row, params, ref, kept, options, why, "wrong-token", base, dtype)
        # expected new mu for this token and kept set, from the exact probabilities
        renorm = options.policy == "llama.cpp"
        if token == ref.token and k == ref.k:
            with mpmath.workdps(30):
                expected = ref.mu
                surprise = ref.surprise
        else:
            with mpmath.workdps(30):
                p = self.softmax(row, st.tau)
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
            return self.failed(msg, fault, base, severity=err / tol if tol > 0 else math.inf)
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
            p = self.softmax(row, st.tau)
            full = -mpmath.log(p[token], 2)
            renorm = -mpmath.log(p[token] / mpmath.fsum(p[i] for i in kept), 2)
            upd = lambda s: float(mu_update(mpmath.mpf(params["mu"]), params["eta"], s, params["tau"]))  # noqa: E731
            if options.policy == "llama.cpp" and abs(mu - upd(full)) <= tol:
                return "surprise-untruncated", "the surprise is taken under the untruncated distribution; llama.cpp renormalises over the kept set"
            if options.policy != "llama.cpp" and abs(mu - upd(renorm)) <= tol:
                return "surprise-renormalised", "the surprise is taken under the renormalised kept set; the paper uses the untruncated distribution"
            nats = (renorm if options.policy == "llama.cpp" else full) * mpmath.log(2)
            if abs(mu - upd(nats)) <= tol:
                return "surprise-in-nats", "the surprise is in nats; mirostat measures it in bits (-log2 p)"
        return "wrong-mu", ""


class V1Judge(Judge):
    """Mirostat v1's judge: ``mu`` moves the kept count through the Zipf fit."""

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


class V2Judge(Judge):
    """Mirostat v2's judge: ``-log2 p_i <= mu``, so ``mu`` moves the kept count by ``logp / ln 2``."""

    threshold = True

    def mu_band(self, st, params, ref, b, u):
        return b["logp"] / LN2


#: the judge declaration of each version (read in place of a single ``Judge``)
JUDGES = {"mirostat-v1": V1Judge, "mirostat-v2": V2Judge}


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
        self.m = int(prm.get("m") or RECORDS["mirostat-v1"].params["m"].default)
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
