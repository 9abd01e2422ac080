"""Engine-style torch ports of sampling rules, written from the specification alone (no code or error model of ees_theory).

Every port is a factory ``make(core, dtype, mode)``: the engine knows its dtype (the harness hands
bfloat16 rows as float32 arrays holding exact bf16 values, so the dtype cannot be read off the
array). ``mode == "input"``: every tensor op in the input dtype; ``mode == "float32"``: half inputs
are upcast to float32 first (float64 stays float64).

Module-level callables are named ``<port>__<dtype>__<mode>``.
"""
import math
import zlib

import numpy as np
import torch

torch.set_num_threads(1)

TD = {"float64": torch.float64, "float32": torch.float32,
      "float16": torch.float16, "bfloat16": torch.bfloat16}
DTYPES = ("float64", "float32", "float16", "bfloat16")
MODES = ("input", "float32")


def load(logits, dtype, mode):
    t = torch.from_numpy(np.array(logits, copy=True)).to(TD[dtype])
    if mode == "float32" and t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return t


def to_mask(V, ids):
    m = torch.zeros(V, dtype=torch.bool)
    m[ids] = True
    return m.numpy()


def log_k(n_max, cdt):
    """ln k for k = 1..n_max, computed in float64 and rounded once to the compute dtype."""
    return torch.log(torch.arange(1, n_max + 1, dtype=torch.float64)).to(cdt)


# ----------------------------------------------------------------------------------------------
# EES
# ----------------------------------------------------------------------------------------------

def _ees_count(Hbar, P, n):
    """Hbar, P indexed by k-1 (k = 1..len). First i in 2..n with Hbar_i < P_i -> k* = i - 1."""
    if n <= 1:
        return n
    cross = (Hbar[1:n] < P[1:n]).nonzero()
    if cross.numel() == 0:
        return n
    i = int(cross[0, 0]) + 2
    return i - 1


def ees_closed_softmax(x, T, variant="ok"):
    """softmax(x / T), sort by computed probabilities (stable), closed form H_k = ln P_k + S_k / P_k.
    n = number of finite logits."""
    cdt = x.dtype
    V = x.numel()
    n = int(torch.isfinite(x).sum())
    if variant == "lowT" and T < 0.3:
        T = 0.3
    p = torch.softmax(x / T, dim=-1)
    ps, idx = torch.sort(p, descending=True, stable=True)
    P = torch.cumsum(ps, 0)
    if variant == "bits":
        plogp = torch.where(ps > 0, ps * torch.log2(ps), torch.zeros_like(ps))
        S = -torch.cumsum(plogp, 0)
        H = torch.log2(P) + S / P
    else:
        plogp = torch.where(ps > 0, ps * torch.log(ps), torch.zeros_like(ps))
        S = -torch.cumsum(plogp, 0)
        H = torch.log(P) + S / P
    lk = log_k(V, cdt)
    Hbar = H / lk  # k = 1 gives 0/0 or x/0, never used
    if variant == "le":
        if n <= 1:
            k = n
        else:
            c = (Hbar[1:n] <= P[1:n]).nonzero()
            k = n if c.numel() == 0 else int(c[0, 0]) + 1
    else:
        k = _ees_count(Hbar, P, n)
    if variant == "incl" and k < n:
        k = k + 1
    elif variant == "plus1":
        k = min(k + 1, n)
    elif variant == "minus1":
        k = max(k - 1, 1)
    elif variant == "bigV" and V > 1000 and k > 1:
        k = k - 1
    elif variant == "hash2" and (zlib.crc32(x.float().numpy().tobytes()) % 50 == 0):
        k = min(k + 1, n)
    return to_mask(V, idx[:k])


def ees_closed_logsoftmax(x, T, variant="ok"):
    """log_softmax(x * (1/T)), order by logits (stable descending), p = exp(logp),
    S_k = cumsum(-p * logp). n = computed p > 0 (as the authors' code)."""
    cdt = x.dtype
    V = x.numel()
    z = x * (1.0 / T)
    logp = torch.log_softmax(z, dim=-1)
    xs, idx = torch.sort(x, descending=True, stable=True)
    lp = logp[idx]
    ps = lp.exp()
    n = int((ps > 0).sum())
    P = torch.cumsum(ps, 0)
    S = torch.cumsum(torch.where(ps > 0, -ps * lp, torch.zeros_like(ps)), 0)
    H = torch.log(P) + S / P
    lk = log_k(V, cdt)
    Hbar = H / lk
    k = _ees_count(Hbar, P, n)
    return to_mask(V, idx[:k])


def ees_incremental(x, T, variant="ok"):
    """The authors' incremental update (EESWarper), H_1 = 0,
    H_i = (P_{i-1}/P_i) H_{i-1} + (P_{i-1}/P_i) ln(P_i/P_{i-1}) - (p_i/P_i) ln(p_i/P_i),
    run step by step in the compute dtype, stopping at the first crossing. Divides by T via a
    temperature warper before the softmax; sorted by computed probabilities."""
    cdt = x.dtype
    V = x.numel()
    p = torch.softmax(x / T, dim=-1)
    ps, idx = torch.sort(p, descending=True, stable=True)
    n = int((ps > 0).sum())
    P = torch.cumsum(ps, 0)
    if n <= 1:
        return to_mask(V, idx[:max(n, 1)])
    a = P[:-1] / P[1:]                              # P_{i-1}/P_i, index i-2
    b = ps[1:] / P[1:]                              # p_i/P_i
    u = a * torch.log(P[1:] / P[:-1]) - torch.where(b > 0, b * torch.log(b), torch.zeros_like(b))
    lk = log_k(n, cdt)
    H = torch.zeros((), dtype=cdt)
    k = n
    for i in range(2, n + 1):
        H = a[i - 2] * H + u[i - 2]
        if bool(H / lk[i - 1] < P[i - 1]):
            k = i - 1
            break
    return to_mask(V, idx[:k])


# ----------------------------------------------------------------------------------------------
# EDT  T = T0 * N ** (theta / H), H of softmax(x) at temperature 1 (nats)
# ----------------------------------------------------------------------------------------------

def _entropy_softmax(x):
    p = torch.softmax(x, dim=-1)
    # 0.0 - sum (not -sum): a one-hot row must give +0.0, never -0.0 (pow(-0.0, -1) = -inf)
    return 0.0 - torch.where(p > 0, p * torch.log(p), torch.zeros_like(p)).sum()


def _entropy_logsoftmax(x):
    logp = torch.log_softmax(x, dim=-1)
    p = logp.exp()
    return 0.0 - (torch.where(p > 0, p * logp, torch.zeros_like(p))).sum()


def _entropy_lse(x):
    """H = lse(x) - sum p_i x_i on the shifted row."""
    fin = torch.isfinite(x)
    m = x[fin].max()
    d = torch.where(fin, x - m, torch.zeros_like(x))
    e = torch.where(fin, torch.exp(d), torch.zeros_like(x))
    Z = e.sum()
    p = e / Z
    return torch.log(Z) - (p * d).sum()


def edt_a(x, T0, theta, N, variant="ok"):
    """softmax entropy, N ** (theta / H) with a Python-float base, all in the compute dtype."""
    if variant == "lowT" and T0 < 0.3:
        T0 = 0.3
    if variant == "bigV" and x.numel() > 1000:
        x = x[:-1]
    if variant == "tempered":
        H = _entropy_softmax(x / T0)
    elif variant == "bits":
        H = _entropy_softmax(x) / math.log(2)
    else:
        H = _entropy_softmax(x)
    if theta == 0:
        return float(torch.tensor(T0, dtype=x.dtype))
    if not bool(H > 0):
        return 0.0
    T = T0 * (N ** (theta / H))
    return float(T)


def edt_b(x, T0, theta, N, variant="ok"):
    """log_softmax entropy; T = T0 * exp(theta * ln N / H) in the compute dtype."""
    H = _entropy_logsoftmax(x)
    if theta == 0:
        return float(torch.tensor(T0, dtype=x.dtype))
    if not bool(H > 0):
        return 0.0
    T = torch.exp((theta * math.log(N)) / H) * T0
    return float(T)


def edt_c(x, T0, theta, N, variant="ok"):
    """lse entropy in the compute dtype, then the formula in Python (double)."""
    H = float(_entropy_lse(x))
    if theta == 0:
        return float(T0)
    if H <= 0:
        return 0.0
    return T0 * N ** (theta / H)


# ----------------------------------------------------------------------------------------------
# dynatemp (llama.cpp temp_ext)
# ----------------------------------------------------------------------------------------------

def dyn_a(x, temp, delta, exponent, variant="ok"):
    """softmax entropy / math.log(n); formula in the compute dtype."""
    n = x.numel()
    if delta <= 0:
        return float(torch.tensor(temp, dtype=x.dtype))
    if n <= 1:
        return None
    H = _entropy_softmax(x)
    if variant == "bits":
        H = H / math.log(2)
    if variant == "hash2" and (zlib.crc32(x.float().numpy().tobytes()) % 50 == 0):
        H = H * 1.05
    tmin = max(0.0, temp - delta)
    tmax = temp + delta
    T = tmin + (tmax - tmin) * (H / math.log(n)) ** exponent
    T = float(T)
    return max(T, 0.0)


def dyn_b(x, temp, delta, exponent, variant="ok"):
    """log_softmax entropy; H_max = -log(1/n) as a tensor in the compute dtype (llama.cpp's
    -logf(1.0f/size)); T = T_min + (T_max - T_min) * pow(H / H_max, exponent)."""
    n = x.numel()
    if delta <= 0:
        return float(torch.tensor(temp, dtype=x.dtype))
    if n <= 1:
        return None
    H = _entropy_logsoftmax(x)
    Hmax = -torch.log(torch.tensor(1.0 / n, dtype=x.dtype))
    tmin = torch.tensor(max(0.0, temp - delta), dtype=x.dtype)
    tmax = torch.tensor(temp + delta, dtype=x.dtype)
    T = tmin + (tmax - tmin) * torch.pow(H / Hmax, exponent)
    return max(float(T), 0.0)


def dyn_c(x, temp, delta, exponent, variant="ok"):
    """lse entropy in the compute dtype; the formula in Python doubles."""
    n = x.numel()
    if delta <= 0:
        return float(temp)
    if n <= 1:
        return None
    H = float(_entropy_lse(x))
    tmin = max(0.0, temp - delta)
    tmax = temp + delta
    if H == 0 and exponent == 0:
        return tmax
    return max(tmin + (tmax - tmin) * (H / math.log(n)) ** exponent, 0.0)


# ----------------------------------------------------------------------------------------------
# top-k
# ----------------------------------------------------------------------------------------------

def topk_probs(x, T, k, min_tokens_to_keep=1, variant="ok"):
    """torch.topk on the computed probabilities."""
    V = x.numel()
    n = int(torch.isfinite(x).sum())
    kk = min(max(int(k), int(min_tokens_to_keep)), n)
    p = torch.softmax(x / T, dim=-1)
    _, ids = torch.topk(p, kk)
    if variant == "bigV" and V > 1000 and kk > 1:
        ids = ids[:-1]
    return to_mask(V, ids)


def topk_sorted_logits(x, T, k, min_tokens_to_keep=1, variant="ok"):
    """Stable descending sort of the (temperature-scaled) logits, keep the first k."""
    V = x.numel()
    n = int(torch.isfinite(x).sum())
    kk = min(max(int(k), int(min_tokens_to_keep)), n)
    _, idx = torch.sort(x * (1.0 / T), descending=True, stable=True)
    return to_mask(V, idx[:kk])


def topk_hf(x, T, k, min_tokens_to_keep=1, variant="ok"):
    """transformers' TopKLogitsWarper: remove scores < k-th largest (ties at the k-th kept)."""
    V = x.numel()
    z = x / T
    kk = min(max(int(k), int(min_tokens_to_keep)), V)
    kth = torch.topk(z, kk)[0][..., -1, None]
    keep = ~(z < kth) & torch.isfinite(z)
    return keep.numpy()


# ----------------------------------------------------------------------------------------------
# top-p (kept iff the mass strictly before the token is < p)
# ----------------------------------------------------------------------------------------------

def topp_hf(x, T, p, min_tokens_to_keep=1, variant="ok"):
    """transformers' TopPLogitsWarper: sort ascending, remove cumsum <= 1 - p, keep the last m."""
    V = x.numel()
    if variant == "lowT" and T < 0.3:
        T = 0.3
    z = x / T
    sl, si = torch.sort(z, descending=False)
    cum = sl.softmax(dim=-1).cumsum(dim=-1)
    remove = cum <= (1 - p)
    m = int(min_tokens_to_keep)
    remove[-m:] = False
    keep = torch.zeros(V, dtype=torch.bool)
    keep[si] = ~remove
    keep &= torch.isfinite(x)
    return keep.numpy()


def topp_top(x, T, p, min_tokens_to_keep=1, variant="ok"):
    """softmax, sort descending (stable), mass before = cumsum - p_i, keep mass_before < p."""
    V = x.numel()
    if variant == "lowT" and T < 0.3:
        T = 0.3
    pr = torch.softmax(x / T, dim=-1)
    ps, idx = torch.sort(pr, descending=True, stable=True)
    cum = torch.cumsum(ps, 0)
    before = cum - ps
    if variant == "le":
        keep_s = before <= p
    else:
        keep_s = before < p
    keep_s[: int(min_tokens_to_keep)] = True
    n = int(torch.isfinite(x).sum())
    keep_s[n:] = False
    return to_mask(V, idx[keep_s])


def topp_shift(x, T, p, min_tokens_to_keep=1, variant="ok"):
    """log_softmax(x * 1/T).exp(), order by logits, mass before = running sum up to the token before."""
    V = x.numel()
    lp = torch.log_softmax(x * (1.0 / T), dim=-1)
    _, idx = torch.sort(x, descending=True, stable=True)
    ps = lp[idx].exp()
    cum = torch.cumsum(ps, 0)
    before = torch.cat([torch.zeros(1, dtype=cum.dtype), cum[:-1]])
    keep_s = before < p
    keep_s[: int(min_tokens_to_keep)] = True
    n = int(torch.isfinite(x).sum())
    keep_s[n:] = False
    return to_mask(V, idx[keep_s])


# ----------------------------------------------------------------------------------------------
# min-p (keep p_i >= min_p * p_max)
# ----------------------------------------------------------------------------------------------

def _keep_top_m(x, keep, m):
    if m >= 1:
        n = int(torch.isfinite(x).sum())
        _, idx = torch.sort(x, descending=True, stable=True)
        keep[idx[: min(m, n)]] = True
    return keep


def minp_probs(x, T, min_p, min_tokens_to_keep=1, variant="ok"):
    """transformers / vLLM: probs = softmax; remove probs < min_p * max(probs)."""
    V = x.numel()
    pr = torch.softmax(x / T, dim=-1)
    thr = pr.max() * min_p
    if variant == "gt":
        keep = pr > thr
    else:
        keep = ~(pr < thr)
    if variant == "hash2" and (zlib.crc32(x.float().numpy().tobytes()) % 50 == 0):
        keep = pr >= thr * 2
    keep &= torch.isfinite(x)
    keep = _keep_top_m(x, keep, int(min_tokens_to_keep))
    return keep.numpy()


def minp_logits(x, T, min_p, min_tokens_to_keep=1, variant="ok"):
    """llama.cpp / vLLM Triton: keep z >= max(z) + log(min_p)."""
    V = x.numel()
    z = x / T
    fin = torch.isfinite(x)
    thr = z[fin].max() + (math.log(min_p) if min_p > 0 else -math.inf)
    keep = (z >= thr) & fin
    keep = _keep_top_m(x, keep, int(min_tokens_to_keep))
    return keep.numpy()


def minp_logprobs(x, T, min_p, min_tokens_to_keep=1, variant="ok"):
    """log_softmax, keep logp >= max(logp) + log(min_p)."""
    V = x.numel()
    lp = torch.log_softmax(x * (1.0 / T), dim=-1)
    fin = torch.isfinite(x)
    if min_p > 0:
        keep = (lp >= lp.max() + math.log(min_p)) & fin
    else:
        keep = fin.clone()
    keep = _keep_top_m(x, keep, int(min_tokens_to_keep))
    return keep.numpy()


# ----------------------------------------------------------------------------------------------
# typical
# ----------------------------------------------------------------------------------------------

def typical_hf(x, T, mass, min_tokens_to_keep=1, variant="ok"):
    """transformers' TypicalLogitsWarper, verbatim in structure (nansum entropy, last_ind =
    (cum < mass).sum(), ties at the boundary score kept), masked tokens excluded."""
    V = x.numel()
    scores = x / T
    normalized = torch.nn.functional.log_softmax(scores, dim=-1)
    p = torch.exp(normalized)
    ent = -(normalized * p).nansum(-1, keepdim=True)
    shifted = torch.abs((-normalized) - ent)
    sorted_scores, sorted_indices = torch.sort(shifted, descending=False)
    sorted_logits = scores.gather(-1, sorted_indices)
    cumulative_probs = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    last_ind = (cumulative_probs < mass).sum(dim=-1)
    last_ind.clamp_(max=sorted_scores.shape[-1] - 1)
    sorted_remove = sorted_scores > sorted_scores.gather(-1, last_ind.view(-1))
    sorted_remove[: int(min_tokens_to_keep)] = False
    remove = sorted_remove.scatter(0, sorted_indices, sorted_remove)
    return (~remove & torch.isfinite(x)).numpy()


def typical_prefix(x, T, mass, min_tokens_to_keep=1, variant="ok"):
    """log_softmax; H = -sum p logp over candidates; score |-logp - H| (masked: inf); stable sort
    ascending; keep the smallest prefix whose mass reaches `mass` (mass before < mass); at least
    m tokens of that order."""
    V = x.numel()
    lp = torch.log_softmax(x / T, dim=-1)
    p = lp.exp()
    fin = torch.isfinite(x)
    H = -torch.where(p > 0, p * lp, torch.zeros_like(p)).sum()
    score = torch.where(fin, (-lp - H).abs(), torch.full_like(p, math.inf))
    ss, idx = torch.sort(score, descending=False, stable=True)
    cum = torch.cumsum(p[idx], 0)
    before = cum - p[idx]
    keep_s = before < mass
    keep_s[: int(min_tokens_to_keep)] = True
    n = int(fin.sum())
    keep_s[n:] = False
    return to_mask(V, idx[keep_s])


def typical_entr(x, T, mass, min_tokens_to_keep=1, variant="ok"):
    """softmax; H = entr(p).sum(); score |-log p - H|; cumsum; first index whose cum >= mass."""
    V = x.numel()
    p = torch.softmax(x / T, dim=-1)
    fin = torch.isfinite(x)
    H = torch.special.entr(p).sum()
    score = torch.where(p > 0, (-torch.log(p) - H).abs(), torch.full_like(p, math.inf))
    score = torch.where(fin, score, torch.full_like(p, math.inf))
    ss, idx = torch.sort(score, descending=False, stable=True)
    cum = torch.cumsum(p[idx], 0)
    n = int(fin.sum())
    hit = (cum[:n] >= mass).nonzero()
    k = n if hit.numel() == 0 else int(hit[0, 0]) + 1
    k = min(max(k, int(min_tokens_to_keep)), n)
    return to_mask(V, idx[:k])


# ----------------------------------------------------------------------------------------------
# epsilon (paper: keep p > epsilon; transformers: keep p >= epsilon); at least m top tokens
# ----------------------------------------------------------------------------------------------

def eps_probs(x, T, epsilon, min_tokens_to_keep=1, variant="ok"):
    V = x.numel()
    z = x / T
    pr = z.softmax(dim=-1)
    if variant == "ge":
        keep = pr >= epsilon
    else:
        keep = pr > epsilon
    keep = keep & torch.isfinite(x)
    keep = _keep_top_m(x, keep, max(1, int(min_tokens_to_keep)))
    return keep.numpy()


def eps_logprobs(x, T, epsilon, min_tokens_to_keep=1, variant="ok"):
    V = x.numel()
    lp = torch.log_softmax(x * (1.0 / T), dim=-1)
    keep = lp > math.log(epsilon)
    keep &= torch.isfinite(x)
    keep = _keep_top_m(x, keep, max(1, int(min_tokens_to_keep)))
    return keep.numpy()


def eps_hf(x, T, epsilon, min_tokens_to_keep=1, variant="ok"):
    """transformers' EpsilonLogitsWarper: remove p < eps and score < kth(m)."""
    z = x / T
    probs = z.softmax(dim=-1)
    remove = probs < epsilon
    m = min(int(min_tokens_to_keep), z.numel())
    remove = remove & (z < torch.topk(z, m)[0][..., -1, None])
    return (~remove & torch.isfinite(x)).numpy()


# ----------------------------------------------------------------------------------------------
# eta: eta = min(eps, sqrt(eps) * exp(-H)); paper keeps p > eta
# ----------------------------------------------------------------------------------------------

def eta_hf_entropy(x, T, epsilon, min_tokens_to_keep=1, variant="ok", ge=False):
    """Categorical(logits=z).entropy() (clamped logits * probs), eta as Python/tensor min."""
    z = x / T
    probs = z.softmax(dim=-1)
    logits = z - z.logsumexp(-1, keepdim=True)
    logits = torch.clamp(logits, min=torch.finfo(logits.dtype).min)
    H = -(logits * probs).sum(-1)
    if variant == "bits":
        H = H / math.log(2)
    eta = torch.min(torch.tensor(epsilon, dtype=z.dtype), math.sqrt(epsilon) * torch.exp(-H))
    keep = probs >= eta if (ge or variant == "ge") else probs > eta
    if ge or variant == "ge":
        # transformers: remove p < eta and score < kth(m) (ties at the m-th value kept)
        m = min(int(min_tokens_to_keep), int(torch.isfinite(x).sum()))
        keep = (keep | (z >= torch.topk(z, m)[0][..., -1])) & torch.isfinite(x)
    else:
        keep = _keep_top_m(x, keep & torch.isfinite(x), max(1, int(min_tokens_to_keep)))
    return keep.numpy()


def eta_entr(x, T, epsilon, min_tokens_to_keep=1, variant="ok"):
    """log_softmax; H = entr(p).sum(); eta = min(eps, sqrt(eps) exp(-H)) in Python after .item()
    is NOT done: eta stays a tensor; compare log p > log(eta)."""
    lp = torch.log_softmax(x * (1.0 / T), dim=-1)
    p = lp.exp()
    H = torch.special.entr(p).sum()
    eta = torch.clamp(math.sqrt(epsilon) * torch.exp(-H), max=epsilon)
    keep = (p > eta) & torch.isfinite(x)
    keep = _keep_top_m(x, keep, max(1, int(min_tokens_to_keep)))
    return keep.numpy()


def eta_hf_ge(x, T, epsilon, min_tokens_to_keep=1, variant="ok"):
    return eta_hf_entropy(x, T, epsilon, min_tokens_to_keep, variant, ge=True)


# ----------------------------------------------------------------------------------------------
# tail-free (paper / text-generation-webui)
# ----------------------------------------------------------------------------------------------

def tfs_webui(x, T, z, min_tokens_to_keep=1, variant="ok"):
    V = x.numel()
    fin = torch.isfinite(x)
    n = int(fin.sum())
    if z >= 1:
        return fin.numpy().copy()
    sl, si = torch.sort(x / T, descending=True, stable=True)
    probs = sl.softmax(dim=-1)[:n]
    si = si[:n]
    if n < 3:
        k = max(1, min(int(min_tokens_to_keep), n))
        return to_mask(V, si[:k])
    d2 = probs.diff().diff().abs()
    tot = d2.sum()
    if not bool(tot > 0):
        return fin.numpy().copy()
    cdf = (d2 / tot).cumsum(dim=-1)
    remove = torch.cat([torch.zeros(1, dtype=torch.bool), cdf > z, torch.ones(1, dtype=torch.bool)])
    remove[: int(min_tokens_to_keep)] = False
    return to_mask(V, si[~remove])


def tfs_count(x, T, z, min_tokens_to_keep=1, variant="ok"):
    """log_softmax probabilities sorted by logits; weights |p_j - 2p_{j+1} + p_{j+2}|; count of
    normalised cumulative weights <= z; keep count + 1."""
    V = x.numel()
    fin = torch.isfinite(x)
    n = int(fin.sum())
    if z >= 1:
        return fin.numpy().copy()
    _, idx = torch.sort(x, descending=True, stable=True)
    idx = idx[:n]
    p = torch.log_softmax(x * (1.0 / T), dim=-1)[idx].exp()
    if n < 3:
        return to_mask(V, idx[: max(1, min(int(min_tokens_to_keep), n))])
    w = (p[:-2] - 2 * p[1:-1] + p[2:]).abs()
    s = w.sum()
    if not bool(s > 0):
        return fin.numpy().copy()
    c = torch.cumsum(w, 0) / s
    count = int((c <= z).sum())
    k = min(max(count + 1, int(min_tokens_to_keep)), n)
    return to_mask(V, idx[:k])


# ----------------------------------------------------------------------------------------------
# top-n-sigma (population std over finite logits; keep l >= max - n sigma)
# ----------------------------------------------------------------------------------------------

def tns_scaled(x, T, n):
    z = x / T
    fin = torch.isfinite(z)
    zf = z[fin]
    sigma = zf.std(correction=0)
    keep = (z >= zf.max() - n * sigma) & fin
    return keep.numpy()


def tns_raw(x, T, n):
    fin = torch.isfinite(x)
    xf = x[fin]
    mean = xf.mean()
    sigma = torch.sqrt(((xf - mean) ** 2).mean())
    keep = (x >= xf.max() - n * sigma) & fin
    return keep.numpy()


# ----------------------------------------------------------------------------------------------
# p-less (keep p >= sum p^2)
# ----------------------------------------------------------------------------------------------

def pless_probs(x, T):
    p = torch.softmax(x / T, dim=-1)
    tau = (p * p).sum()
    keep = (p >= tau) & torch.isfinite(x)
    keep[torch.argmax(p)] = True      # never empty (sum p^2 can round above max p on flat rows)
    return keep.numpy()


def pless_log(x, T):
    lp = torch.log_softmax(x * (1.0 / T), dim=-1)
    p = lp.exp()
    tau = torch.exp(torch.logsumexp(2 * lp, dim=-1))
    keep = (p >= tau) & torch.isfinite(x)
    keep[torch.argmax(lp)] = True
    return keep.numpy()


# ----------------------------------------------------------------------------------------------
# factories
# ----------------------------------------------------------------------------------------------

def make(core, dtype, mode, variant="ok"):
    def port(logits, *args, **kw):
        x = load(logits, dtype, mode)
        if variant != "ok":
            kw["variant"] = variant
        return core(x, *args, **kw)
    port.__name__ = core.__name__
    return port


CAREFUL = {
    # name: core
    "ees_closed_softmax": ees_closed_softmax,
    "ees_closed_logsoftmax": ees_closed_logsoftmax,
    "ees_incremental": ees_incremental,
    "edt_a": edt_a, "edt_b": edt_b, "edt_c": edt_c,
    "dyn_a": dyn_a, "dyn_b": dyn_b, "dyn_c": dyn_c,
    "topk_probs": topk_probs, "topk_sorted_logits": topk_sorted_logits, "topk_hf": topk_hf,
    "topp_hf": topp_hf, "topp_top": topp_top, "topp_shift": topp_shift,
    "minp_probs": minp_probs, "minp_logits": minp_logits, "minp_logprobs": minp_logprobs,
    "typical_hf": typical_hf, "typical_prefix": typical_prefix, "typical_entr": typical_entr,
    "eps_probs": eps_probs, "eps_logprobs": eps_logprobs, "eps_hf": eps_hf,
    "eta_hf_entropy": eta_hf_entropy, "eta_entr": eta_entr, "eta_hf_ge": eta_hf_ge,
    "tfs_webui": tfs_webui, "tfs_count": tfs_count,
    "tns_scaled": tns_scaled, "tns_raw": tns_raw,
    "pless_probs": pless_probs, "pless_log": pless_log,
}

BUGS = {
    # name: (core, variant)
    "bug_ees_incl": (ees_closed_softmax, "incl"),
    "bug_ees_plus1": (ees_closed_softmax, "plus1"),
    "bug_ees_minus1": (ees_closed_softmax, "minus1"),
    "bug_ees_le": (ees_closed_softmax, "le"),
    "bug_topp_le": (topp_top, "le"),
    "bug_minp_gt": (minp_probs, "gt"),
    "bug_eps_ge": (eps_probs, "ge"),
    "bug_ees_bits": (ees_closed_softmax, "bits"),
    "bug_edt_bits": (edt_a, "bits"),
    "bug_dyn_bits": (dyn_a, "bits"),
    "bug_eta_bits": (eta_hf_entropy, "bits"),
    "bug_ees_lowT": (ees_closed_softmax, "lowT"),
    "bug_topp_lowT": (topp_top, "lowT"),
    "bug_edt_lowT": (edt_a, "lowT"),
    "bug_ees_bigV": (ees_closed_softmax, "bigV"),
    "bug_topk_bigV": (topk_probs, "bigV"),
    "bug_edt_bigV": (edt_a, "bigV"),
    "bug_ees_hash2": (ees_closed_softmax, "hash2"),
    "bug_minp_hash2": (minp_probs, "hash2"),
    "bug_dyn_hash2": (dyn_a, "hash2"),
    "bug_edt_tempered": (edt_a, "tempered"),
}

for _name, _core in CAREFUL.items():
    for _dt in DTYPES:
        for _mode in MODES:
            globals()[f"{_name}__{_dt}__{_mode}"] = make(_core, _dt, _mode)
for _name, (_core, _var) in BUGS.items():
    for _dt in DTYPES:
        for _mode in MODES:
            globals()[f"{_name}__{_dt}__{_mode}"] = make(_core, _dt, _mode, _var)
