"""Careful EES ports that compute in a float dtype, written from SPEC.md (section 2) alone.

Each port does every step in its compute dtype ``cd`` (float64, float32, float16 or bfloat16):
numpy float64/float32/float16 arithmetic, and for bfloat16 float32 arithmetic rounded to
bfloat16 (to nearest even) after every operation, ``exp`` and ``log`` included. The variants:

* ``closed``: softmax probabilities, dividing by the temperature first (shifting first where
  ``z / tau`` would overflow), ``H_k = ln P_k + S_k / P_k``
  with ``S_k = -sum p ln p`` (vectorised cumulative sums in ``cd``), tokens ordered by their
  computed probabilities;
* ``incremental``: weights ``e_i = exp(-(z_max - z_i) / tau)`` relative to the top token,
  shifting first, running sums ``S_k``, ``A_k`` updated one token at a time in ``cd`` with
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
    """A running sum, each addition rounded into the compute dtype."""
    out = np.empty_like(v)
    s = v.dtype.type(0)
    for i, x in enumerate(v):
        s = rd(s + x)
        out[i] = s
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
            S = A = e.dtype.type(0)
            for i in range(len(e)):
                S = rd(S + e[i])
                if e[i] > 0:  # e ln e = 0 at e = 0 (a may be inf there)
                    A = rd(A + rd(e[i] * a[i]))
                if i == 0:
                    continue
                H = rd(rd(np.log(S)) + rd(A / S))
                gap = rd(rd(H / rd(np.log(to(float(i + 1))))) - rd(S / T))
                if crosses(gap):
                    return _mask(z.shape[0], ids[:i])
            return _mask(z.shape[0], ids)

    fn.__name__ = f"ees_{form}_{cd}" + ("_le" if nonstrict else "") + ("_keepall" if keep_all else "") + (f"_clamp{clamp}" if clamp else "")
    return fn
