"""An independent checker of the EES-UNIQUE minimality certificate.

The certificate (written by :mod:`ees_theory.ledger.minimality`, committed as
``ledger/certificates/ees-unique-minimality.json.gz``) claims: for every ``n`` in 4..7 and every
pair ``2 <= i < j <= n - 1``, no ``w = (1, w_2, ..., w_j)`` with ``1 >= w_2 >= ... >= w_j >= 0``
satisfies both

* (I1) ``h_j W_i - h_i W_j > 0`` and
* (I2) ``h_j (W_j + (n - j) w_j) - W_j > 0``,

where ``W_k = w_1 + ... + w_k`` and ``h_k = (ln W_k - (1/W_k) sum_{l<=k} w_l ln w_l) / ln k``
(``proofs/ees-unique-minimality.md`` shows that this is exactly "no row with ``n`` candidates has
``f(i) < 0 < f(j)``"; below 4 candidates there is no such pair).

This module shares no code with the search on purpose: it rebuilds every box from the bisection
tree (so the leaves partition ``[0, 1]^(j-1)`` by construction, and the tree must be consumed
exactly), clips each box to the ordered region, and re-evaluates the inequality the certificate
says fails in its own interval arithmetic: every ``+ - * /`` result is moved one ulp outward
(``nextafter``; round-to-nearest is within half an ulp), and ``log`` is widened by the libm error
bound ``ees_theory.core.certify.LIBM_REL_ERROR`` (the one assumption, shared with the
reference). A leaf passes when that upper bound is at most ``-2**e`` (``e`` from the certificate).

>>> report = check_certificate()
>>> report.ok, report.sizes, report.pairs
(True, (4, 5, 6, 7), 20)
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.certify import LIBM_REL_ERROR

__all__ = ["CertificateError", "CheckReport", "check_certificate", "check_pair", "DEFAULT_PATH"]

DEFAULT_PATH = Path(__file__).resolve().parent / "certificates" / "ees-unique-minimality.json.gz"
_SPLITS = "abcdefghijklmnopqrstuvwxyz"


class CertificateError(ValueError):
    """The certificate does not prove what it claims (the message says where and why)."""


@dataclass(frozen=True)
class CheckReport:
    """What was re-verified: sizes, pairs, boxes and leaves by kind.

    Parameters
    ----------
    ok : bool
        True: every pair was re-verified (a flaw raises instead).
    sizes : tuple of int
        The row sizes covered, ``4 .. N``.
    pairs : int
        The number of ``(n, i, j)`` pairs.
    boxes : int
        Boxes of all the pairs' trees.
    leaves : dict
        Leaves by kind: ``"outside"`` (no ordered row in the box), ``"I1"``, ``"I2"`` (refuted
        by that inequality).
    """

    ok: bool
    sizes: tuple
    pairs: int
    boxes: int
    leaves: dict


# ---- intervals: (lo, hi) pairs of float64 arrays, every result moved one ulp outward --------------

_DOWN, _UP = -np.inf, np.inf


def _add(a, b):
    return np.nextafter(a[0] + b[0], _DOWN), np.nextafter(a[1] + b[1], _UP)


def _sub(a, b):
    return np.nextafter(a[0] - b[1], _DOWN), np.nextafter(a[1] - b[0], _UP)


def _mul(a, b):
    p = (a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1])
    return np.nextafter(np.minimum.reduce(p), _DOWN), np.nextafter(np.maximum.reduce(p), _UP)


def _div(a, b):
    """``a / b`` with ``b > 0`` (the callers divide by ``W >= 1`` and ``ln k > 0``)."""
    q = (a[0] / b[0], a[0] / b[1], a[1] / b[0], a[1] / b[1])
    return np.nextafter(np.minimum.reduce(q), _DOWN), np.nextafter(np.maximum.reduce(q), _UP)


def _log(x):
    """``ln`` of a positive float array, enclosed."""
    y = np.log(x)
    return y - abs(y) * LIBM_REL_ERROR - 1e-300, y + abs(y) * LIBM_REL_ERROR + 1e-300


def _xlogx_point(x):
    """``x ln x`` at the points ``x`` in ``[0, 1]``, enclosed (0 at 0)."""
    safe = np.where(x > 0, x, 1.0)
    lo, hi = _mul((x, x), _log(safe))
    return np.where(x > 0, lo, 0.0), np.where(x > 0, hi, 0.0)


def _xlogx(lo, hi):
    """``x ln x`` over ``[lo, hi]`` within ``[0, 1]``: it decreases to ``-1/e`` at ``x = 1/e``, then increases."""
    a, b = _xlogx_point(lo), _xlogx_point(hi)
    top = np.minimum(np.maximum(a[1], b[1]), 0.0)
    low = np.minimum(a[0], b[0])
    straddles = (lo <= 0.36787944117144234) & (hi >= 0.3678794411714423)  # 1/e rounded up, down
    return np.where(straddles, -0.36787944117144234, low), top


def _inequality(which: str, lo: np.ndarray, hi: np.ndarray, n: int, i: int, j: int):
    """Enclosure of (I1) or (I2) over the boxes ``lo <= (w_2, ..., w_j) <= hi``."""
    ones = np.ones(len(lo))
    W, S = (ones, ones), (0 * ones, 0 * ones)  # W_k and sum w ln w
    at = {}
    for k in range(2, j + 1):
        w = (lo[:, k - 2], hi[:, k - 2])
        W = _add(W, w)
        S = _add(S, _xlogx(*w))
        at[k] = W, S
    h = {}
    for k in (i, j):
        Wk, Sk = at[k]
        lnk = _log(np.full(len(lo), float(k)))
        lnW = _log(Wk[0])[0], _log(Wk[1])[1]  # ln is increasing
        h[k] = _div(_sub(lnW, _div(Sk, Wk)), lnk)
    if which == "1":
        return _sub(_mul(h[j], at[i][0]), _mul(h[i], at[j][0]))
    wj = (lo[:, j - 2], hi[:, j - 2])
    m = np.full(len(lo), float(n - j))
    return _sub(_mul(h[j], _add(at[j][0], _mul((m, m), wj))), at[j][0])


def check_pair(entry: dict) -> dict:
    """Re-verify one ``(n, i, j)`` entry of the certificate; return its leaf counts.

    Parameters
    ----------
    entry : dict
        One entry of the certificate's ``pairs``: ``n``, ``i``, ``j``, ``tree`` (one code per
        box, breadth first) and ``fails_by_2_pow`` (the margin of each refuted box).

    Returns
    -------
    dict
        ``{"o": ..., "1": ..., "2": ..., "boxes": ...}``: leaves by kind and boxes in all.

    Raises
    ------
    CertificateError
        (a ValueError) Not a pair ``2 <= i < j <= n - 1``, an unknown code, a box marked wrongly,
        a margin the interval bound does not reach, or codes or margins missing or left over.

    Examples
    --------
    >>> cert = json.loads(gzip.decompress(DEFAULT_PATH.read_bytes()))
    >>> check_pair(cert["pairs"][0])
    {'o': 1, '1': 67, '2': 21, 'boxes': 177}
    """
    n, i, j = int(entry["n"]), int(entry["i"]), int(entry["j"])
    if not 2 <= i < j <= n - 1:
        raise CertificateError(f"entry (n, i, j) = ({n}, {i}, {j}) is not a pair 2 <= i < j <= n - 1")
    tree, exps = entry["tree"], np.asarray(entry["fails_by_2_pow"], dtype=np.float64)
    d = j - 1
    lo, hi = np.zeros((1, d)), np.ones((1, d))
    pos = used = 0
    counts = {"o": 0, "1": 0, "2": 0}
    while len(lo):
        codes = np.array(list(tree[pos : pos + len(lo)]))
        if len(codes) < len(lo):
            raise CertificateError(f"n={n} ({i}, {j}): the tree ends with {len(lo) - len(codes)} boxes unaccounted for")
        pos += len(lo)
        bad = ~np.isin(codes, ["o", "1", "2", *_SPLITS[:d]])
        if bad.any():
            raise CertificateError(f"n={n} ({i}, {j}): code {codes[bad][0]!r} is not a refutation or a split of {d} coordinates")
        # the ordered part of each box: w_{l+1} <= w_l caps each upper end by those on its left
        # and raises each lower end to those on its right
        chi = np.minimum.accumulate(hi, axis=1)
        clo = np.maximum.accumulate(lo[:, ::-1], axis=1)[:, ::-1]
        empty = (clo > chi).any(axis=1)
        if (empty != (codes == "o")).any():
            k = int(np.nonzero(empty != (codes == "o"))[0][0])
            raise CertificateError(f"n={n} ({i}, {j}): box {lo[k].tolist()}..{hi[k].tolist()} is marked {codes[k]!r} but is {'empty' if empty[k] else 'not empty'}")
        leaf = (codes == "1") | (codes == "2")
        e = exps[used : used + int(leaf.sum())]
        if len(e) < leaf.sum():
            raise CertificateError(f"n={n} ({i}, {j}): fewer margins than refuted boxes")
        used += int(leaf.sum())
        bound = np.empty(len(codes))
        for which in ("1", "2"):
            sel = codes == which
            if sel.any():
                bound[sel] = _inequality(which, clo[sel], chi[sel], n, i, j)[1]
        claimed = -np.exp2(e)
        fails = bound[leaf] > claimed
        if fails.any():
            k = int(np.nonzero(leaf)[0][np.nonzero(fails)[0][0]])
            raise CertificateError(f"n={n} ({i}, {j}): box {clo[k].tolist()}..{chi[k].tolist()}: (I{codes[k]}) is only known to be <= {float(bound[k])!r}, "
                                   f"not <= -2**{int(e[np.nonzero(fails)[0][0]])}")
        for c in counts:
            counts[c] += int((codes == c).sum())
        split = np.nonzero(np.isin(codes, list(_SPLITS[:d])))[0]
        dim = np.array([_SPLITS.index(c) for c in codes[split]], dtype=int)
        rows = np.arange(len(split))
        lo_s, hi_s = lo[split], hi[split]
        mid = (lo_s[rows, dim] + hi_s[rows, dim]) / 2  # exact: the end points are dyadic
        lo_a, hi_a, lo_b, hi_b = lo_s.copy(), hi_s.copy(), lo_s.copy(), hi_s.copy()
        hi_a[rows, dim] = mid
        lo_b[rows, dim] = mid
        lo = np.stack([lo_a, lo_b], axis=1).reshape(-1, d)
        hi = np.stack([hi_a, hi_b], axis=1).reshape(-1, d)
    if pos != len(tree) or used != len(exps):
        raise CertificateError(f"n={n} ({i}, {j}): {len(tree) - pos} codes and {len(exps) - used} margins left over")
    counts["boxes"] = pos
    return counts


def check_certificate(path: Path | str | None = None) -> CheckReport:
    """Re-verify the whole certificate; raise :class:`CertificateError` at the first flaw.

    Besides each pair, it checks that the pairs are exactly every ``2 <= i < j <= n - 1`` of every
    size claimed, and that the sizes are ``4 .. N`` (sizes below 4 have no pair at all).

    Parameters
    ----------
    path : str, pathlib.Path or None
        A gzipped JSON certificate (default ``None``: the packaged ``DEFAULT_PATH``).

    Returns
    -------
    CheckReport
        ``ok`` True, with what was covered.

    Raises
    ------
    CertificateError
        (a ValueError) The first flaw found, naming the pair and the box.
    """
    cert = json.loads(gzip.decompress(Path(DEFAULT_PATH if path is None else path).read_bytes()))
    sizes = tuple(int(n) for n in cert["sizes"])
    if sizes != tuple(range(4, max(sizes) + 1)):
        raise CertificateError(f"sizes {sizes} are not 4, 5, ..., N")
    want = sorted((n, i, j) for n in sizes for j in range(3, n) for i in range(2, j))
    have = sorted((int(p["n"]), int(p["i"]), int(p["j"])) for p in cert["pairs"])
    if have != want:
        raise CertificateError(f"the pairs covered are not every 2 <= i < j <= n - 1 for n in {sizes}")
    total = {"o": 0, "1": 0, "2": 0}
    boxes = 0
    for p in cert["pairs"]:
        c = check_pair(p)
        boxes += c["boxes"]
        for k in total:
            total[k] += c[k]
    leaves = {"outside": total["o"], "I1": total["1"], "I2": total["2"]}
    return CheckReport(True, sizes, len(want), boxes, leaves)
