"""Careful ports written from the specification alone, the way plain numpy code is written: every
operation in the dtype of the logits it receives (numpy's pairwise ``sum`` and ``dot``, its
sequential ``cumsum``, ``searchsorted``, quicksort), probabilities as ``exp(y - log(sum(exp(y))))``
with ``y`` the shifted logits times the temperature's reciprocal rounded to that dtype. Each is a
correct algorithm in exact arithmetic, so the harness must call every answer passed or admissible.

``EXT_ACC=float32`` in the environment upcasts float16 input to float32 first; ``EXT_BF16=1`` makes
the torch ports cast a bfloat16-valued float32 row to ``torch.bfloat16``.
"""
import math
import os

import numpy as np
import torch


def _wd(x):
    """Working numpy dtype."""
    if os.environ.get("EXT_ACC") == "float32" and x.dtype == np.float16:
        return np.dtype(np.float32)
    return x.dtype


def _tdt(x):
    """Working torch dtype."""
    if os.environ.get("EXT_ACC") == "float32":
        return torch.float64 if x.dtype == np.float64 else torch.float32
    if os.environ.get("EXT_BF16") == "1":
        return torch.bfloat16
    return {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32,
            np.dtype(np.float16): torch.float16}[x.dtype]


def _finite(logits):
    z = np.asarray(logits)
    idx = np.flatnonzero(np.isfinite(z))
    return idx, z[idx].astype(_wd(z))


def _out(V, ids):
    m = np.zeros(V, dtype=bool)
    m[ids] = True
    return m


def _probs_lse(x, temperature):
    """p = exp(y - logsumexp(y)), y = (x - max) * (1/T) (scale after the shift, by a reciprocal;
    where 1/T overflows the dtype, by division: 0 * inf would be NaN)."""
    dt = x.dtype.type
    with np.errstate(over="ignore"):
        r = dt(1.0 / temperature)
    y = (x - x.max()) * r if np.isfinite(r) else (x - x.max()) / dt(temperature)
    lse = np.log(np.sum(np.exp(y)))
    logp = y - lse
    return np.exp(logp), logp


# ----------------------------------------------------------------------------------------- EES
def ees_numpy(logits, temperature):
    """Closed form H_k = ln P_k + S_k / P_k with numpy cumsums in the dtype; unstable sort."""
    idx, x = _finite(logits)
    dt = x.dtype.type
    p, logp = _probs_lse(x, temperature)
    order = np.argsort(-p, kind="quicksort")
    ps, lps = p[order], logp[order]
    n = int(np.count_nonzero(ps > 0))
    ps, lps = ps[:n], lps[:n]
    if n <= 1:
        return _out(logits.shape[0], idx[order[:n]])
    P = np.cumsum(ps)
    S = np.cumsum(-ps * lps)
    H = np.log(P) + S / P
    k = np.arange(1, n + 1, dtype=np.float64).astype(x.dtype)
    Hbar = H[1:] / np.log(k[1:])
    cross = np.flatnonzero(Hbar < P[1:])
    kstar = int(cross[0]) + 1 if cross.size else n
    return _out(logits.shape[0], idx[order[:kstar]])


def ees_loop(logits, temperature):
    """The paper's incremental update in a scalar loop, accumulated in float32 for half input
    (float64 for float64 input); tokens ordered by logits with ties by id DESCENDING."""
    idx, x = _finite(logits)
    acc = np.float64 if x.dtype == np.float64 else np.float32
    xs = x.astype(acc)
    order = np.argsort(xs, kind="stable")[::-1]
    y = (xs[order] - xs[order][0]) / acc(temperature)
    e = np.exp(y)
    Z = acc(0)
    for v in e:  # plain running sum
        Z = acc(Z + v)
    p = e / Z
    n = int(np.count_nonzero(p > 0))
    kstar = n
    P = p[0]
    H = acc(0)
    for i in range(1, n):
        pn = p[i]
        Pn = acc(P + pn)
        r = acc(P / Pn)
        H = acc(r * H + r * np.log(acc(Pn / P)) - acc(pn / Pn) * np.log(acc(pn / Pn)))
        P = Pn
        kk = i + 1
        if acc(H / np.log(acc(kk))) < P:
            kstar = kk - 1
            break
    return _out(logits.shape[0], idx[order[:kstar]])


def ees_torch(logits, temperature):
    """torch: softmax in the dtype, torch.sort, H_k from entr() cumsums, ln k in the dtype."""
    td = _tdt(logits)
    z = torch.from_numpy(np.array(logits, dtype=np.float64)).to(td)
    fin = torch.isfinite(z)
    ids = torch.nonzero(fin).flatten()
    x = z[ids]
    x = (x - x.max()) / temperature  # shift first: an unshifted z / T overflows half at tiny T
    p = torch.softmax(x, dim=-1)
    ps, order = torch.sort(p, descending=True)
    n = int((ps > 0).sum())
    ps = ps[:n]
    if n <= 1:
        return _out(logits.shape[0], ids[order[:n]].numpy())
    P = torch.cumsum(ps, 0)
    S = torch.cumsum(torch.special.entr(ps), 0)
    H = torch.log(P) + S / P
    k = torch.arange(1, n + 1, dtype=torch.float64).to(td)
    Hbar = H[1:] / torch.log(k[1:])
    cross = torch.nonzero(Hbar < P[1:]).flatten()
    kstar = int(cross[0]) + 1 if cross.numel() else n
    return _out(logits.shape[0], ids[order[:kstar]].numpy())


# ------------------------------------------------------------------------------ temperatures
def _entropy_shifted(x):
    """H = lse(x - m) - sum p (x - m) in the dtype."""
    y = x - x.max()
    e = np.exp(y)
    Z = np.sum(e)
    p = e / Z
    return np.log(Z) - np.sum(p * y)


def edt_numpy(logits, T0, theta, N):
    idx, x = _finite(logits)
    if theta == 0:
        return float(T0)
    if x.size <= 1:
        return 0.0
    H = float(_entropy_shifted(x))
    dt = x.dtype.type
    if H <= 0:
        return 0.0
    # T0 * N**(theta/H) as T0 * exp((theta/H) ln N), all in the dtype
    return float(dt(T0) * np.exp(dt(theta) / dt(H) * np.log(dt(N))))


def dynatemp_numpy(logits, temp, delta, exponent):
    z = np.asarray(logits)
    if delta <= 0:
        return float(temp)
    n = z.shape[0]
    if n <= 1:
        return None
    idx, x = _finite(z)
    dt = x.dtype.type
    tmin = max(0.0, temp - delta)
    tmax = temp + delta
    if exponent == 0:
        T = tmax
    else:
        # entropy as -sum p ln p with p from a float32-free softmax in the dtype
        e = np.exp(x - x.max())
        p = e / np.sum(e)
        pos = p[p > 0]
        H = dt(0) - np.sum(pos * np.log(pos))  # not -sum: -0.0 ** -1 is -inf
        ratio = H / np.log(dt(n))
        # H = 0 (every other p underflowed): 0**exponent is 0 (exponent > 0) or inf (exponent < 0),
        # as llama.cpp's powf gives; a float64 intermediate keeps a huge T from overflowing to inf early
        with np.errstate(divide="ignore", over="ignore"):
            T = float(tmin + (tmax - tmin) * np.power(np.float64(ratio), exponent))
    return 0.0 if T <= 0 else float(T)


# --------------------------------------------------------------------------- truncation
def _canon(p):
    """Probability-descending order, ties by id ascending (stable)."""
    return np.argsort(-p, kind="stable")


def top_k_numpy(logits, temperature, k, min_tokens_to_keep=1):
    """argpartition on raw logits (temperature never changes the order); ties arbitrary."""
    idx, x = _finite(logits)
    n = x.size
    kk = min(max(int(k), int(min_tokens_to_keep)), n)
    if kk >= n:
        return _out(logits.shape[0], idx)
    part = np.argpartition(-x, kk - 1)[:kk]
    return _out(logits.shape[0], idx[part])


def top_p_numpy(logits, temperature, p, min_tokens_to_keep=1):
    """searchsorted on the descending cumsum (numpy cumsum in the dtype)."""
    idx, x = _finite(logits)
    n = x.size
    pr, _ = _probs_lse(x, temperature)
    order = np.argsort(-pr, kind="quicksort")
    c = np.cumsum(pr[order])
    cnt = int(np.searchsorted(c, p, side="left")) + 1  # first prefix whose mass reaches p
    cnt = min(max(cnt, int(min_tokens_to_keep), 1), n)
    return _out(logits.shape[0], idx[order[:cnt]])


def top_p_torch_bottom(logits, temperature, p, min_tokens_to_keep=1):
    """transformers-like: ascending sort, remove cumsum <= 1 - p (mass from the bottom)."""
    td = _tdt(logits)
    z = torch.from_numpy(np.array(logits, dtype=np.float64)).to(td)
    s = (z - z[torch.isfinite(z)].max()) / temperature
    srt, ind = torch.sort(s, descending=False)
    probs = torch.softmax(srt, dim=-1)
    cum = torch.cumsum(probs, 0)
    remove = cum <= (1 - p)
    m = int(min_tokens_to_keep)
    remove[-m:] = False
    remove |= ~torch.isfinite(srt)
    keep = torch.zeros_like(remove)
    keep[ind] = ~remove
    return keep.numpy()


def min_p_logprob(logits, temperature, min_p, min_tokens_to_keep=1):
    """log p_i - log p_max >= log(min_p), computed on the scaled logits in the dtype."""
    idx, x = _finite(logits)
    dt = x.dtype.type
    y = x / dt(temperature)
    d = y - y.max()
    with np.errstate(divide="ignore"):
        thr = np.log(dt(min_p)) if min_p > 0 else dt(-np.inf)
    keep = d >= thr
    m = int(min_tokens_to_keep)
    if m > 1:
        order = np.argsort(-d, kind="stable")
        keep[order[:m]] = True
    return _out(logits.shape[0], idx[keep])


def typical_torch(logits, temperature, mass, min_tokens_to_keep=1):
    td = _tdt(logits)
    z = torch.from_numpy(np.array(logits, dtype=np.float64)).to(td)
    ids = torch.nonzero(torch.isfinite(z)).flatten()
    x = z[ids]
    x = (x - x.max()) / temperature
    logp = torch.log_softmax(x, dim=-1)
    p = logp.exp()
    H = -(torch.where(p > 0, p * logp, torch.zeros_like(p))).sum()
    score = (-logp - H).abs()
    sc, order = torch.sort(score, stable=True)
    cum = torch.cumsum(p[order], 0)
    cnt = int((cum < mass).sum()) + 1
    n = x.numel()
    cnt = min(max(cnt, int(min_tokens_to_keep)), n)
    return _out(logits.shape[0], ids[order[:cnt]].numpy())


def epsilon_numpy(logits, temperature, epsilon, min_tokens_to_keep=1):
    idx, x = _finite(logits)
    p, _ = _probs_lse(x, temperature)
    keep = p > epsilon
    m = int(min_tokens_to_keep)
    order = _canon(p)
    keep[order[:max(m, 1)]] = True
    return _out(logits.shape[0], idx[keep])


def eta_numpy(logits, temperature, epsilon, min_tokens_to_keep=1):
    """Decided in the log domain: ln p_i > min(ln eps, ln eps / 2 - H)."""
    idx, x = _finite(logits)
    dt = x.dtype.type
    p, logp = _probs_lse(x, temperature)
    H = -np.sum(np.where(p > 0, p * logp, dt(0)))
    le = np.log(dt(epsilon))
    thr = min(le, le / dt(2) - H)
    keep = logp > thr
    order = _canon(p)
    keep[order[:max(int(min_tokens_to_keep), 1)]] = True
    return _out(logits.shape[0], idx[keep])


def top_n_sigma_numpy(logits, temperature, n):
    """On the RAW logits: the kept set is temperature invariant (max and sigma scale alike)."""
    idx, x = _finite(logits)
    mu = np.mean(x, dtype=x.dtype)
    sig = np.sqrt(np.mean((x - mu) ** 2, dtype=x.dtype))
    keep = x >= x.max() - x.dtype.type(n) * sig
    return _out(logits.shape[0], idx[keep])


def tfs_numpy(logits, temperature, z, min_tokens_to_keep=1):
    idx, x = _finite(logits)
    n = x.size
    m = int(min_tokens_to_keep)
    p, _ = _probs_lse(x, temperature)
    order = _canon(p)
    ps = p[order]
    if n < 3:
        return _out(logits.shape[0], idx[order[:min(max(1, m), n)]])
    w = np.abs(ps[:-2] - 2 * ps[1:-1] + ps[2:])
    tot = np.sum(w)
    if tot == 0:
        return _out(logits.shape[0], idx)
    c = np.cumsum(w / tot)
    cnt = int(np.count_nonzero(c <= z))
    kept = min(max(cnt + 1, m), n)
    return _out(logits.shape[0], idx[order[:kept]])


def top_a_numpy(logits, temperature, a, min_tokens_to_keep=1):
    """e_i S >= a with e_i = p_i / p_max (= exp of the shifted scaled logit), S = sum e."""
    idx, x = _finite(logits)
    dt = x.dtype.type
    if a <= 0:
        return _out(logits.shape[0], idx)
    e = np.exp((x - x.max()) / dt(temperature))
    S = np.sum(e)
    keep = e * S >= a
    order = np.argsort(-e, kind="stable")
    keep[order[:max(1, int(min_tokens_to_keep))]] = True
    return _out(logits.shape[0], idx[keep])


def mirostat_v2_numpy(logits, temperature, tau, eta, mu, u):
    idx, x = _finite(logits)
    if mu is None:
        mu = 2.0 * tau
    p, logp = _probs_lse(x, temperature)
    order = _canon(p)
    ps, lps = p[order], logp[order]
    surprise = -lps / np.log(x.dtype.type(2))  # bits
    k = max(int(np.count_nonzero(surprise <= mu)), 1)  # a prefix: surprise increases along the order
    kept = ps[:k]
    q = np.cumsum(kept) / np.sum(kept)
    j = int(np.searchsorted(q, u, side="right"))  # first with cumulative > u
    j = min(j, k - 1)
    s_tok = float(surprise[j])
    new_mu = mu - eta * (s_tok - tau)
    return _out(logits.shape[0], idx[order[:k]]), int(idx[order[j]]), float(new_mu)


def p_less_numpy(logits, temperature):
    idx, x = _finite(logits)
    p, _ = _probs_lse(x, temperature)
    thr = np.dot(p, p)
    keep = p >= thr
    keep[np.argmax(p)] = True
    return _out(logits.shape[0], idx[keep])


def top_p_numpy1(logits, temperature, p, min_tokens_to_keep=1):
    """top_p_numpy with p >= 1 taken as the no-op it is (every candidate kept) before any float work."""
    if p >= 1:
        idx, _ = _finite(logits)
        return _out(logits.shape[0], idx)
    return top_p_numpy(logits, temperature, p, min_tokens_to_keep)
