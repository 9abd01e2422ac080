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

from ...spec.inputs import check_real
from ...spec.methods import REQUIRED, MethodSpec, Param, check_draw, positive, whole
from ..certify import enclose, iv_bounds, iv_exp, iv_precision
from ..ctx import Context
from ..ctx import IV
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
