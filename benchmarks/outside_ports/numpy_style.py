"""Outside ports in the NumPy style (a JAX/NumPy or hand-written CPU engine).

Written from the specification (``/work/shared/spec/SPEC.md``, the book's specification chapter)
and the port protocol (``ees_theory/harness/PROTOCOL.md``) only.

Every port is exposed as ``<port>__<dtype>__<mode>`` for dtype in (float64, float32, float16,
bfloat16) and mode in (input, float32):

- ``input``: every operation in the input dtype.  float16 uses numpy's own float16 arithmetic
  (``np.float16`` arrays, numpy's ``sum``/``cumsum``/``exp``/``log`` on them).  bfloat16 is
  emulated: every elementwise result is computed in float32 and rounded to bfloat16
  (round-to-nearest-even of the float32 bit pattern); reductions (sum, cumsum) accumulate in
  float32 and round their results to bfloat16.
- ``float32``: half-precision inputs are upcast to float32 and everything is computed in float32
  (float64 stays float64).

``CAREFUL`` maps a careful port to ``(method, policy)``; ``BUGS`` maps a planted bug to its method.
"""

from __future__ import annotations

import math

import numpy as np

DTYPES = ("float64", "float32", "float16", "bfloat16")
MODES = ("input", "float32")


# --------------------------------------------------------------------------------------------
# arithmetic in one compute dtype
# --------------------------------------------------------------------------------------------

def _round_bf16(a):
    """Round float32 values to the nearest bfloat16 (ties to even), kept in float32."""
    a = np.array(a, dtype=np.float32, copy=True)
    bits = a.view(np.uint32).astype(np.uint64)
    finite = np.isfinite(a)
    lsb = (bits >> np.uint64(16)) & np.uint64(1)
    rounded = (bits + np.uint64(0x7FFF) + lsb) & np.uint64(0xFFFF0000)
    out = np.where(finite, rounded, bits & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    return out.view(np.float32)


class Arith:
    """Elementwise ops, reductions and casts in one compute dtype (bfloat16 emulated)."""

    _NP = {"float64": np.float64, "float32": np.float32, "float16": np.float16,
           "bfloat16": np.float32}

    def __init__(self, dtype: str, mode: str):
        if dtype not in DTYPES or mode not in MODES:
            raise ValueError(f"unknown dtype/mode {dtype}/{mode}")
        half = dtype in ("float16", "bfloat16")
        self.compute = "float32" if (mode == "float32" and half) else dtype
        self.bf = self.compute == "bfloat16"
        self.dt = self._NP[self.compute]

    # casts ---------------------------------------------------------------------------------
    def c(self, x):
        a = np.asarray(x).astype(self.dt)
        return _round_bf16(a) if self.bf else a

    def s(self, v):
        """A Python parameter as a 0-d value of the compute dtype."""
        return self.c(np.float64(v))

    def _r(self, a):
        a = np.asarray(a)
        if self.bf:
            return _round_bf16(a)
        return a.astype(self.dt, copy=False)

    # elementwise ---------------------------------------------------------------------------
    def add(self, a, b):
        return self._r(np.add(a, b))

    def sub(self, a, b):
        return self._r(np.subtract(a, b))

    def mul(self, a, b):
        return self._r(np.multiply(a, b))

    def div(self, a, b):
        return self._r(np.divide(a, b))

    def neg(self, a):
        return self._r(np.negative(a))

    def exp(self, a):
        return self._r(np.exp(a))

    def log(self, a):
        return self._r(np.log(a))

    def log1p(self, a):
        return self._r(np.log1p(a))

    def sqrt(self, a):
        return self._r(np.sqrt(a))

    def pow(self, a, b):
        return self._r(np.power(a, b))

    def abs(self, a):
        return self._r(np.abs(a))

    # reductions ----------------------------------------------------------------------------
    def sum(self, a):
        if self.bf:
            return _round_bf16(np.sum(np.asarray(a, dtype=np.float32), dtype=np.float32))
        return np.sum(a)

    def cumsum(self, a):
        if self.bf:
            return _round_bf16(np.cumsum(np.asarray(a, dtype=np.float32), dtype=np.float32))
        return np.cumsum(a)

    def max(self, a):
        return np.max(a)

    def logsumexp(self, a):
        m = self.max(a)
        return self.add(m, self.log(self.sum(self.exp(self.sub(a, m)))))

    def ln_int(self, k):
        """ln of integers k (array or int) in the compute dtype."""
        return self.log(self.c(np.asarray(k, dtype=np.float64)))


# --------------------------------------------------------------------------------------------
# input checks shared by every port
# --------------------------------------------------------------------------------------------

def _candidates(A: Arith, logits):
    z = np.asarray(logits)
    if z.ndim != 1:
        raise ValueError("expected one row of logits")
    bad = np.flatnonzero(np.isnan(z) | (z == np.inf))
    if bad.size:
        raise ValueError(f"row 0: NaN or +inf logit at position {int(bad[0])}")
    idx = np.flatnonzero(np.isfinite(z))
    if idx.size == 0:
        raise ValueError("row 0: no finite logit")
    return idx, A.c(z[idx])


def _check_temperature(t):
    if not (math.isfinite(t) and t > 0):
        raise ValueError(f"temperature must be finite and > 0, got {t}")


def _mask_from(V, idx, local_keep):
    mask = np.zeros(V, dtype=bool)
    mask[idx[local_keep]] = True
    return mask


def _with_min_keep(keep, order, m):
    """Force the first m tokens of ``order`` into the boolean keep array (copy)."""
    keep = np.array(keep, dtype=bool, copy=True)
    if m and m > 0:
        keep[order[:m]] = True
    return keep


# --------------------------------------------------------------------------------------------
# EES
# --------------------------------------------------------------------------------------------

def _ees_lse(A, logits, temperature, *, include_crossing=False, cold_bug=False):
    """JAX shape: y = z / tau, log p = y - logsumexp(y), rank by y, closed form
    H_k = ln P_k + S_k / P_k with S_k = cumsum(-p log p), Hbar = H / ln k."""
    _check_temperature(temperature)
    V = np.asarray(logits).size
    idx, x = _candidates(A, logits)
    n = x.size
    if n == 1:
        return _mask_from(V, idx, np.arange(1))
    if cold_bug and temperature < 0.3:
        y = x  # planted: the temperature is dropped on cold rows
    else:
        y = A.div(x, A.s(temperature))
    lse = A.logsumexp(y)
    logp = A.sub(y, lse)
    p = A.exp(logp)
    order = np.argsort(-y, kind="stable")
    ps, lps = p[order], logp[order]
    P = A.cumsum(ps)
    S = A.cumsum(A.neg(A.mul(ps, lps)))
    H = A.add(A.log(P), A.div(S, P))
    hbar = A.div(H[1:], A.ln_int(np.arange(2, n + 1)))
    crossing = np.flatnonzero(hbar < P[1:])  # j <-> 1-based index i = j + 2
    kstar = int(crossing[0]) + 1 if crossing.size else n
    if include_crossing and crossing.size:
        kstar += 1
    return _mask_from(V, idx, order[:kstar])


def _ees_incremental(A, logits, temperature):
    """The authors' loop: p = e / sum(e) with y = z * (1/tau), rank by computed p, then
    H_{k+1} = (P_k/P_{k+1}) (H_k + log1p(p_{k+1}/P_k)) - q ln q, q = p_{k+1}/P_{k+1}; stop at the
    first k with H_k / ln k < P_k."""
    _check_temperature(temperature)
    V = np.asarray(logits).size
    idx, x = _candidates(A, logits)
    n = x.size
    if n == 1:
        return _mask_from(V, idx, np.arange(1))
    inv = A.div(A.s(1.0), A.s(temperature))
    y = A.mul(x, inv)
    e = A.exp(A.sub(y, A.max(y)))
    p = A.div(e, A.sum(e))
    order = np.argsort(-p, kind="stable")
    ps = p[order]
    P = ps[0]
    H = A.s(0.0)
    kstar = n
    zero = A.s(0.0)
    for i in range(1, n):
        pi = ps[i]
        Pn = A.add(P, pi)
        if pi > 0:
            q = A.div(pi, Pn)
            qlq = A.mul(q, A.log(q))
            grow = A.log1p(A.div(pi, P))
        else:
            qlq = zero
            grow = zero
        H = A.sub(A.mul(A.div(P, Pn), A.add(H, grow)), qlq)
        P = Pn
        hbar = A.div(H, A.ln_int(i + 1))
        if hbar < P:
            kstar = i
            break
    return _mask_from(V, idx, order[:kstar])


def _ees_tail(A, logits, temperature):
    """Unnormalised weights e = exp((z - max) / tau); P_k = 1 - (mass below k) / sum(e) from a
    bottom-up cumsum; H_k = ln E_k - (sum_{i<=k} e_i y_i) / E_k (logsumexp minus mean logit);
    crossing tested as H_k < P_k ln k."""
    _check_temperature(temperature)
    V = np.asarray(logits).size
    idx, x = _candidates(A, logits)
    n = x.size
    if n == 1:
        return _mask_from(V, idx, np.arange(1))
    y = A.div(A.sub(x, A.max(x)), A.s(temperature))
    order = np.argsort(-x, kind="stable")
    ys = y[order]
    es = A.exp(ys)
    total = A.sum(es)
    below = A.cumsum(es[::-1])[::-1]          # below[k] = sum_{i >= k} e_i (0-based)
    tail = np.concatenate([below[1:], A.c(np.zeros(1))])  # mass strictly after position k
    P = A.sub(A.s(1.0), A.div(tail, total))
    E = A.cumsum(es)
    EY = A.cumsum(A.mul(es, ys))
    H = A.sub(A.log(E), A.div(EY, E))
    rhs = A.mul(P[1:], A.ln_int(np.arange(2, n + 1)))
    crossing = np.flatnonzero(H[1:] < rhs)
    kstar = int(crossing[0]) + 1 if crossing.size else n
    return _mask_from(V, idx, order[:kstar])


# --------------------------------------------------------------------------------------------
# EDT
# --------------------------------------------------------------------------------------------

def _edt_check(T0, theta, N):
    if not (0 < N < 1):
        raise ValueError(f"N must lie in (0, 1), got {N}")
    if not (T0 > 0 and math.isfinite(T0)):
        raise ValueError(f"T0 must be > 0, got {T0}")
    if not (theta >= 0 and math.isfinite(theta)):
        raise ValueError(f"theta must be >= 0, got {theta}")


def _edt_lse(A, logits, T0, theta, N=0.8, *, bits=False):
    """H = logsumexp(y) - sum(p * y) on shifted logits y = z - max; T = T0 * N ** (theta / H)."""
    _edt_check(T0, theta, N)
    idx, x = _candidates(A, logits)
    if x.size == 1:
        return 0.0
    if theta == 0:
        return float(A.s(T0))
    y = A.sub(x, A.max(x))
    lse = A.log(A.sum(A.exp(y)))
    p = A.exp(A.sub(y, lse))
    H = A.sub(lse, A.sum(A.mul(p, y)))
    if bits:
        H = A.div(H, A.s(math.log(2.0)))
    if not H > 0:
        return 0.0
    T = A.mul(A.s(T0), A.pow(A.s(N), A.div(A.s(theta), H)))
    return float(T)


def _edt_plogp(A, logits, T0, theta, N=0.8):
    """p = e / sum(e); H = -sum(p ln p) over p > 0; T = T0 * exp((theta / H) * ln N)."""
    _edt_check(T0, theta, N)
    idx, x = _candidates(A, logits)
    if x.size == 1:
        return 0.0
    if theta == 0:
        return float(A.s(T0))
    e = A.exp(A.sub(x, A.max(x)))
    p = A.div(e, A.sum(e))
    pos = p > 0
    plogp = np.where(pos, A.mul(p, A.log(np.where(pos, p, A.s(1.0)))), A.s(0.0))
    H = A.neg(A.sum(A.c(plogp)))
    if not H > 0:
        return 0.0
    T = A.mul(A.s(T0), A.exp(A.mul(A.div(A.s(theta), H), A.log(A.s(N)))))
    return float(T)


# --------------------------------------------------------------------------------------------
# dynatemp (llama.cpp temp_ext)
# --------------------------------------------------------------------------------------------

def _dyn_finish(A, H, lnn, temp, delta, exponent):
    if exponent < 0 and not H > 0:
        raise ValueError("dynatemp: negative exponent with zero entropy")
    tmin = A.s(max(0.0, temp - delta))
    tmax = A.add(A.s(temp), A.s(delta))
    norm = A.div(H, lnn)
    T = A.add(tmin, A.mul(A.sub(tmax, tmin), A.pow(norm, A.s(exponent))))
    T = float(T)
    return T if T > 0 else 0.0


def _dynatemp_llama(A, logits, temp, delta, exponent):
    """llama.cpp's shape: sorted softmax p = e / sum(e) over the entries, H = -sum_{p>0} p log p,
    H_max = -log(1/n) with n every entry of the array."""
    V = np.asarray(logits).size
    if not delta > 0:
        return float(temp) if temp > 0 else 0.0
    if V <= 1:
        _candidates(A, logits)
        return None
    idx, x = _candidates(A, logits)
    xs = np.sort(x)[::-1]
    e = A.exp(A.sub(xs, xs[0]))
    p = A.div(e, A.sum(e))
    pos = p > 0
    terms = np.where(pos, A.mul(p, A.log(np.where(pos, p, A.s(1.0)))), A.s(0.0))
    H = A.neg(A.sum(A.c(terms)))
    hmax = A.neg(A.log(A.div(A.s(1.0), A.s(float(V)))))
    return _dyn_finish(A, H, hmax, temp, delta, exponent)


def _dynatemp_lse(A, logits, temp, delta, exponent):
    """log p = z - logsumexp(z), H = -sum(p * log p), ln n with n = len(row)."""
    V = np.asarray(logits).size
    if not delta > 0:
        return float(temp) if temp > 0 else 0.0
    if V <= 1:
        _candidates(A, logits)
        return None
    idx, x = _candidates(A, logits)
    logp = A.sub(x, A.logsumexp(x))
    H = A.neg(A.sum(A.mul(A.exp(logp), logp)))
    return _dyn_finish(A, H, A.ln_int(V), temp, delta, exponent)


def _dynatemp_webui(A, logits, temp, delta, exponent, *, n_finite=True):
    """text-generation-webui's count (policy finite-candidates): n = number of finite entries;
    H = logsumexp(z) - sum(p z) on shifted logits."""
    V = np.asarray(logits).size
    if not delta > 0:
        return float(temp) if temp > 0 else 0.0
    if V <= 1:
        _candidates(A, logits)
        return None
    idx, x = _candidates(A, logits)
    n = x.size if n_finite else V
    if n <= 1:
        return float(A.add(A.s(temp), A.s(delta)))   # webui's guard: T_max
    y = A.sub(x, A.max(x))
    lse = A.log(A.sum(A.exp(y)))
    p = A.exp(A.sub(y, lse))
    H = A.sub(lse, A.sum(A.mul(p, y)))
    return _dyn_finish(A, H, A.ln_int(n), temp, delta, exponent)


# --------------------------------------------------------------------------------------------
# truncation samplers
# --------------------------------------------------------------------------------------------

def _probs_lse(A, x, temperature):
    """(y, logp, p) with y = z / tau and log p = y - logsumexp(y)."""
    y = A.div(x, A.s(temperature))
    logp = A.sub(y, A.logsumexp(y))
    return y, logp, A.exp(logp)


def _probs_ratio(A, x, temperature):
    """(y, p) with y = z * (1/tau) and p = e / sum(e)."""
    y = A.mul(x, A.div(A.s(1.0), A.s(temperature)))
    e = A.exp(A.sub(y, A.max(y)))
    return y, A.div(e, A.sum(e))


def _top_k_partition(A, logits, temperature, k, min_tokens_to_keep=1, *, big_vocab_bug=False):
    """Keep the max(k, min_keep) largest scaled logits (argpartition; exactly that many)."""
    _check_temperature(temperature)
    V = np.asarray(logits).size
    idx, x = _candidates(A, logits)
    n = x.size
    k = int(k)
    if k <= 0:
        return _mask_from(V, idx, np.arange(n))
    kk = min(max(k, int(min_tokens_to_keep)), n)
    if big_vocab_bug and V > 1000 and kk > 1:
        kk -= 1  # planted: one fewer on large vocabularies
    y = A.div(x, A.s(temperature))
    if kk >= n:
        return _mask_from(V, idx, np.arange(n))
    top = np.argpartition(-y, kk - 1)[:kk]
    return _mask_from(V, idx, top)


def _top_p_searchsorted(A, logits, temperature, p, min_tokens_to_keep=1, *, nonstrict=False):
    """log-softmax probabilities, ranked by computed p; keep the first
    searchsorted(cumsum, p, 'left') + 1 tokens (the mass strictly before a kept token is < p)."""
    _check_temperature(temperature)
    V = np.asarray(logits).size
    idx, x = _candidates(A, logits)
    n = x.size
    _, _, prob = _probs_lse(A, x, temperature)
    order = np.argsort(-prob, kind="stable")
    C = A.cumsum(prob[order])
    side = "right" if nonstrict else "left"
    cnt = int(np.searchsorted(C, A.s(p), side=side)) + 1
    cnt = min(max(cnt, int(min_tokens_to_keep)), n)
    return _mask_from(V, idx, order[:cnt])


def _top_p_ascending(A, logits, temperature, p, min_tokens_to_keep=1):
    """Sort logits ascending, cumsum from the bottom; a token is dropped when the mass at or below
    it is <= 1 - p (i.e. the mass strictly above it reaches p); the top min_keep always stay."""
    _check_temperature(temperature)
    V = np.asarray(logits).size
    idx, x = _candidates(A, logits)
    n = x.size
    y, prob = _probs_ratio(A, x, temperature)
    asc = np.argsort(y, kind="stable")
    cum = A.cumsum(prob[asc])
    thr = A.sub(A.s(1.0), A.s(p))
    remove = cum <= thr
    m = int(min_tokens_to_keep)
    if m > 0:
        remove[max(n - m, 0):] = False
    return _mask_from(V, idx, asc[~remove])


def _min_p_logspace(A, logits, temperature, min_p, min_tokens_to_keep=1):
    """log p >= log(min_p) + max log p (the llama.cpp/Triton comparison in log space)."""
    _check_temperature(temperature)
    V = np.asarray(logits).size
    idx, x = _candidates(A, logits)
    _, logp, _ = _probs_lse(A, x, temperature)
    if min_p <= 0:
        keep = np.ones(x.size, dtype=bool)
    else:
        thr = A.add(A.log(A.s(min_p)), A.max(logp))
        keep = logp >= thr
    keep = _with_min_keep(keep, np.argsort(-logp, kind="stable"), int(min_tokens_to_keep))
    return _mask_from(V, idx, np.flatnonzero(keep))


def _min_p_ratio(A, logits, temperature, min_p, min_tokens_to_keep=1, *, wrong_ref=False):
    """p = e / sum(e); keep p >= min_p * max(p)."""
    _check_temperature(temperature)
    V = np.asarray(logits).size
    idx, x = _candidates(A, logits)
    _, prob = _probs_ratio(A, x, temperature)
    ref = A.s(1.0) if wrong_ref else A.max(prob)   # planted: threshold relative to 1
    keep = prob >= A.mul(A.s(min_p), ref)
    keep = _with_min_keep(keep, np.argsort(-prob, kind="stable"), int(min_tokens_to_keep))
    return _mask_from(V, idx, np.flatnonzero(keep))


def _typical_lse(A, logits, temperature, mass, min_tokens_to_keep=1):
    """Meister et al.: H = -sum p log p, score |-log p - H|, sort by score ascending, keep the
    smallest prefix whose mass reaches `mass` (searchsorted 'left' + 1)."""
    _check_temperature(temperature)
    V = np.asarray(logits).size
    idx, x = _candidates(A, logits)
    n = x.size
    y = A.div(A.sub(x, A.max(x)), A.s(temperature))
    logp = A.sub(y, A.log(A.sum(A.exp(y))))
    prob = A.exp(logp)
    H = A.neg(A.sum(A.mul(prob, logp)))
    score = A.abs(A.sub(A.neg(logp), H))
    order = np.argsort(score, kind="stable")
    C = A.cumsum(prob[order])
    cnt = int(np.searchsorted(C, A.s(mass), side="left")) + 1
    cnt = min(max(cnt, int(min_tokens_to_keep)), n)
    return _mask_from(V, idx, order[:cnt])


def _epsilon(A, logits, temperature, epsilon, min_tokens_to_keep=1):
    """Hewitt et al.: keep p > epsilon, and the top min_keep."""
    _check_temperature(temperature)
    V = np.asarray(logits).size
    idx, x = _candidates(A, logits)
    _, _, prob = _probs_lse(A, x, temperature)
    keep = prob > A.s(epsilon)
    keep = _with_min_keep(keep, np.argsort(-x, kind="stable"), int(min_tokens_to_keep))
    return _mask_from(V, idx, np.flatnonzero(keep))


def _eta(A, logits, temperature, epsilon, min_tokens_to_keep=1, *, bits=False):
    """Hewitt et al.: eta = min(eps, sqrt(eps) * exp(-H)) with H in nats; keep p > eta."""
    _check_temperature(temperature)
    V = np.asarray(logits).size
    idx, x = _candidates(A, logits)
    y, prob = _probs_ratio(A, x, temperature)
    pos = prob > 0
    terms = np.where(pos, A.mul(prob, A.log(np.where(pos, prob, A.s(1.0)))), A.s(0.0))
    H = A.neg(A.sum(A.c(terms)))
    if bits:
        H = A.div(H, A.s(math.log(2.0)))   # planted: entropy in bits
    eps = A.s(epsilon)
    eta = np.minimum(eps, A.mul(A.sqrt(eps), A.exp(A.neg(H))))
    keep = prob > eta
    keep = _with_min_keep(keep, np.argsort(-prob, kind="stable"), int(min_tokens_to_keep))
    return _mask_from(V, idx, np.flatnonzero(keep))


# --------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------

_CAREFUL_IMPLS = {
    "ees_lse": ("ees", "paper", _ees_lse),
    "ees_incremental": ("ees", "paper", _ees_incremental),
    "ees_tail": ("ees", "paper", _ees_tail),
    "edt_lse": ("edt", "paper", _edt_lse),
    "edt_plogp": ("edt", "paper", _edt_plogp),
    "dynatemp_llama": ("dynatemp", "paper", _dynatemp_llama),
    "dynatemp_lse": ("dynatemp", "paper", _dynatemp_lse),
    "dynatemp_webui": ("dynatemp", "finite-candidates", _dynatemp_webui),
    "top_k_partition": ("top-k", "paper", _top_k_partition),
    "top_p_searchsorted": ("top-p", "paper", _top_p_searchsorted),
    "top_p_ascending": ("top-p", "paper", _top_p_ascending),
    "min_p_logspace": ("min-p", "paper", _min_p_logspace),
    "min_p_ratio": ("min-p", "paper", _min_p_ratio),
    "typical_lse": ("typical", "paper", _typical_lse),
    "epsilon_lse": ("epsilon", "paper", _epsilon),
    "eta_plogp": ("eta", "paper", _eta),
}


def _bug(fn, **kw):
    def impl(A, *args, **kwargs):
        return fn(A, *args, **kwargs, **kw)
    impl.__doc__ = fn.__doc__
    return impl


_BUG_IMPLS = {
    # EES keeps the crossing token too (one token too many)
    "bug_ees_keeps_crossing": ("ees", _bug(_ees_lse, include_crossing=True)),
    # EES ignores the temperature when it is below 0.3
    "bug_ees_cold_rows": ("ees", _bug(_ees_lse, cold_bug=True)),
    # top-p keeps a token whose preceding mass equals p (<= instead of <)
    "bug_top_p_nonstrict": ("top-p", _bug(_top_p_searchsorted, nonstrict=True)),
    # EDT entropy in bits
    "bug_edt_bits": ("edt", _bug(_edt_lse, bits=True)),
    # min-p threshold relative to 1 instead of the top probability
    "bug_min_p_wrong_ref": ("min-p", _bug(_min_p_ratio, wrong_ref=True)),
    # top-k keeps one fewer token when the vocabulary has more than 1000 entries
    "bug_top_k_big_vocab": ("top-k", _bug(_top_k_partition, big_vocab_bug=True)),
    # dynatemp counts only the finite entries (judged under paper)
    "bug_dynatemp_finite_n": ("dynatemp", _dynatemp_webui),
    # eta entropy in bits
    "bug_eta_bits": ("eta", _bug(_eta, bits=True)),
}

CAREFUL = {name: (method, policy) for name, (method, policy, _) in _CAREFUL_IMPLS.items()}
BUGS = {name: method for name, (method, _) in _BUG_IMPLS.items()}


def _bind(impl, dtype, mode, name):
    A = Arith(dtype, mode)

    def port(logits, *args, **kwargs):
        with np.errstate(all="ignore"):
            return impl(A, logits, *args, **kwargs)

    port.__name__ = port.__qualname__ = name
    port.__doc__ = impl.__doc__
    return port


def _export():
    g = globals()
    impls = {k: v[2] for k, v in _CAREFUL_IMPLS.items()}
    impls.update({k: v[1] for k, v in _BUG_IMPLS.items()})
    for name, impl in impls.items():
        for dtype in DTYPES:
            for mode in MODES:
                full = f"{name}__{dtype}__{mode}"
                g[full] = _bind(impl, dtype, mode, full)


_export()
