"""Batched float kernels for the truncation family (top-k, top-p, min-p, typical, epsilon, eta,
mirostat v1/v2, p-less, p-less-norm, top-n-sigma, xtc, top-a, tfs), with the same methods, parameters and policies
as :func:`ees_theory.reference.truncate` (see :mod:`ees_theory.reference.truncation` for what each
policy means). Device-agnostic; no Python loop over the vocabulary or the batch.

``truncate_mask(method, logits, temperature=1.0, policy="paper", accumulate="float32", **params)``
returns a bool tensor of the logits' shape, True = kept. The work runs on ``softmax(logits / tau)``
in the dtype chosen by ``accumulate`` (:func:`ees_theory.kernels._core.compute_dtype`). Canonical
order (probability descending, ties by id ascending) is a stable descending sort.

>>> import torch
>>> z = torch.tensor([[2.0, 1.0, 0.0, -1.0], [0.0, 0.0, 0.0, 0.0]])
>>> truncate_mask("top-p", z, p=0.9).tolist()
[[True, True, True, False], [True, True, True, True]]
>>> mask, token, mu = mirostat_step("mirostat-v2", torch.tensor([2.0, 1.0, 0.0]), tau=1.0, eta=0.1, u=0.5)
>>> mask.tolist(), int(token), round(float(mu), 4)
([True, False, False], 0, 2.0412)
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..spec.methods import SAMPLERS
from ..spec.methods import check_params
from ..core.ctx import torch_context
from ..core.truncation import eta as eta_sampling
from ..core.truncation import epsilon, min_p, mirostat, p_less, tfs, top_a, top_k, top_n_sigma, top_p, typical, xtc
from ..core.truncation.registry import rule as truncation_rule
from ._core import check_logits, compute_dtype, needs_wide, row_temperature, wide_scaled
from ._workspace import scratch
from . import _numerics

__all__ = ["truncate_mask", "mirostat_step", "ranking_key", "typical_count"]


def _prepare(logits, temperature, accumulate):
    logits = check_logits(logits)
    cd = compute_dtype(logits.dtype, accumulate)
    masked = torch.isneginf(logits)
    tau64 = row_temperature(temperature, logits.shape[:-1], torch.float64, logits.device)
    magnitude = torch.where(masked, 0.0, logits.double().abs()).amax(dim=-1, keepdim=True)
    sz = None
    if needs_wide(tau64, 2 * magnitude, cd):
        # a temperature the compute dtype cannot hold, or logits / tau beyond its range: the
        # work runs in float64 on the shifted logits (softmax and every rule here are
        # shift-invariant); the order comes from the logits themselves, since scaled values
        # past float64's range are clamped (their weight is 0) and would tie
        x = wide_scaled(logits, logits.amax(dim=-1, keepdim=True), tau64, torch.float64)
        x = x.masked_fill(masked, -math.inf)
        _, idx = torch.sort(logits, dim=-1, descending=True, stable=True)
        sx = torch.gather(x, -1, idx)
        sz = torch.gather(logits, -1, idx).double()  # for the rank- and scale-invariant rules
    else:
        tau = row_temperature(temperature, logits.shape[:-1], cd, logits.device)
        nm = _numerics.current()
        if nm.shift == "before":  # (z - max) / tau: the shift happens before the division
            zc = logits.to(cd)
            x = (zc - torch.where(masked, -math.inf, zc).amax(dim=-1, keepdim=True)) / tau
        else:
            x = logits.to(cd) / tau
        x = x.masked_fill(masked, -math.inf)
        if nm.rank == "probs":  # ordered by the computed probabilities (their ties are the port's)
            _, idx = torch.sort(_numerics.softmax(x), dim=-1, descending=True, stable=True)
            sx = torch.gather(x, -1, idx)
        else:
            sx, idx = torch.sort(x, dim=-1, descending=True, stable=True)
    sp = torch.softmax(sx, dim=-1) if _numerics.current() is _numerics.DEFAULT else _numerics.softmax(sx)
    n = (~masked).sum(dim=-1, keepdim=True)
    pos = torch.arange(x.shape[-1], device=x.device).expand_as(x)
    return x, masked, sx, idx, sp, n, pos, sz


def _power_of_two_near(x: torch.Tensor) -> torch.Tensor:
    """``2**(e - 1)`` for ``x = m 2**e`` (``1/2 <= m < 1``): a power of two in ``(x/2, x]``, formed
    without leaving ``x``'s dtype (``2**e`` itself may overflow it); 1 where ``x`` is 0.

    >>> _power_of_two_near(torch.tensor([3.0, 0.375, 2.0**-1060, 0.0], dtype=torch.float64)).tolist() == [2.0, 0.25, 2.0**-1060, 1.0]
    True
    """
    m, _ = torch.frexp(x)
    return torch.where(x > 0, x / (2 * m), torch.ones_like(x))


def _sigma_test(sx, cand, n, nn, policy):
    nf = n.to(sx.dtype)
    vals = torch.where(cand, sx, torch.zeros_like(sx))
    mean = _numerics.total(vals) / nf
    dev = torch.where(cand, sx - mean, torch.zeros_like(sx))
    # the squares of a row scaled far down (a huge temperature) underflow to 0: the deviations are
    # squared divided by a power of two near the largest one (exact), the root scaled back
    unit = _power_of_two_near(dev.abs().amax(dim=-1, keepdim=True))
    dev = dev / unit
    denom = nf - top_n_sigma.ddof(policy)
    var = _numerics.total(dev * dev) / torch.clamp(denom, min=1)
    sigma = torch.sqrt(var) * unit
    return (sx >= sx[..., :1] - nn * sigma) | (n <= 1), sigma


def _n_sigma_keep(sx, cand, n, nn, policy):
    """Top-n-sigma's test ``l_i >= max l - n sigma``. Where ``sigma`` (or ``n sigma``) overflows,
    the row is tested again on its candidates scaled by a power of two into ``[-1, 1]`` (exact)
    and then shifted: the test is shift- and scale-invariant, and the scaled statistics cannot
    overflow."""
    keep, sigma = _sigma_test(sx, cand, n, nn, policy)
    bad = ~torch.isfinite(nn * sigma)
    if bool(bad.any()):
        z = torch.where(cand, sx, torch.zeros_like(sx)).double()
        span = z.abs().amax(dim=-1, keepdim=True)
        _, exponent = torch.frexp(torch.where(span > 0, span, torch.ones_like(span)))
        zs = torch.ldexp(z, -exponent)  # in [-1, 1]: exact unless it underflows
        scaled = torch.where(cand, zs - zs[..., :1], torch.full_like(zs, -math.inf)).to(sx.dtype)
        keep2, _ = _sigma_test(scaled, cand, n, nn, policy)
        keep = torch.where(bad, keep2, keep)
    return keep


def _mass_before(sp: torch.Tensor) -> torch.Tensor:
    """The mass of the tokens before each position of the sorted order (running sums under the
    current numerics)."""
    return _numerics.cumsum(sp) - sp


def _unsort(sorted_keep: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(sorted_keep).scatter(-1, idx, sorted_keep)


def _floor(keep, pos, n, m, sx=None):
    """At least ``m`` (and one) of the candidates; with ``sx`` every token tied with the m-th too."""
    mm = torch.clamp(torch.minimum(torch.full_like(n, max(m, 1)), n), min=1)
    if sx is None:
        return keep | (pos < mm)
    thr = torch.gather(sx, -1, mm - 1)
    return keep | (sx >= thr)


_T = torch_context()


def _log_probs(sx):
    return torch.log_softmax(sx, dim=-1)


def _entropy(sp, slp):
    # = core.entropy.entropy_from_log_probs(sp, slp, torch ctx) in one scratch buffer (calling it
    # costs 6.8x here: a mask and two fresh tensors); pinned by tests/test_truncation.py
    # 0 ln 0 = 0: a masked or underflowed token has p = 0 and log p = -inf, so its product is
    # NaN and is replaced by 0 (the only NaN possible: p > 0 has a finite log); in a scratch
    # buffer, as a fresh one per call costs more than the arithmetic on CPU (see ._workspace)
    terms = torch.mul(sp, slp, out=scratch("entropy_terms", sp.shape, sp.dtype, sp.device))
    terms = terms.nan_to_num_(nan=0.0, posinf=math.inf, neginf=-math.inf)
    return -(terms.sum(dim=-1, keepdim=True) if _numerics.current() is _numerics.DEFAULT else _numerics.total(terms))


def _mirostat_k(version, policy, prm, sx, sp, n, mu, size):
    """Per-row kept count of mirostat ``version`` (1 or 2; sorted prefix length)."""
    slp = _log_probs(sx)
    if version == 2:
        keep = slp >= -mu * math.log(2.0)
        k = keep.sum(dim=-1, keepdim=True)
        return torch.clamp(k, min=1)
    m = prm["m"]
    nv = prm["n_vocab"] if prm["n_vocab"] is not None else size
    width = min(m, sx.shape[-1]) - 1
    mm = torch.clamp(torch.minimum(n, torch.full_like(n, m)), min=1)
    if width < 1:
        return n
    i = torch.arange(width, device=sx.device, dtype=sx.dtype)
    t = mirostat.zipf_weight(i, _T)
    b = slp[..., :-1][..., :width] - slp[..., 1:][..., :width]
    valid = i < (mm - 1)
    b = torch.where(valid, b, torch.zeros_like(b))
    tt = torch.where(valid, t * t, torch.zeros_like(b))
    num = (t * b).sum(dim=-1, keepdim=True)
    den = tt.sum(dim=-1, keepdim=True)
    s = torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)), torch.zeros_like(num))
    eps = s - 1
    ln_n = math.log(nv)
    y = eps * ln_n
    # eps / (1 - N^-eps) = 1 / (ln N * phi(y)), phi(y) = -expm1(-y)/y, phi(0) = 1
    safe_y = torch.where(y == 0, torch.ones_like(y), y)
    phi = torch.where(y == 0, torch.ones_like(y), -torch.expm1(-safe_y) / safe_y)
    safe_s = torch.where(s > 0, s, torch.ones_like(s))
    log_k = mirostat.log_k_hat(safe_s, mu, ln_n, phi, _T)
    k_hat = torch.exp(log_k)
    q = k_hat + 0.5 if mirostat.rounds_half_up(policy) else k_hat
    big = q >= n.to(q.dtype)
    k = torch.where(big, n.to(q.dtype), torch.floor(torch.where(big, torch.zeros_like(q), q)))
    k = torch.clamp(k.to(n.dtype), min=1)
    return torch.where(s > 0, torch.minimum(k, n), n)


def _tfs_keep(sp, pos, n, z, m, policy):
    """Tail-free sampling's kept prefix (see :mod:`ees_theory.core.truncation.tfs`)."""
    if z >= 1 or sp.shape[-1] < 3:
        count = torch.zeros_like(n)
        flat = torch.zeros_like(n, dtype=torch.bool)
    else:
        j = pos[..., :-2]
        valid = j < n - 2  # second differences of candidates only (masked entries sort last)
        w = torch.where(valid, tfs.second_differences(sp).abs(), torch.zeros_like(sp[..., :-2]))
        total = _numerics.total(w)  # the sums in the current numerics' order (a style's, or torch's)
        cdf = _numerics.cumsum(w) / torch.where(total > 0, total, torch.ones_like(total))
        uniform = tfs.flat_means_uniform(policy)
        flat = total <= (tfs.FLAT if uniform else 0.0)
        if uniform:  # uniform weights 1 / (n - 2) on a flat row
            uni = (j + 1).to(sp.dtype) / torch.clamp(n - 2, min=1).to(sp.dtype)
            cdf = torch.where(flat, uni, cdf)
        count = ((cdf <= z) & valid).sum(dim=-1, keepdim=True)
    k = tfs.kept(count, n, m, policy)
    if tfs.short_rows_untouched(policy):
        off = (n < 3) | (z >= 1)
    else:  # a flat row of 3 or more has no tail; 1 or 2 candidates keep the first
        off = (flat & (n >= 3)) | (z >= 1)
    return pos < torch.where(off, n, k)


def _as_row_param(value, name, batch_shape, dtype, device, lo=None, hi_open=None):
    t = torch.as_tensor(value, dtype=torch.float64, device=device)
    try:
        t = torch.broadcast_to(t, batch_shape)
    except RuntimeError:
        raise ValueError(f"{name} of shape {tuple(t.shape)} does not match the batch shape {tuple(batch_shape)}") from None
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite")
    if lo is not None and bool((t < lo).any()) or hi_open is not None and bool((t >= hi_open).any()):
        raise ValueError(f"{name} must lie in [{lo}, {hi_open})")
    return t.to(dtype).unsqueeze(-1)


class _Row:
    """One prepared batch (see :func:`_prepare`) with what every rule's kernel reads."""

    __slots__ = ("x", "masked", "sx", "idx", "sp", "n", "pos", "sz", "cand", "V", "m", "params", "want_state")

    def __init__(self, x, masked, sx, idx, sp, n, pos, sz, m):
        self.x, self.masked, self.sx, self.idx, self.sp, self.n, self.pos, self.sz = x, masked, sx, idx, sp, n, pos, sz
        self.cand = pos < n
        self.V = x.shape[-1]
        self.m = m

    def all(self):
        return torch.ones_like(self.cand)

    def values(self):
        """The values ranks and ties are read from: the logits themselves where their scaled
        values left the float range (the rules that use them are rank- and scale-invariant)."""
        return self.sx if self.sz is None else self.sz


# The kernels of the rules in ees_theory.core.truncation, one per rule module: each takes the
# prepared row, the checked parameters, the policy record, whether the policy's no-op condition
# holds, the rule and the policy's name, and returns the kept sorted positions.


def _top_k_kernel(r, prm, pol, noop, rule, policy):
    if noop:
        return r.all()
    kk = top_k.width(prm["k"], r.m, r.V)
    if pol.ties:  # every token tied with the kk-th value
        s = r.values()
        return s >= s[..., kk - 1 : kk]
    return r.pos < kk


def _top_p_kernel(r, prm, pol, noop, rule, policy):
    p = prm["p"]
    bottom = _numerics.current().mass == "bottom"
    if noop and not bottom:  # a port summing from the bottom drops underflowed tokens even at p = 1
        keep = r.all()
    elif bottom:
        keep = pol.holds(*top_p.sides_from_bottom(p, _numerics.against_param(_numerics.cumsum(r.sp.flip(-1)).flip(-1))))
    else:
        keep = pol.holds(*top_p.sides(p, _numerics.against_param(_mass_before(r.sp))))
    return _at_least(r, keep, pol)


def _min_p_kernel(r, prm, pol, noop, rule, policy):
    mp = prm["min_p"]
    if noop:
        keep = r.all()
    elif _numerics.current().threshold == "probs":
        keep = pol.holds(*min_p.prob_sides(r.sp, r.sp[..., :1], mp))
    elif _numerics.current().threshold == "log_probs":
        lsp = _numerics.log_softmax(r.sx)
        keep = pol.holds(*min_p.log_sides(lsp - lsp[..., :1], mp, _T))
    else:
        keep = pol.holds(*min_p.log_sides(r.sx - r.sx[..., :1], mp, _T))
    return _at_least(r, keep, pol)


def _at_least(r, keep, pol):
    """``keep`` with the policy's ``min_tokens_to_keep`` floor (and the ties at it, if it has them)."""
    return _floor(keep, r.pos, r.n, r.m, r.values() if pol.min_keep == "floor-ties" else None)


def _threshold_kernel(r, pol, thr):
    return _at_least(r, pol.holds(*epsilon.sides(_numerics.against_param(r.sp), thr)), pol)


def _epsilon_kernel(r, prm, pol, noop, rule, policy):
    return _threshold_kernel(r, pol, torch.full_like(_numerics.against_param(r.sp[..., :1]), prm["epsilon"]))


def _eta_kernel(r, prm, pol, noop, rule, policy):
    H = _entropy(r.sp, _log_probs(r.sx))
    # at the parameter's precision the threshold is float64 arithmetic on the computed entropy
    return _threshold_kernel(r, pol, eta_sampling.threshold(prm["epsilon"], _numerics.against_param(H), _T))


def _p_less_kernel(r, prm, pol, noop, rule, policy):
    s2 = _numerics.total(r.sp * r.sp)
    thr = p_less.threshold(s2, r.V, rule.variant["norm"])
    return _floor(pol.holds(r.sp, thr), r.pos, r.n, 1)


def _top_n_sigma_kernel(r, prm, pol, noop, rule, policy):
    if noop:
        return r.all()
    # the test is scale-invariant: on the logits themselves when their scaled values leave the
    # float range
    keep = _n_sigma_keep(r.values(), r.cand, r.n, prm["n"], policy)
    return _floor(keep, r.pos, r.n, 1)


def _xtc_kernel(r, prm, pol, noop, rule, policy):
    if noop:  # the gate stays shut
        return r.all()
    above = (pol.holds(r.sp, prm["threshold"]) & r.cand).sum(dim=-1, keepdim=True)
    return r.pos >= xtc.dropped(above, xtc.counted(r.n, r.V, policy), max(r.m, 1))  # the most probable ones go


def _top_a_kernel(r, prm, pol, noop, rule, policy):
    keep = r.all() if noop else pol.holds(r.sp, top_a.threshold(prm["a"], r.sp[..., :1]))
    return _at_least(r, keep, pol)


def _tfs_kernel(r, prm, pol, noop, rule, policy):
    if noop:
        return r.all()
    return _tfs_keep(r.sp, r.pos, r.n, prm["z"], r.m, policy)


def _typical_kernel(r, prm, pol, noop, rule, policy):
    if noop:
        return r.all()
    slp = _log_probs(r.sx)
    H = _entropy(r.sp, slp)
    score = torch.where(r.cand, typical.score(slp, H), torch.full_like(r.sx, math.inf))
    sscore, order = torch.sort(score, dim=-1, stable=True)  # ties keep the canonical order
    count = _typical_count(torch.gather(r.sp, -1, order), prm["mass"], pol, r.n)
    keep_o = r.pos < count
    if pol.ties:  # every later token whose score ties the boundary token's
        keep_o = keep_o | (sscore <= torch.gather(sscore, -1, count - 1))
    keep_o = keep_o | (r.pos < min(max(r.m, 1), r.V))
    return torch.zeros_like(keep_o).scatter(-1, order, keep_o)


def _typical_count(p_in_order, mass, pol, n):
    """Typical's cut along an order of the candidates (``p_in_order``: their probabilities in it):
    the prefixes whose mass has not reached ``mass``, and the one that reaches it."""
    cum = _numerics.cumsum(p_in_order)
    reached_before = pol.holds(*typical.not_reached_sides(mass, _numerics.against_param(cum)))
    return torch.minimum(reached_before.sum(dim=-1, keepdim=True) + 1, n)


def typical_count(logits: Any, order: Any, temperature: float = 1.0, policy: str = "paper", accumulate: str = "float32", **params: Any) -> int:
    """How many tokens typical keeps on one row when its candidates come in ``order`` (token ids,
    most typical first) instead of the order of its computed scores, under the current numerics
    (the ``min_tokens_to_keep`` floor included; ties at the cut are not extended). Careful ports
    whose scores differ by a rounding order tokens differently, and the cut then falls elsewhere.

    Parameters
    ----------
    logits : torch.Tensor
        One row (1-D), as :func:`truncate_mask` takes it.
    order : sequence of int
        Token ids of the row's candidates, each once, most typical first.
    temperature, policy, accumulate, **params
        As for :func:`truncate_mask` with ``method="typical"`` (``mass``, ``min_tokens_to_keep``).

    Returns
    -------
    int
        The kept count along ``order``.

    >>> import torch
    >>> z = torch.tensor([0.0, -0.1, -0.2, -0.3])    # p = 0.289, 0.261, 0.236, 0.214
    >>> typical_count(z, [0, 1, 2, 3], mass=0.5), typical_count(z, [1, 2, 0, 3], mass=0.5)
    (2, 3)
    """
    prm = check_params("typical", policy, params)
    pol = truncation_rule("typical").policy(policy)
    x, masked, sx, idx, sp, n, pos, sz = _prepare(logits, temperature, accumulate)
    p = _unsort(sp, idx)  # the probabilities by token id, as the kernel computed them
    ids = torch.as_tensor(list(order), dtype=torch.int64, device=p.device)
    count = int(_typical_count(p[..., ids], prm["mass"], pol, n.reshape(-1)[:1]).reshape(-1)[0])
    return max(count, min(max(int(prm.get("min_tokens_to_keep", 1)), 1), int(n.reshape(-1)[0])))


def _mirostat_kernel(r, prm, pol, noop, rule, policy):
    mu = r.params.get("mu")
    mu_t = _as_row_param(2.0 * prm["tau"] if mu is None else mu, "mu", r.x.shape[:-1], r.sx.dtype, r.x.device)
    k = _mirostat_k(rule.variant["version"], policy, prm, r.sx, r.sp, r.n, mu_t, r.V)
    keep = r.pos < k
    if not r.want_state:
        return keep
    u = _as_row_param(r.params["u"], "u", r.x.shape[:-1], r.sx.dtype, r.x.device, lo=0.0, hi_open=1.0)
    kp = torch.where(keep, r.sp, torch.zeros_like(r.sp))
    cum = torch.cumsum(kp, dim=-1)
    total = cum[..., -1:]
    j = torch.clamp((cum <= u * total).sum(dim=-1, keepdim=True), max=k - 1)
    p_sel = torch.gather(r.sp, -1, j)
    if mirostat.renormalised_surprise(policy):
        p_sel = p_sel / total
    surprise = -torch.log2(p_sel)
    new_mu = mirostat.mu_update(mu_t, prm["eta"], surprise, prm["tau"])
    token = torch.gather(r.idx, -1, j)
    return _unsort(keep & r.cand, r.idx), token.squeeze(-1), new_mu.squeeze(-1)


_KERNELS = {
    top_k: _top_k_kernel,
    top_p: _top_p_kernel,
    min_p: _min_p_kernel,
    typical: _typical_kernel,
    epsilon: _epsilon_kernel,
    eta_sampling: _eta_kernel,
    p_less: _p_less_kernel,
    top_n_sigma: _top_n_sigma_kernel,
    xtc: _xtc_kernel,
    top_a: _top_a_kernel,
    tfs: _tfs_kernel,
    mirostat: _mirostat_kernel,
}


def _mask(method, logits, temperature, policy, accumulate, params, want_state=False):
    rule = truncation_rule(method)  # an unknown name is refused here
    stateful = SAMPLERS[method].stateful
    # a stateful sampler's state and draw may be tensors of the batch shape: checked row-wise later
    scalar = {k: v for k, v in params.items() if not (stateful and k in ("mu", "u") and isinstance(v, torch.Tensor))}
    if stateful:
        scalar.setdefault("u", 0.0)
        for k in ("mu", "u"):
            if isinstance(params.get(k), torch.Tensor):
                scalar[k] = None if k == "mu" else 0.0
    prm = check_params(method, policy, scalar)
    pol = rule.policy(policy)
    x, masked, sx, idx, sp, n, pos, sz = _prepare(logits, temperature, accumulate)
    V = x.shape[-1]
    for key in ("k", "min_tokens_to_keep", "m"):  # a count past the row means the whole row (and
        if isinstance(prm.get(key), int) and prm[key] > V:  # one past int64 would wrap around in torch)
            prm[key] = V
    r = _Row(x, masked, sx, idx, sp, n, pos, sz, prm.get("min_tokens_to_keep", 1))
    r.params, r.want_state = params, want_state
    out = _KERNELS[rule.module](r, prm, pol, pol.noop(prm), rule, policy)
    return out if want_state else _unsort(out & r.cand, idx)


def truncate_mask(
    method: str, logits: Any, temperature: Any = 1.0, policy: str = "paper", accumulate: str = "float32", **params: Any
) -> torch.Tensor:
    """Kept mask of ``method`` for every row of ``logits`` (True = kept), same shape.

    Mirostat methods need ``tau``, ``eta`` and take ``mu`` (default ``2 tau``; a float or a tensor
    of the batch shape); their mask does not depend on the draw ``u``.

    Parameters
    ----------
    method : str
        A truncation sampler, a key of :data:`~ees_theory.spec.methods.SAMPLERS`.
    logits : torch.Tensor
        float16, bfloat16, float32 or float64; the last axis the vocabulary, any leading batch axes;
        ``-inf`` masks a token, every row needs a finite logit (no NaN, no ``+inf``). Not modified.
    temperature : float or torch.Tensor
        Finite and ``> 0``: a number for every row, or a tensor with the batch shape (default 1).
    policy : str
        One of the sampler's policies (default ``"paper"``).
    accumulate : str
        ``"float32"`` (the default: every step in at least float32) or ``"input"`` (in the logits'
        dtype).
    **params
        The sampler's parameters by name (``k``, ``p``, ``min_tokens_to_keep``, ...); one left out
        takes its default.

    Returns
    -------
    torch.Tensor
        bool, the shape of ``logits``: ``True`` for a kept token.

    Raises
    ------
    ValueError
        An unknown method or policy, a parameter out of its domain, bad logits or temperature.
    TypeError
        A missing or unexpected parameter, or logits that are not a tensor of a supported dtype.

    Examples
    --------
    >>> import torch
    >>> truncate_mask("top-k", torch.tensor([1.0, 3.0, 3.0, 0.0]), k=1, policy="transformers").tolist()
    [False, True, True, False]
    >>> truncate_mask("min-p", torch.tensor([2.0, 1.0, 0.0]), min_p=0.3).tolist()
    [True, True, False]
    """
    return _mask(method, logits, temperature, policy, accumulate, params)


def ranking_key(logits: Any, temperature: Any = 1.0, accumulate: str = "float32", method: str | None = None) -> torch.Tensor:
    """The values the truncation kernels rank tokens by under the current numerics, in the input's
    token order (``-inf`` for masked tokens): the scaled logits, or the computed probabilities when
    the numerics rank by probabilities; for ``typical``, minus the score ``|-ln p - H|`` (its kept
    set is the tokens of smallest score). Tokens with equal values may be ordered either way.

    >>> import torch
    >>> ranking_key(torch.tensor([2.0, 0.0, -float("inf")]), 2.0).tolist()
    [1.0, 0.0, -inf]
    """
    x, masked, sx, idx, sp, n, pos, sz = _prepare(logits, temperature, accumulate)
    if method in SAMPLERS and SAMPLERS[method].ranking == "typical-score":
        slp = _log_probs(sx)
        score = typical.score(slp, _entropy(sp, slp))
        return _unsort(-score, idx).masked_fill(masked, -math.inf)
    if _numerics.current().rank == "probs":
        return _unsort(sp, idx).masked_fill(masked, -math.inf)
    return x.masked_fill(masked, -math.inf)


def mirostat_step(
    method: str, logits: Any, temperature: Any = 1.0, policy: str = "paper", accumulate: str = "float32", **params: Any
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One mirostat step for every row: ``(mask, token, new_mu)``, deterministic given ``u``.

    ``u`` (a float or a tensor of the batch shape, in ``[0, 1)``) picks the token by the inverse
    CDF of the renormalised kept set; ``new_mu = mu - eta (surprise - tau)``, surprise in bits.

    Parameters
    ----------
    method : str
        ``"mirostat-v1"`` or ``"mirostat-v2"``.
    logits : torch.Tensor
        float16, bfloat16, float32 or float64; the last axis the vocabulary, any leading batch axes;
        ``-inf`` masks a token, every row needs a finite logit (no NaN, no ``+inf``). Not modified.
    temperature : float or torch.Tensor
        Finite and ``> 0``: a number for every row, or a tensor with the batch shape (default 1).
    policy : str
        One of the sampler's policies (default ``"paper"``).
    accumulate : str
        ``"float32"`` (the default: every step in at least float32) or ``"input"`` (in the logits'
        dtype).
    **params
        ``tau`` and ``eta``; ``u`` (the draw, in ``[0, 1)``); ``mu`` (default ``2 tau``); ``u`` and
        ``mu`` may be tensors of the batch shape. v1 also takes ``m`` and ``n_vocab``.

    Returns
    -------
    tuple of torch.Tensor
        ``(mask, token, new_mu)``: the kept mask (the shape of ``logits``), the drawn token id and
        the next ``mu`` of each row.

    Raises
    ------
    ValueError
        A method other than mirostat, an unknown policy, a parameter out of its domain, bad
        logits or temperature.
    TypeError
        ``u`` missing, a missing or unexpected parameter, or logits that are not a tensor of a
        supported dtype.

    Examples
    --------
    >>> import torch
    >>> _, token, mu = mirostat_step("mirostat-v1", torch.tensor([[3.0, 2.0, 1.0, 0.0]]), tau=2.0, eta=0.1, u=0.9)
    >>> token.tolist()      # all 4 kept; cumulative p = .644, .881, .968: u = 0.9 picks id 2
    [2]
    """
    if not (isinstance(method, str) and method in SAMPLERS and SAMPLERS[method].stateful):
        stateful = " or ".join(name for name, ms in SAMPLERS.items() if ms.stateful)
        raise ValueError(f"mirostat_step runs {stateful}, got {method!r}")
    if "u" not in params:
        raise TypeError(f"{method} needs the parameter 'u' (the uniform draw)")
    return _mask(method, logits, temperature, policy, accumulate, params, want_state=True)
