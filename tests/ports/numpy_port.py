"""A correct port of EES, EDT and dynatemp in numpy float64: the harness must accept it.

Written from the specification (book/spec.md) alone, independently of ``ees_theory.reference``. Every row is widened to
float64 first, so it conforms in every dtype under test. The functions follow the port protocol
(``ees(logits, temperature) -> bool mask``, ``edt(logits, T0, theta, N) -> float``,
``dynatemp(logits, temp, delta, exponent) -> float | None``); ``ees_batched`` is the optional
batched form.

The keyword-only switches reproduce known misreadings; ``tests/meta`` builds its mutant ports from
them. With the defaults the port is correct.

>>> ees(np.array([2.0, 1.0, 0.0]), 1.0).tolist()
[True, False, False]
>>> bool(ees(np.zeros(4, dtype=np.float16), 1.0).all())   # uniform: keep every candidate
True
>>> round(edt(np.zeros(2), 1.0, float(np.log(2)), 0.8), 12)
0.8
>>> dynatemp(np.array([0.5]), 1.0, 0.5, 1.0) is None
True
"""

import numpy as np


def _xlogx(p):
    # 0 * ln 0 = 0 by definition, never NaN
    out = np.zeros_like(p)
    pos = p > 0
    out[pos] = p[pos] * np.log(p[pos])
    return out


def entropy(logits, tau=1.0, bits=False):
    """Entropy (nats; bits if asked) of softmax(logits / tau) over the finite entries."""
    z = np.asarray(logits, dtype=np.float64) / tau
    z = z[np.isfinite(z)]
    e = np.exp(z - z.max())
    p = e / e.sum()
    h = float(-_xlogx(p).sum())
    return h / np.log(2) if bits else h


def ees(logits, temperature, *, inclusive=False, last=False, nonstrict=False, ln_vocab=False, one_fewer=False, bits=False):
    """Kept mask of EES (rule first-exclusive, min_tokens_to_keep = 1)."""
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    order = np.argsort(-z, kind="stable")
    zs = z[order]
    n = int(np.isfinite(zs).sum())
    mask = np.zeros(z.shape, dtype=bool)
    zs = zs[:n]
    if n == 1 or zs[0] == zs[-1]:  # one candidate, or uniform: f(n) = 0 is not a crossing
        k = n - 1 if (nonstrict and n > 1) else n
        mask[order[:k]] = True
        return mask
    a = zs[0] - zs
    e = np.exp(-a)
    S = np.cumsum(e)
    A = np.cumsum(e * a)
    H = np.log(S) + A / S
    ks = np.arange(1, n + 1, dtype=np.float64)
    denom = np.full(n, np.log(len(z))) if ln_vocab else np.log(ks) * (np.log(2.0) if bits else 1.0)
    hbar = np.full(n, np.nan)
    hbar[1:] = H[1:] / denom[1:]
    P = S / S[-1]
    P[-1] = 1.0
    gap = hbar - P
    crossing = gap[1:] <= 0 if nonstrict else gap[1:] < 0
    if last:
        stays = np.flatnonzero(~crossing)
        k = int(stays[-1]) + 2 if len(stays) else 1
    else:
        hits = np.flatnonzero(crossing)
        if len(hits):
            i_star = int(hits[0]) + 2
            k = i_star if inclusive else i_star - 1
            if one_fewer:
                k = max(k - 1, 1)
        else:
            k = n
    mask[order[:k]] = True
    return mask


def ees_batched(rows, temperature):
    """Batched form: one row per line of ``rows``, one temperature per row."""
    return np.stack([ees(r, t) for r, t in zip(rows, temperature)])


def edt(logits, T0, theta, N, *, bits=False, tempered=False):
    """EDT temperature T = T0 * N**(theta / H); 0 means greedy."""
    if theta == 0:
        return float(T0)
    H = entropy(logits, T0 if tempered else 1.0, bits=bits)
    if H == 0:
        return 0.0
    return float(T0 * N ** (theta / H))


def dynatemp(logits, temp, delta, exponent, *, finite_n=False):
    """llama.cpp dynatemp; None for a no-op row (n <= 1)."""
    if delta <= 0:
        return float(temp)
    row = np.asarray(logits, dtype=np.float64)
    n = int(np.isfinite(row).sum()) if finite_n else row.shape[-1]
    if row.shape[-1] <= 1:
        return None
    t_min, t_max = max(0.0, temp - delta), temp + delta
    if exponent == 0:
        return float(t_max)
    H = entropy(row)
    with np.errstate(divide="ignore", invalid="ignore"):  # a misreading may divide by ln 1 = 0
        return float(t_min + (t_max - t_min) * (H / np.log(n)) ** exponent)
