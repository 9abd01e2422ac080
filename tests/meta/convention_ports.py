"""Ports in the conventions of real inference code, written in torch (float32 unless said
otherwise) in the way front ends write them: sort, softmax, cumulative sums, ``masked_fill``.
Each convention comes three ways: a careful port that conforms under its policy, a port that
departs from it in one named way, and (for the truncation samplers) a port with no
``min_tokens_to_keep`` at all, which conforms when the harness is told so (``--unsupported``).

>>> import numpy as np
>>> top_p_no_min_keep(np.array([2.0, 1.0, 0.0, -1.0], np.float32), 1.0, p=0.9).tolist()
[True, True, True, False]
>>> round(dynatemp_finite(np.array([0.0, 0.0, -np.inf], np.float32), 1.0, 0.5, 1.0), 6)   # ln 2 / ln 2 -> T_max
1.5
"""

import math

import numpy as np
import torch


def _scaled(logits, temperature):
    return torch.as_tensor(np.array(logits, copy=True)).to(torch.float32) / float(temperature)


def _sorted_probs(x):
    """Probabilities in descending order (stable: ties by token id) and the sorting indices."""
    values, idx = torch.sort(x, descending=True, stable=True)
    return torch.softmax(values, dim=-1), idx


def _mask_of(idx, keep):
    mask = torch.zeros(idx.shape, dtype=torch.bool)
    mask[idx[keep]] = True
    return mask.numpy()


# ---- top-p ----------------------------------------------------------------------------------------
def _top_p(logits, temperature, p, min_keep, strict_prefix=False):
    x = _scaled(logits, temperature)
    probs, idx = _sorted_probs(x)
    before = torch.cumsum(probs, dim=-1) - probs  # mass of the tokens ranked above
    keep = (before <= p) if strict_prefix else (before < p)
    if p >= 1.0:  # every token: no float cumulative sum is trusted to reach 1
        keep[:] = True
    keep[: max(min_keep, 1)] = True
    keep[int(torch.isfinite(x).sum()):] = False  # masked tokens sort last
    return _mask_of(idx, keep)


def top_p_no_min_keep(logits, temperature, *, p):
    """top-p of a front end without min_tokens_to_keep: the smallest prefix with mass >= p."""
    return _top_p(logits, temperature, p, 1)


def top_p_min_keep_ignored(logits, temperature, *, p, min_tokens_to_keep):
    """Takes min_tokens_to_keep and ignores it."""
    return _top_p(logits, temperature, p, 1)


def top_p_exceeds(logits, temperature, *, p, min_tokens_to_keep=1):
    """The smallest prefix with mass > p: keeps the token whose preceding mass equals p."""
    return _top_p(logits, temperature, p, min_tokens_to_keep, strict_prefix=True)


# ---- top-k (transformers) -------------------------------------------------------------------------
def top_k_no_min_keep(logits, temperature, *, k):
    """transformers-style top-k without min_tokens_to_keep: every token tied with the k-th kept."""
    x = _scaled(logits, temperature)
    kth = torch.topk(x, min(k, x.numel())).values[-1]
    return ((x >= kth) & torch.isfinite(x)).numpy()


def top_k_min_keep_ignored(logits, temperature, *, k, min_tokens_to_keep):
    return top_k_no_min_keep(logits, temperature, k=k)


# ---- min-p and epsilon ----------------------------------------------------------------------------
def min_p_no_min_keep(logits, temperature, *, min_p):
    """p_i >= min_p p_max, compared on probabilities in float32."""
    x = _scaled(logits, temperature)
    probs = torch.softmax(x, dim=-1)
    return ((probs >= min_p * probs.max()) & torch.isfinite(x)).numpy()


def min_p_exclusive(logits, temperature, *, min_p, min_tokens_to_keep=1):
    """p_i > min_p p_max: a token exactly at the threshold is dropped."""
    x = _scaled(logits, temperature)
    probs, idx = _sorted_probs(x)
    keep = probs > min_p * probs[0]
    keep[: max(min_tokens_to_keep, 1)] = True
    keep[int(torch.isfinite(x).sum()):] = False
    return _mask_of(idx, keep)


def epsilon_no_min_keep(logits, temperature, *, epsilon):
    """The paper's epsilon sampling, p_i > epsilon, at least one token."""
    probs, idx = _sorted_probs(_scaled(logits, temperature))
    keep = probs > epsilon
    keep[0] = True
    return _mask_of(idx, keep)


def epsilon_inclusive(logits, temperature, *, epsilon, min_tokens_to_keep=1):
    """p_i >= epsilon under the paper's '>' policy."""
    x = _scaled(logits, temperature)
    probs, idx = _sorted_probs(x)
    keep = probs >= epsilon
    keep[: max(min_tokens_to_keep, 1)] = True
    keep[int(torch.isfinite(x).sum()):] = False
    return _mask_of(idx, keep)


# ---- typical --------------------------------------------------------------------------------------
def _typical(logits, temperature, mass, min_keep, strict=False, entropy_of_filled=False):
    x = _scaled(logits, temperature).to(torch.float64)
    logp = torch.log_softmax(x, dim=-1)
    p = logp.exp()
    if entropy_of_filled:  # the entropy after masked_fill(-inf -> 0)
        lq = torch.log_softmax(x.masked_fill(torch.isinf(x), 0.0), dim=-1)
        H = -(lq.exp() * lq).sum()
    else:
        H = -torch.where(p > 0, p * logp, torch.zeros_like(p)).sum()
    score = torch.where(torch.isfinite(x), (-logp - H).abs(), torch.full_like(x, math.inf))
    order = torch.sort(score, stable=True).indices
    cum = torch.cumsum(p[order], dim=-1)
    reached = (cum > mass) if strict else (cum >= mass)
    last = int(torch.nonzero(reached)[0]) if bool(reached.any()) else len(order) - 1
    k = max(last + 1, min(min_keep, int(torch.isfinite(x).sum())))
    mask = torch.zeros(x.shape, dtype=torch.bool)
    mask[order[:k]] = True
    return mask.numpy()


def typical_no_min_keep(logits, temperature, *, mass):
    """The paper's typical sampling (in float64: the score order needs it) without min_tokens_to_keep."""
    return _typical(logits, temperature, mass, 1)


def typical_exceeds(logits, temperature, *, mass, min_tokens_to_keep=1):
    """The prefix must exceed mass ('>'): llama.cpp's cut, judged under the paper's policy."""
    return _typical(logits, temperature, mass, min_tokens_to_keep, strict=True)


def typical_masked_as_zero(logits, temperature, *, mass, min_tokens_to_keep=1):
    return _typical(logits, temperature, mass, min_tokens_to_keep, entropy_of_filled=True)


# ---- top-n-sigma ----------------------------------------------------------------------------------
def top_n_sigma(logits, temperature, *, n):
    """l_i >= max - n sigma, sigma over the finite logits only (population)."""
    x = _scaled(logits, temperature).to(torch.float64)
    finite = torch.isfinite(x)
    sigma = x[finite].std(unbiased=False)
    return (finite & (x >= x[finite].max() - n * sigma)).numpy()


def top_n_sigma_masked_as_zero(logits, temperature, *, n):
    """sigma after masked_fill(-inf -> 0) (the masked entries count as logits of 0), with
    torch.std's default (divide by N - 1), as some front ends write it."""
    x = _scaled(logits, temperature).to(torch.float64)
    finite = torch.isfinite(x)
    sigma = x.masked_fill(~finite, 0.0).std()
    return (finite & (x >= x[finite].max() - n * sigma)).numpy()


# ---- dynatemp -------------------------------------------------------------------------------------
def _dynatemp(logits, temp, delta, exponent, count_all=False, entropy_of_filled=False, one_candidate=None):
    x = torch.as_tensor(np.array(logits, copy=True)).to(torch.float64)
    finite = torch.isfinite(x)
    n = x.numel() if count_all else int(finite.sum())
    if delta <= 0:
        return float(temp)
    if n <= 1:
        return one_candidate
    lo, hi = max(0.0, temp - delta), temp + delta
    if exponent == 0:
        return hi
    src = x.masked_fill(~finite, 0.0) if entropy_of_filled else x
    logp = torch.log_softmax(src, dim=-1)
    H = float(-(torch.where(torch.isfinite(logp), logp.exp() * logp, torch.zeros_like(logp))).sum())
    if H == 0 and exponent < 0:
        raise ValueError("entropy 0 with a negative exponent")
    return lo + (hi - lo) * (H / math.log(n)) ** exponent


def dynatemp_finite(logits, temp, delta, exponent):
    """log n over the finite entries only; one finite entry: the front end's guard gives T_max."""
    return _dynatemp(logits, temp, delta, exponent, one_candidate=temp + delta)


def dynatemp_finite_masked_as_zero(logits, temp, delta, exponent):
    """As :func:`dynatemp_finite`, but the entropy is taken after masked_fill(-inf -> 0)."""
    return _dynatemp(logits, temp, delta, exponent, entropy_of_filled=True, one_candidate=temp + delta)


def dynatemp_all_entries(logits, temp, delta, exponent):
    """llama.cpp's count (every entry) where the policy counts the finite ones."""
    return _dynatemp(logits, temp, delta, exponent, count_all=True)


def dynatemp_llama_one_candidate_guard(logits, temp, delta, exponent):
    """llama.cpp's count, but a row with one finite candidate answers T_max (a guard)."""
    x = np.asarray(logits, dtype=np.float64)
    if np.isfinite(x).sum() == 1 and x.size > 1 and delta > 0:
        return temp + delta
    return _dynatemp(logits, temp, delta, exponent, count_all=True)


def adapter(method, dtype, policy="paper"):
    """An engine-row adapter factory (``module:factory``) for the ports above without min_tokens_to_keep."""
    return {"top-p": top_p_no_min_keep, "min-p": min_p_no_min_keep, "epsilon": epsilon_no_min_keep}[method]
