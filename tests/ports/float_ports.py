"""Careful EES ports that compute in a float dtype, written from SPEC.md (section 2) alone, and
careful EDT and dynatemp ports (sections 3 and 4, :func:`temperature_port`).

Each port does every step in its compute dtype ``cd`` (float64, float32, float16 or bfloat16):
numpy float64/float32/float16 arithmetic, and for bfloat16 float32 arithmetic rounded to
bfloat16 (to nearest even) after every operation, ``exp`` and ``log`` included. The variants:

* ``closed``: softmax probabilities, dividing by the temperature first (shifting first where
  ``z / tau`` would overflow), ``H_k = ln P_k + S_k / P_k``
  with ``S_k = -sum p ln p`` (vectorised cumulative sums in ``cd``), tokens ordered by their
  computed probabilities;
* ``incremental``: weights ``e_i = exp(-(z_max - z_i) / tau)`` relative to the top token,
  shifting first, running sums ``S_k``, ``A_k`` updated one token at a time (rounded into ``cd``) with
  ``H_k = ln S_k + A_k / S_k``, tokens ordered by their logits, stopping at the first crossing.

No port special-cases a uniform row: there ``f(n) = 0`` exactly and rounding decides it (an exact
tie, admissible unless ``--strict``), except on two tokens where every step is exact.

The switches make the hostile ports of ``tests/meta``: ``nonstrict`` (``<=``), ``keep_all``
(never crosses), ``clamp`` (the temperature is raised to ``clamp`` below it: wrong only there).

>>> import numpy as np
>>> port("incremental", "bfloat16")(np.array([2.0, 1.0, 0.0], dtype=np.float32), 1.0).tolist()
[True, False, False]
>>> port("closed", "float16")(np.zeros(2, dtype=np.float16), 0.7).tolist()   # f(2) = 0 exactly: keep both
[True, True]
"""

import math

import numpy as np

from ees_theory.spec.formats import cast


def _arith(cd):
    """``(to, rd)``: convert into the working numpy type, and round a result into ``cd``."""
    if cd == "bfloat16":
        def rd(x):
            a = np.asarray(x, dtype=np.float64)
            out = cast(a.reshape(-1), "bfloat16").astype(np.float32).reshape(a.shape)
            return out if a.shape else out[()]

        return rd, rd
    t = np.dtype(cd).type
    return (lambda x: np.asarray(x).astype(t)), (lambda x: np.asarray(x).astype(t))


def _cumsum(v, rd):
    """A running sum as careful code forms one: each partial sum rounded into the compute dtype;
    in half precision the sum itself is carried in float32 (as torch's and GPU kernels' reductions
    do: a half-precision running sum stops absorbing terms below 2**-9 of itself)."""
    out = np.empty_like(v)
    acc = np.float64 if v.dtype == np.float64 else np.float32
    s = acc(0)
    for i, x in enumerate(v):
        s = acc(s + acc(x))
        out[i] = rd(s)
    return out


def _mask(size, ids):
    m = np.zeros(size, dtype=bool)
    m[ids] = True
    return m


def port(form, cd, *, order="auto", nonstrict=False, keep_all=False, clamp=None):
    """An EES port ``fn(logits, temperature) -> kept mask`` of the given form in dtype ``cd``."""
    to, rd = _arith(cd)

    def crosses(gap):
        if keep_all:
            return False
        return bool(gap <= 0) if nonstrict else bool(gap < 0)

    def fn(logits, temperature):
        tau = float(temperature) if clamp is None else max(float(temperature), clamp)
        with np.errstate(all="ignore"):
            z = to(np.asarray(logits, dtype=np.float64))
            t = to(tau)
            finite = np.flatnonzero(np.isfinite(z))
            if form == "closed":
                x = rd(z[finite] / t)  # divide first, unless z / tau overflows: then shift first
                if not np.all(np.isfinite(x)):
                    x = rd(rd(z[finite] - z[finite].max()) / t)
                e = rd(np.exp(rd(x - x.max())))
                T = _cumsum(e, rd)[-1]
                p = rd(e / T)
                by = np.argsort(-p, kind="stable") if order in ("auto", "probs") else np.argsort(-x, kind="stable")
                ids, ps = finite[by], p[by]
                mass = _cumsum(ps, rd)
                plogp = _cumsum(np.where(ps > 0, rd(-rd(ps * rd(np.log(np.where(ps > 0, ps, 1))))), 0).astype(ps.dtype), rd)
                H = rd(rd(np.log(mass)) + rd(plogp / mass))
                ks = to(np.arange(1, len(ps) + 1, dtype=np.float64))
                for i in range(1, len(ps)):
                    if crosses(rd(rd(H[i] / rd(np.log(ks[i]))) - mass[i])):
                        return _mask(z.shape[0], ids[:i])
                return _mask(z.shape[0], ids)
            # incremental, shift first, by logits (or by the computed weights)
            ids = finite[np.argsort(-z[finite], kind="stable")]
            zs = z[ids]
            a = rd(rd(zs[0] - zs) / t)
            e = rd(np.exp(-a))
            if order == "probs":
                by2 = np.argsort(-e, kind="stable")
                ids, a, e = ids[by2], a[by2], e[by2]
            T = _cumsum(e, rd)[-1]
            acc = np.float64 if e.dtype == np.float64 else np.float32  # running sums carried as _cumsum's
            S_acc = A_acc = acc(0)
            for i in range(len(e)):
                S_acc = acc(S_acc + acc(e[i]))
                S = rd(S_acc)
                if e[i] > 0:  # e ln e = 0 at e = 0 (a may be inf there)
                    A_acc = acc(A_acc + acc(rd(e[i] * a[i])))
                A = rd(A_acc)
                if i == 0:
                    continue
                H = rd(rd(np.log(S)) + rd(A / S))
                gap = rd(rd(H / rd(np.log(to(float(i + 1))))) - rd(S / T))
                if crosses(gap):
                    return _mask(z.shape[0], ids[:i])
            return _mask(z.shape[0], ids)

    fn.__name__ = f"ees_{form}_{cd}" + ("_le" if nonstrict else "") + ("_keepall" if keep_all else "") + (f"_clamp{clamp}" if clamp else "")
    return fn


def _entropy(form, logits, to, rd, bits=False):
    """The row entropy (nats; ``bits``: divided by ``ln 2``) in the compute dtype: ``closed``
    (``p = e / T``, ``-sum p ln p`` as a running sum) or ``running`` (``ln S + A / S`` with running
    sums of the weights relative to the top token)."""
    z = to(np.asarray(logits, dtype=np.float64))
    zs = np.sort(z[np.isfinite(z)])[::-1]
    if zs.size <= 1:
        return to(0.0)
    a = rd(zs[0] - zs)
    e = rd(np.exp(-a))
    if form == "closed":
        p = rd(e / _cumsum(e, rd)[-1])
        terms = np.where(p > 0, rd(-rd(p * rd(np.log(np.where(p > 0, p, 1))))), 0).astype(p.dtype)
        H = _cumsum(terms, rd)[-1]
    else:
        S = _cumsum(e, rd)[-1]
        A = _cumsum(np.where(e > 0, rd(e * a), 0).astype(e.dtype), rd)[-1]
        H = rd(rd(np.log(S)) + rd(A / S))
    return rd(H / rd(np.log(to(2.0)))) if bits else H


def temperature_port(method, form, cd, *, bits=False):
    """An EDT or dynatemp port in dtype ``cd`` with the entropy of the given form, then the
    formula with one rounding per operation (``theta ln N``, ``ln n`` and the dynatemp range
    formed in float64 and rounded once). ``bits`` takes the entropy in bits: the mutant.

    >>> import math
    >>> port = temperature_port("edt", "running", "bfloat16")
    >>> port(np.zeros(2, dtype=np.float32), 1.0, math.log(2), 0.8)   # H = ln 2 = theta: T = N
    0.80078125
    >>> temperature_port("dynatemp", "closed", "float16")(np.zeros(4, dtype=np.float16), 1.0, 0.25, 2.0)
    1.25
    """
    to, rd = _arith(cd)

    def edt(logits, T0, theta, N):
        with np.errstate(all="ignore"):
            if theta == 0:
                return float(to(T0))
            H = _entropy(form, logits, to, rd, bits)
            if H <= 0:
                return 0.0
            c = to(theta * math.log(N))
            return float(rd(to(T0) * rd(np.exp(rd(c / H)))))

    def dynatemp(logits, temp, delta, exponent):
        with np.errstate(all="ignore"):
            if delta <= 0:
                return float(to(temp))
            if logits.shape[-1] <= 1:
                return None  # llama.cpp applies no temperature to a single entry
            t_min, t_max = to(max(0.0, temp - delta)), to(temp + delta)
            if exponent == 0:
                return float(t_max)
            H = _entropy(form, logits, to, rd, bits)
            ratio = rd(H / to(math.log(logits.shape[-1])))
            return float(rd(t_min + rd(rd(t_max - t_min) * rd(np.power(ratio, to(exponent))))))

    fn = edt if method == "edt" else dynatemp
    fn.__name__ = f"{method}_{form}_{cd}" + ("_bits" if bits else "")
    return fn
