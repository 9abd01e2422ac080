"""Truncation ports in numpy float64, written from the definitions alone: top-p, min-p, top-k
(transformers), top-n-sigma, p-less-norm and mirostat v2, each with keyword-only switches that
reproduce a misreading seen in real engines. With the defaults every port is correct; the mutant
ports at the end switch one fault on each, and the harness must reject them. Each port declares
what the harness must say of it (``@conforms`` under a policy, or ``@mutant`` with the fault class
and words of the message; see ``tests/meta/diagnosis.py``).

Port signature (``PROTOCOL.md``): ``fn(logits, temperature, **params) -> bool mask``; mirostat
returns ``(mask, token, new_mu)``.

>>> top_p(np.array([2.0, 1.0, 0.0, -1.0]), 1.0, p=0.9, min_tokens_to_keep=1).tolist()
[True, True, True, False]
>>> min_p(np.array([1.0, 1.0, 0.0]), 1.0, min_p=1.0, min_tokens_to_keep=1).tolist()
[True, True, False]
"""

import numpy as np

from tests.meta.diagnosis import conforms, mutant


def _probs(logits, temperature):
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    finite = np.isfinite(z)
    order = np.argsort(-np.where(finite, z, -np.inf), kind="stable")[: int(finite.sum())]
    e = np.exp(z[order] - z[order[0]])
    return order, e / e.sum(), z


def _mask(size, ids):
    mask = np.zeros(size, dtype=bool)
    mask[np.asarray(ids, dtype=np.int64)] = True
    return mask


@conforms("top-p", policy="paper")
def top_p(logits, temperature, *, p, min_tokens_to_keep=1, exclude_crossing=False):
    """Smallest sorted prefix whose mass reaches p (the crossing token kept)."""
    order, sp, _ = _probs(logits, temperature)
    before = np.cumsum(sp) - sp
    keep = (np.cumsum(sp) < p) if exclude_crossing else (before < p)
    k = max(int(keep.sum()), min(min_tokens_to_keep, len(order)), 1)
    return _mask(len(logits), order[:k])


@conforms("min-p", policy="transformers")
def min_p(logits, temperature, *, min_p, min_tokens_to_keep=1, strict=False):
    """p_i >= min_p * p_max, decided on logits: z_i - z_max >= ln(min_p)."""
    order, sp, z = _probs(logits, temperature)
    if min_p <= 0:
        return _mask(len(logits), order)
    d = z[order] - z[order[0]]
    keep = d > np.log(min_p) if strict else d >= np.log(min_p)
    k = max(int(keep.sum()), min(min_tokens_to_keep, len(order)), 1)
    return _mask(len(logits), order[:k])


@conforms("top-k", policy="transformers")
def top_k_transformers(logits, temperature, *, k, min_tokens_to_keep=1, drop_ties=False):
    """transformers' top-k: every token tied with the k-th value is kept."""
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    kk = min(max(k, min_tokens_to_keep), z.size)
    if drop_ties:
        order = np.argsort(-z, kind="stable")[: int(np.isfinite(z).sum())]
        return _mask(z.size, order[:kk])
    kth = np.sort(z)[::-1][kk - 1]
    return (z >= kth) & np.isfinite(z)


@conforms("top-n-sigma", policy="paper")
def top_n_sigma(logits, temperature, *, n, ddof=0):
    """l_i >= max l - n sigma(l) over the finite scaled logits (population sigma: ddof = 0)."""
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    finite = np.isfinite(z)
    x = z[finite]
    if x.size <= 1:
        return finite
    return finite & (z >= x.max() - n * np.std(x, ddof=ddof))


@conforms("p-less-norm", policy="paper")
def p_less_norm(logits, temperature, *, finite_v=False):
    """p_i >= (V sum p^2 - 1)/(V - 1), V the row length (masked entries included)."""
    order, sp, _ = _probs(logits, temperature)
    V = len(order) if finite_v else len(logits)
    thr = (V * np.sum(sp * sp) - 1) / (V - 1) if V > 1 else 0.0
    k = max(int(np.sum(sp >= thr)), 1)
    return _mask(len(logits), order[:k])


@conforms("mirostat-v2", policy="llama.cpp")
def mirostat_v2_llama(logits, temperature, *, tau, eta, mu, u, untruncated=False):
    """llama.cpp's mirostat v2: keep -log2 p <= mu, draw by the inverse CDF at u, surprise under
    the renormalised kept set."""
    order, sp, _ = _probs(logits, temperature)
    k = max(int(np.sum(-np.log2(sp) <= mu)), 1)
    q = sp[:k] / sp[:k].sum()
    j = min(int(np.sum(np.cumsum(q) <= u)), k - 1)
    surprise = -np.log2(sp[j] if untruncated else q[j])
    return _mask(len(logits), order[:k]), int(order[j]), float(mu - eta * (surprise - tau))


# ---- mutant ports: one misreading each ----------------------------------------------------------
@mutant("top-k", fault="ties-dropped", words="ties at the k-th value dropped", policy="transformers")
def top_k_ties_dropped(logits, temperature, *, k, min_tokens_to_keep=1):
    """transformers' top-k keeping exactly k (an unstable partial sort's choice)."""
    return top_k_transformers(logits, temperature, k=k, min_tokens_to_keep=min_tokens_to_keep, drop_ties=True)


@mutant("top-p", fault="crossing-excluded", words="crossing token", policy="paper")
def top_p_crossing_excluded(logits, temperature, *, p, min_tokens_to_keep=1):
    """top-p that drops the token whose mass reaches p."""
    return top_p(logits, temperature, p=p, min_tokens_to_keep=min_tokens_to_keep, exclude_crossing=True)


@mutant("min-p", fault="non-strict", words="'>' used instead of '>='", policy="paper")
def min_p_strict(logits, temperature, *, min_p, min_tokens_to_keep=1):
    """min-p with '>' instead of '>='."""
    return globals()["min_p"](logits, temperature, min_p=min_p, min_tokens_to_keep=min_tokens_to_keep, strict=True)


@mutant("top-n-sigma", fault="sample-std", words="divide by N - 1", policy="paper")
def top_n_sigma_sample_std(logits, temperature, *, n):
    """top-n-sigma with torch.std's default, the sample standard deviation (N - 1)."""
    return top_n_sigma(logits, temperature, n=n, ddof=1)


@mutant("p-less-norm", fault="v-finite-only", words="masked entries included", policy="paper")
def p_less_norm_finite_v(logits, temperature):
    """p-less-norm whose V counts only the finite entries."""
    return p_less_norm(logits, temperature, finite_v=True)


@mutant("mirostat-v2", fault="surprise-untruncated", words="renormalises over the kept set", policy="llama.cpp")
def mirostat_v2_untruncated(logits, temperature, *, tau, eta, mu, u):
    """llama.cpp's mirostat v2 with the surprise under the full distribution."""
    return mirostat_v2_llama(logits, temperature, tau=tau, eta=eta, mu=mu, u=u, untruncated=True)


@mutant("epsilon", fault="non-strict", words="'>=' used instead of '>'", policy="paper")
def epsilon_inclusive(logits, temperature, *, epsilon, min_tokens_to_keep=1):
    """epsilon sampling with '>=' (transformers) where the paper's '>' is asked for."""
    order, sp, _ = _probs(logits, temperature)
    k = max(int(np.sum(sp >= epsilon)), min(min_tokens_to_keep, len(order)), 1)
    return _mask(len(logits), order[:k])


@mutant("min-p", fault="temperature-ignored", words="temperature is not applied", policy="transformers")
def min_p_temperature_ignored(logits, temperature, *, min_p, min_tokens_to_keep=1):
    """min-p on softmax(z): the temperature never reaches the comparison."""
    return globals()["min_p"](logits, 1.0, min_p=min_p, min_tokens_to_keep=min_tokens_to_keep)


@mutant("eta", fault="entropy-in-bits", words="in bits", policy="paper")
def eta_entropy_in_bits(logits, temperature, *, epsilon, min_tokens_to_keep=1):
    """eta sampling with the entropy in bits: threshold min(epsilon, sqrt(epsilon) exp(-H / ln 2))."""
    order, sp, _ = _probs(logits, temperature)
    nz = sp[sp > 0]
    H_bits = float(-np.sum(nz * np.log2(nz)))
    eta = min(epsilon, np.sqrt(epsilon) * np.exp(-H_bits))
    k = max(int(np.sum(sp > eta)), min(min_tokens_to_keep, len(order)), 1)
    return _mask(len(logits), order[:k])
