"""Careful float ports written apart from the toolkit's kernels and styles, for judging the judge.

Every port computes in a compute dtype ``cd`` with numpy arithmetic rounded into ``cd`` after every
operation (bfloat16: float64 arithmetic rounded to bfloat16, to nearest even), so nothing here
shares code with ``ees_theory.kernels`` or ``ees_theory.errormodel.styles``. The reductions are the
point: ``sums="seq"`` adds in order; ``"tree"`` adds along a random binary tree over a random
permutation; ``"blocks"`` scans random-size blocks (1 to 96) and adds the block offsets, as GPU
tree, blocked and fused reductions do. Sums are carried in the compute dtype, or in float32 for
half precision (as torch and GPU kernels carry them), each result rounded into ``cd``. The randomness is drawn per call from ``seed`` and the
row's bytes, so a port is a function of its input, and two ports with different seeds reduce
differently.

The other switches are the choices real code makes: ``probs`` (``softmax``: ``e / sum e``;
``logsoftmax``: ``exp(x - max - ln sum e)``), ``rank`` (order by the scaled logits or by the
computed probabilities, ``np.argsort`` on either; ties in the computed values are the port's),
``shift`` (``before``: ``(z - max) / tau``; ``after``: ``z / tau`` then ``- max``), ``cum``
(``top``: mass before a token summed from the top; ``bottom``: ``1 -`` the mass from the bottom,
as transformers' ascending top-p does).

The ``bug`` switch plants one fault: ``crossing`` (EES keeps the crossing token), ``le`` (``<=``
for ``<`` or ``>=`` for ``>``), ``plus1``/``minus1`` (the kept count off by one), ``cold`` (the
temperature clamped to 0.3 below it: wrong only when cold), ``big`` (off by one only when the row
has more than 1000 entries), ``rare`` (off by one on 2% of rows, chosen by the row's hash),
``bits`` (entropy in bits), ``tempered`` (EDT's entropy of ``softmax(z / T0)``).

>>> import numpy as np
>>> port = ees_port(cd="bfloat16", sums="tree", seed=3)
>>> port(np.array([2.0, 1.0, 0.0]), 1.0).tolist()
[True, False, False]
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from ees_theory.spec.formats import cast

__all__ = ["Arith", "ees_port", "truncation_port", "temperature_port", "PORT_STYLES", "BUGS"]

#: the careful styles the meta tests run (each a dict of keyword arguments)
PORT_STYLES = (
    dict(probs="softmax", rank="logits", shift="after", cum="top", sums="seq"),
    dict(probs="softmax", rank="probs", shift="after", cum="top", sums="tree"),
    dict(probs="logsoftmax", rank="probs", shift="before", cum="bottom", sums="blocks"),
    dict(probs="logsoftmax", rank="logits", shift="after", cum="bottom", sums="tree"),
    dict(probs="softmax", rank="probs", shift="before", cum="top", sums="blocks"),
)

BUGS = ("crossing", "le", "plus1", "minus1", "cold", "big", "rare", "bits", "tempered")


class Arith:
    """Arithmetic in the compute dtype ``cd``, one rounding per operation, with the reductions
    the port asked for."""

    def __init__(self, cd: str, sums: str, rng: np.random.Generator):
        self.cd, self.sums, self.rng = cd, sums, rng
        self.np_type = np.float64 if cd == "float64" else np.float32 if cd in ("float32", "bfloat16") else np.float16

    def rd(self, x):
        a = np.asarray(x, dtype=np.float64)
        if self.cd == "bfloat16":
            out = cast(a.reshape(-1), "bfloat16").astype(np.float64).reshape(a.shape)
        else:
            with np.errstate(all="ignore"):
                out = a.astype(self.np_type).astype(np.float64)
        return out

    def acc(self, x):
        """Round into the accumulator: the compute dtype, or float32 for half precision (careful
        half-precision code carries its sums in float32 and rounds the results)."""
        if self.cd in ("float16", "bfloat16"):
            return np.asarray(x, dtype=np.float64).astype(np.float32).astype(np.float64)
        return self.rd(x)

    def _seq(self, v: np.ndarray) -> np.ndarray:
        # a running sum in the accumulator, one rounding per addition: numpy's accumulate adds in
        # order and rounds every partial sum into its dtype (float32 for every dtype but float64;
        # the terms are values of the compute dtype, so float32 holds them exactly)
        acc = np.float64 if self.cd == "float64" else np.float32
        return self.rd(np.add.accumulate(np.asarray(v, dtype=np.float64).astype(acc), dtype=acc).astype(np.float64))

    def _tree_sum(self, v: np.ndarray) -> float:
        v = v[self.rng.permutation(v.size)]
        while v.size > 1:
            if v.size % 2:
                v = np.append(v, 0.0)
            v = self.acc(v[0::2] + v[1::2])
        return float(self.rd(v[0])) if v.size else 0.0

    def sum(self, v) -> float:
        v = np.asarray(v, dtype=np.float64)
        if v.size == 0:
            return 0.0
        if self.sums == "tree":
            return self._tree_sum(v)
        return float(self.cumsum(v)[-1])

    def cumsum(self, v) -> np.ndarray:
        v = np.asarray(v, dtype=np.float64)
        if self.sums == "seq" or v.size <= 1:
            return self._seq(v)
        # blocked scan (for "tree" too: a prefix sum cannot follow one tree): random block sizes
        out = np.empty_like(v)
        start, offset = 0, 0.0
        while start < v.size:
            b = int(self.rng.integers(1, 97))
            blk = self._seq(v[start : start + b])  # each block's running sums, rounded into cd
            out[start : start + b] = self.acc(blk + offset)  # the carry stays in the accumulator
            offset = float(self.acc(offset + float(self.acc(np.sum(v[start : start + b])))))
            start += b
        return self.rd(out)

    def exp(self, x):
        with np.errstate(all="ignore"):
            return self.rd(np.exp(x))

    def log(self, x):
        with np.errstate(all="ignore"):
            return self.rd(np.log(x))


def _rng(seed: int, logits, *extra) -> np.random.Generator:
    h = hashlib.sha256(np.asarray(logits, dtype=np.float64).tobytes() + repr(extra).encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(h[:8], "little")])


def _rare(logits) -> bool:
    """2% of rows, by the row's hash."""
    h = hashlib.sha256(np.asarray(logits, dtype=np.float64).tobytes()).digest()
    return int.from_bytes(h[:4], "little") % 100 < 2


def _mask(size: int, ids) -> np.ndarray:
    m = np.zeros(size, dtype=bool)
    m[np.asarray(ids, dtype=np.int64)] = True
    return m


def _prepare(A: Arith, logits, tau: float, probs: str, rank: str, shift: str):
    """Finite ids, their scaled logits, probabilities and log-probabilities (in ``cd``), in the
    port's ranking order."""
    z = A.rd(np.asarray(logits, dtype=np.float64))
    t = float(A.rd(tau))
    finite = np.flatnonzero(np.isfinite(z))
    zf = z[finite]
    with np.errstate(all="ignore"):
        if shift == "before":
            x = A.rd(A.rd(zf - zf.max()) / t)
        else:
            x = A.rd(zf / t)
            if not np.all(np.isfinite(x)):  # z / tau overflows: shift first
                x = A.rd(A.rd(zf - zf.max()) / t)
            x = A.rd(x - x.max())
    e = A.exp(x)
    S = A.sum(e)
    if probs == "logsoftmax":
        lp = A.rd(x - A.log(S))
        p = A.exp(lp)
    else:
        p = A.rd(e / S)
        with np.errstate(all="ignore"):
            lp = A.log(p)
    key = p if rank == "probs" else x
    order = np.argsort(-key, kind="stable")
    return finite[order], x[order], p[order], lp[order]


def _entropy(A: Arith, p, lp) -> float:
    terms = np.where(p > 0, A.rd(-A.rd(p * np.where(p > 0, lp, 0.0))), 0.0)
    return A.sum(terms)


def _shift_count(k: int, n: int, bug: str | None, logits) -> int:
    big = np.asarray(logits).shape[-1] > 1000
    if bug == "plus1" or (bug == "big" and big) or (bug == "rare" and _rare(logits)):
        return min(k + 1, n) if k < n else k - 1
    if bug == "minus1":
        return max(k - 1, 1) if k > 1 else min(2, n)
    return k


def ees_port(cd="float32", probs="softmax", rank="probs", shift="after", cum="top", sums="seq", seed=0, bug=None):
    """EES ``fn(logits, temperature) -> kept mask``: the closed form ``H_k = ln P_k + S_k / P_k``,
    first crossing ``f(i) < 0`` with ``i >= 2``, ``k* = i - 1``."""

    def fn(logits, temperature):
        A = Arith(cd, sums, _rng(seed, logits, temperature))
        tau = max(float(temperature), 0.3) if bug == "cold" else float(temperature)
        ids, x, p, lp = _prepare(A, logits, tau, probs, rank, shift)
        n = ids.size
        if n <= 1:
            return _mask(len(logits), ids)
        P = A.cumsum(p)
        terms = np.where(p > 0, A.rd(-A.rd(p * np.where(p > 0, lp, 0.0))), 0.0)
        Hs = A.cumsum(terms)
        k = n
        with np.errstate(all="ignore"):  # every gap at once, each operation rounded as above
            H = A.rd(A.log(P[1:]) + A.rd(Hs[1:] / P[1:]))
            lnk = A.rd(np.array([math.log(i) for i in range(2, n + 1)]))
            gaps = A.rd(A.rd(H / lnk) - P[1:])
        for i, g in enumerate(gaps.tolist(), start=2):
            if (g <= 0) if bug == "le" else (g < 0):
                k = i if bug == "crossing" else i - 1
                break
        k = _shift_count(k, n, bug, logits)
        return _mask(len(logits), ids[:k])

    fn.__name__ = f"ees_{cd}_{probs}_{rank}_{shift}_{sums}_{seed}" + (f"_{bug}" if bug else "")
    return fn


def truncation_port(method, cd="float32", probs="softmax", rank="logits", shift="after", cum="top", sums="seq", seed=0, bug=None):
    """A ``paper``-policy truncation port ``fn(logits, temperature, **params) -> kept mask`` for
    top-k, top-p, min-p, typical, epsilon and eta."""

    def fn(logits, temperature, **prm):
        A = Arith(cd, sums, _rng(seed, logits, temperature, sorted(prm.items())))
        tau = max(float(temperature), 0.3) if bug == "cold" else float(temperature)
        ids, x, p, lp = _prepare(A, logits, tau, probs, rank, shift)
        n = ids.size
        m = int(prm.get("min_tokens_to_keep", 1))
        strict = bug != "le"
        if method == "top-k":
            k = min(int(prm["k"]), n)
            k = max(k, min(m, n))
            keep_ids = ids[: _shift_count(k, n, bug, logits)]
            return _mask(len(logits), keep_ids)
        if method == "top-p":
            pp = float(prm["p"])
            if pp >= 1:
                k = n
            elif cum == "bottom":  # ascending scan: drop while the mass up to and with the token <= 1 - p
                tail = A.cumsum(p[::-1])[::-1]
                thr = float(A.rd(1.0 - pp))
                k = int(np.sum(tail > thr)) if strict else int(np.sum(tail >= thr))
            else:
                before = A.rd(A.cumsum(p) - p)
                k = int(np.sum(before < pp)) if strict else int(np.sum(before <= pp))
            k = max(k, min(m, n), 1)
            return _mask(len(logits), ids[: _shift_count(k, n, bug, logits)])
        if method == "min-p":
            r = float(prm["min_p"])
            if r <= 0:
                k = n
            elif rank == "probs":
                thr = float(A.rd(r * p[0]))
                k = int(np.sum(p >= thr)) if strict else int(np.sum(p > thr))
            else:
                lr = float(A.rd(math.log(r)))
                d = A.rd(x - x[0])
                k = int(np.sum(d >= lr)) if strict else int(np.sum(d > lr))
            k = max(k, min(m, n), 1)
            return _mask(len(logits), ids[: _shift_count(k, n, bug, logits)])
        if method in ("epsilon", "eta"):
            eps = float(prm["epsilon"])
            if method == "eta":
                H = _entropy(A, p, lp)
                thr = min(eps, float(A.rd(A.rd(math.sqrt(eps)) * A.exp(-H))))
            else:
                thr = float(A.rd(eps))
            keep = (p > thr) if strict else (p >= thr)
            k = max(int(keep.sum()), min(m, n), 1)
            return _mask(len(logits), ids[: _shift_count(k, n, bug, logits)])
        if method == "typical":
            mass = float(prm["mass"])
            H = _entropy(A, p, lp)
            score = np.abs(A.rd(-lp - H))
            score = np.where(p > 0, score, np.inf)
            by = np.argsort(score, kind="stable")
            cum_m = A.cumsum(p[by])
            reached = (cum_m < mass) if strict else (cum_m <= mass)
            k = min(int(reached.sum()) + 1, n)
            k = max(k, min(m, n), 1)
            return _mask(len(logits), ids[by][: _shift_count(k, n, bug, logits)])
        raise ValueError(f"no independent port for {method}")

    fn.__name__ = f"{method}_{cd}_{probs}_{rank}_{shift}_{cum}_{sums}_{seed}" + (f"_{bug}" if bug else "")
    return fn


def temperature_port(method, cd="float32", probs="softmax", shift="after", sums="seq", seed=0, bug=None, **_ignored):
    """EDT ``fn(logits, T0, theta, N)`` or dynatemp ``fn(logits, temp, delta, exponent)``."""

    def entropy(A, logits, tau=1.0):
        ids, x, p, lp = _prepare(A, logits, tau, probs, "logits", shift)
        if ids.size <= 1:
            return 0.0
        H = _entropy(A, p, lp)
        return float(A.rd(H / float(A.rd(math.log(2.0))))) if bug == "bits" else H

    def edt(logits, T0, theta, N):
        A = Arith(cd, sums, _rng(seed, logits, T0, theta, N))
        if theta == 0:
            return float(A.rd(T0))
        H = entropy(A, logits, T0 if bug == "tempered" else 1.0)
        if H <= 0:
            return 0.0
        c = float(A.rd(A.rd(theta) * A.rd(math.log(N))))
        with np.errstate(all="ignore"):
            return float(A.rd(A.rd(T0) * A.exp(A.rd(c / H))))

    def dynatemp(logits, temp, delta, exponent):
        A = Arith(cd, sums, _rng(seed, logits, temp, delta, exponent))
        size = np.asarray(logits).shape[-1]
        if delta <= 0:
            return float(A.rd(temp))
        if size <= 1:
            return None
        t_min, t_max = float(A.rd(max(0.0, temp - delta))), float(A.rd(temp + delta))
        if exponent == 0:
            return t_max
        H = entropy(A, logits)
        ratio = float(A.rd(H / float(A.rd(math.log(size)))))
        with np.errstate(all="ignore"):
            pw = float(A.rd(ratio ** float(A.rd(exponent)))) if ratio > 0 else (0.0 if exponent > 0 else math.inf)
        return float(A.rd(t_min + A.rd(A.rd(t_max - t_min) * pw)))

    fn = edt if method == "edt" else dynatemp
    fn.__name__ = f"{method}_{cd}_{probs}_{shift}_{sums}_{seed}" + (f"_{bug}" if bug else "")
    return fn
