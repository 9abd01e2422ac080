"""Quadratic ("smoothing") sampling as a conformance method: ``--method quadratic``.

A port takes one row, the smoothing factor ``f`` and the smoothing curve ``c`` and returns the
transformed logits ``m - k f d^2 + s f d^3`` (:mod:`ees_theory.core.quadratic`; specification §7):
``fn(logits, smoothing_factor, smoothing_curve) -> array of V floats``. It is judged as
``temperature`` is (:mod:`.scaling`): sampling sees only ``softmax`` of the answer, so every
``out_i - out_j`` (``j`` the first largest finite logit, which the transform leaves at ``m``) must
equal the exact ``-k f d_i^2 + s f d_i^3`` (a rational: binary floats and their products, compared
with ``fractions.Fraction``) within 16 units of the dtype's roundoff on each of its two terms,
4 on the values themselves and the dtype's smallest normal number. Masked tokens stay ``-inf``;
a transformed logit beyond the dtype's range may be an infinity of the right sign.

>>> v = judge_quadratic(np.array([3.0, 1.0, -np.inf]), 0.5, 1.0, np.array([3.0, 1.0, -np.inf]), "float32")
>>> str(v.status)
'pass'
>>> v = judge_quadratic(np.array([3.0, 1.0, 0.0]), 0.5, 3.0, np.array([3.0, 1.0, -1.5]), "float32")
>>> str(v.status), v.fault     # k = 0, s = 1: 3 + 0.5 d^3 = (3, 2, -10.5); the answer is the plain quadratic
('fail', 'curve-ignored')
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from .. import tolerances
from ..core import quadratic
from ..spec.methods import TRANSFORMS, check_transform_params
from .methods import Options, Verdict, register_method
from .outcomes import Status
from .scaling import Scaling, shift_errors

__all__ = ["Quadratic", "judge_quadratic", "quadratic_reference"]

_SPEC = TRANSFORMS["quadratic"]


def quadratic_reference(row: np.ndarray, smoothing_factor: float, smoothing_curve: float) -> list[Fraction | None]:
    """The exact transformed logits (``None`` for a masked token).

    >>> quadratic_reference(np.array([1.0, -1.0, -np.inf]), 0.25, 1.0)
    [Fraction(1, 1), Fraction(0, 1), None]
    """
    prm = check_transform_params("quadratic", {"smoothing_factor": smoothing_factor, "smoothing_curve": smoothing_curve})
    z = np.asarray(row, dtype=np.float64)
    if z.ndim != 1 or z.size == 0:
        raise ValueError(f"a row is a non-empty 1-D array, got shape {z.shape}")
    if np.isnan(z).any() or np.isposinf(z).any():
        raise ValueError("logits must not contain NaN or +inf")
    finite = np.isfinite(z)
    if not finite.any():
        raise ValueError("logits has no finite logit (every token is masked)")
    m = Fraction(float(z[finite].max()))
    f, c = Fraction(prm["smoothing_factor"]), Fraction(prm["smoothing_curve"])
    return [quadratic.logits(Fraction(float(x)), m, f, c) if math.isfinite(x) else None for x in z]


def _terms(d: Fraction, f: float, c: float) -> Fraction:
    """``|k f d^2| + |s f d^3|``: what a float evaluation's relative error applies to."""
    if f == 0:  # off: the logits themselves
        return Fraction(0)
    kf, sf = quadratic.coefficients(Fraction(f), Fraction(c))
    return abs(kf * d * d) + abs(sf * d * d * d)


def _diagnose(z: np.ndarray, f: float, c: float, value: np.ndarray, finite: np.ndarray) -> str | None:
    """A known misreading that reproduces the answer (up to a shift), or None."""
    zf, vf = z[finite], value[finite]
    if zf.size < 2 or np.all(zf == zf[0]):
        return None
    if f == 0:  # off, the row unchanged; the formula itself would give every token m
        return "zero-factor-applied" if np.all(vf == vf[0]) else None
    d = zf - zf.max()
    k, s = (3 - c) / 2, (c - 1) / 2
    for fault, expect in (("factor-ignored", d), ("curve-ignored", -f * d * d), ("curve-sign-flipped", -k * f * d * d - s * f * d**3)):
        got = vf - vf[int(np.argmax(zf))]
        if np.allclose(got, expect, rtol=1e-3, atol=1e-3) and not np.allclose(expect, quadratic.transform(d, 0.0, f, c), rtol=1e-3, atol=1e-3):
            return fault
    return None


def judge_quadratic(row: np.ndarray, smoothing_factor: float, smoothing_curve: float, value: np.ndarray, dtype: str, ref: list | None = None) -> Verdict:
    """Judge transformed logits ``value`` for ``row`` (see the module docstring)."""
    ref = quadratic_reference(row, smoothing_factor, smoothing_curve) if ref is None else ref
    z = np.asarray(row, dtype=np.float64)
    v = np.asarray(value, dtype=np.float64)
    u = Fraction(tolerances.UNIT_ROUNDOFF[dtype])
    tiny = Fraction(tolerances.SMALLEST_NORMAL[dtype])
    finite = np.isfinite(z)
    masked_kept = np.flatnonzero(~finite & (v != -np.inf))
    j = int(np.flatnonzero(finite)[np.argmax(z[finite])])
    if not masked_kept.size and not math.isfinite(v[j]):
        return Verdict(Status.FAILED, f"token {j}, the largest logit, came back {v[j]!r} (the transform leaves it at {float(ref[j])!r})",
                       "wrong-transformed-logit", severity=math.inf)

    def nonfinite(i: int, q: Fraction) -> Verdict:
        return Verdict(Status.FAILED, f"token {i}: transformed logit {v[i]!r} where the exact value is {float(q)!r}",
                       "wrong-transformed-logit", severity=math.inf, details={"token": i, "expected": float(q), "got": float(v[i])})

    def allowed(i: int, q: Fraction, qj: Fraction) -> Fraction:
        d = Fraction(float(z[i])) - Fraction(float(z[j]))
        return 16 * u * _terms(d, smoothing_factor, smoothing_curve) + 4 * u * (abs(q) + abs(qj)) + 2 * tiny

    out = shift_errors(z, v, ref, dtype, j, allowed, nonfinite)
    if isinstance(out, Verdict):
        return out
    worst, worst_i = out
    details = {"worst_token": worst_i}
    if worst <= 1.0:
        return Verdict(Status.PASSED, "", severity=worst, details=details)
    i = worst_i
    fault = _diagnose(z, float(smoothing_factor), float(smoothing_curve), v, finite) or "wrong-transformed-logit"
    words = {
        "factor-ignored": "the logits came back untransformed",
        "zero-factor-applied": "the formula applied at f = 0, which sends every logit to m; f = 0 is off (the row unchanged)",
        "curve-ignored": "the plain quadratic m - f d^2 (the smoothing curve ignored)",
        "curve-sign-flipped": "the cubic term with the wrong sign (s = (1 - c) / 2)",
        "wrong-transformed-logit": "no known misreading reproduces the answer",
    }[fault]
    exact = float(ref[i] - ref[j])
    details.update(expected_shifted=exact, got_shifted=float(v[i] - v[j]))
    return Verdict(
        Status.FAILED,
        f"token {i}: transformed logit minus the top one's is {float(v[i] - v[j])!r}, exact {exact!r} (f = {smoothing_factor!r}, "
        f"c = {smoothing_curve!r}), {worst:.3g} x the {dtype} tolerance. Diagnosis: {fault}: {words}",
        fault,
        severity=worst,
        details=details,
    )


class Quadratic(Scaling):
    """``quadratic``: the port returns the transformed logits (answers read as for ``temperature``)."""

    name = "quadratic"
    temperature_param = ""  # no temperature: generated cases are not drawn cold
    policies = _SPEC.policies

    def call(self, fn, row, params):
        # positional, in the record's order; a parameter the port lacks (--unsupported) is not passed
        return fn(row, *(params[p] for p in self.params if p in params))

    def call_batched(self, fn, rows, params):
        return fn(rows, *(np.array([q[p] for q in params], dtype=np.float64) for p in self.params if p in params[0]))

    def reference(self, row: np.ndarray, params: dict, options: Options) -> list:
        return quadratic_reference(row, params["smoothing_factor"], params["smoothing_curve"])

    def judge(self, row, params, ref, value, dtype, options) -> Verdict:
        return judge_quadratic(row, params["smoothing_factor"], params["smoothing_curve"], value, dtype, ref)


register_method(Quadratic())
