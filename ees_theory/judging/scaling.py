"""Plain temperature scaling as a conformance method: ``--method temperature``.

A port takes one row and a temperature and returns the scaled logits, as an engine's temperature
step does (transformers' ``TemperatureLogitsWarper``, llama.cpp's ``temp`` sampler):
``fn(logits, temperature) -> array of V floats``. Sampling sees only ``softmax`` of the answer,
so the answer is judged up to a common shift: with ``j`` the first largest finite logit, every
``out_i - out_j`` must equal ``(l_i - l_j) / T`` within ``temperature_rtol(dtype)`` relative on
each of the two scaled logits (plus the dtype's smallest normal number absolute, twice), and a
masked token (``-inf``) must stay ``-inf`` while a finite one stays finite. The exact values are
rationals (binary floats divided by a binary float), compared with ``fractions.Fraction``: every
decision is exact. A scaled logit beyond the dtype's range may be an infinity of the right sign.
``T <= 0`` (greedy in llama.cpp, an error in transformers) is outside the method's domain: the
reference refuses it and the case is skipped (counted).

>>> v = judge_scaled(np.array([2.0, 0.0, -np.inf]), 0.5, np.array([4.0, 0.0, -np.inf]), "float32")
>>> str(v.status)
'pass'
>>> v = judge_scaled(np.array([2.0, 0.0, -np.inf]), 0.5, np.array([2.0, 0.0, -np.inf]), "float32")
>>> str(v.status), v.fault
('fail', 'temperature-ignored')
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from .. import tolerances
from ..spec.formats import from_hex_list, hex_list
from .methods import Method, Options, OutputFault, Verdict, to_numpy, register_method
from .outcomes import Status

__all__ = ["Scaling", "judge_scaled", "scaled_reference"]


def scaled_reference(row: np.ndarray, temperature: float) -> list[Fraction | None]:
    """The exact scaled logits ``l_i / T`` (``None`` for a masked token).

    >>> scaled_reference(np.array([1.0, -np.inf]), 0.75)
    [Fraction(4, 3), None]
    >>> scaled_reference(np.array([1.0]), 0.0)
    Traceback (most recent call last):
    ...
    ValueError: temperature must be a finite number > 0 (T <= 0 is greedy or an error, by engine), got 0.0
    """
    t = float(temperature)
    if not math.isfinite(t) or t <= 0:
        raise ValueError(f"temperature must be a finite number > 0 (T <= 0 is greedy or an error, by engine), got {temperature!r}")
    z = np.asarray(row, dtype=np.float64)
    if z.ndim != 1 or z.size == 0:
        raise ValueError(f"a row is a non-empty 1-D array, got shape {z.shape}")
    if np.isnan(z).any() or np.isposinf(z).any():
        raise ValueError("logits must not contain NaN or +inf")
    T = Fraction(t)
    return [Fraction(float(x)) / T if math.isfinite(x) else None for x in z]


def _diagnose(z: np.ndarray, t: float, value: np.ndarray, finite: np.ndarray) -> str | None:
    """A known misreading that reproduces the answer exactly (up to a shift), or None."""
    zf, vf = z[finite], value[finite]
    if zf.size < 2 or np.all(zf == zf[0]):
        return None
    for fault, expect in (("temperature-ignored", zf), ("multiplied", zf * t), ("squared", zf / (t * t))):
        d = (vf - vf[0]) - (expect - expect[0])
        if np.allclose(d, 0.0, rtol=0, atol=1e-3 * max(1.0, float(np.abs(expect).max()))):
            return fault
    return None


def shift_errors(z: np.ndarray, v: np.ndarray, ref: list, dtype: str, j: int, allowed, nonfinite) -> "Verdict | tuple[float, int]":
    """The rule every logit transform is judged by, up to a common shift: a masked token must come
    back ``-inf``; a non-finite answer is right only where the exact value lies past the dtype's
    range, with its sign (else ``nonfinite(i, q)`` says why); otherwise ``v_i - v_j`` (``j`` the
    first largest logit) must be ``q_i - q_j`` within ``allowed(i, q_i, q_j)``. Returns a failing
    verdict, or the worst ratio of error to allowance and its token."""
    big = float(np.finfo(np.float32 if dtype == "bfloat16" else dtype).max)
    finite = np.isfinite(z)
    masked_kept = np.flatnonzero(~finite & (v != -np.inf))
    if masked_kept.size:
        i = int(masked_kept[0])
        return Verdict(Status.FAILED, f"token {i} is masked (-inf) but the answer gives it {v[i]!r}", "kept-masked", severity=math.inf)
    worst, worst_i = 0.0, -1
    for i in np.flatnonzero(finite):
        i = int(i)
        q = ref[i]
        if not math.isfinite(v[i]):
            if abs(q) > big and (v[i] > 0) == (q > 0):
                continue  # past the dtype's range: an infinity of the right sign is the rounded answer
            return nonfinite(i, q)
        if i == j or not math.isfinite(v[j]):
            continue
        err = abs((Fraction(float(v[i])) - Fraction(float(v[j]))) - (q - ref[j]))
        allow = allowed(i, q, ref[j])
        sev = float(err / allow) if allow else (0.0 if err == 0 else math.inf)
        if sev > worst:
            worst, worst_i = sev, i
    return worst, worst_i


def judge_scaled(row: np.ndarray, temperature: float, value: np.ndarray, dtype: str, ref: list | None = None) -> Verdict:
    """Judge scaled logits ``value`` for ``row`` at ``temperature`` (see the module docstring)."""
    ref = scaled_reference(row, temperature) if ref is None else ref
    z = np.asarray(row, dtype=np.float64)
    v = np.asarray(value, dtype=np.float64)
    rho = Fraction(tolerances.temperature_rtol(dtype))
    tiny = Fraction(tolerances.SMALLEST_NORMAL[dtype])
    finite = np.isfinite(z)

    def nonfinite(i: int, q: Fraction) -> Verdict:
        return Verdict(Status.FAILED, f"token {i}: scaled logit {v[i]!r} where the exact value is {float(q)!r} (logit {z[i]!r} / {temperature!r})",
                       "nan" if math.isnan(v[i]) else "wrong-scaled-logit", severity=math.inf,
                       details={"token": i, "expected": float(q), "got": float(v[i])})

    j = int(np.flatnonzero(finite)[np.argmax(z[finite])]) if finite.any() else -1
    out = shift_errors(z, v, ref, dtype, j, lambda i, q, qj: rho * (abs(q) + abs(qj)) + 2 * tiny, nonfinite)
    if isinstance(out, Verdict):
        return out
    worst, worst_i = out
    details = {"worst_token": worst_i, "rtol": float(rho)}
    if worst <= 1.0:
        return Verdict(Status.PASSED, "", severity=worst, details=details)
    i = worst_i
    expected = [float(q) - float(ref[j]) if q is not None else None for q in ref]
    fault = _diagnose(z, float(temperature), v, finite) or "wrong-scaled-logit"
    words = {
        "temperature-ignored": "the logits came back unscaled",
        "multiplied": "the logits were multiplied by T instead of divided",
        "squared": "the logits were divided by T twice",
        "wrong-scaled-logit": "no known misreading reproduces the answer",
    }[fault]
    details.update(expected_shifted=expected[i], got_shifted=float(v[i] - v[j]))
    return Verdict(
        Status.FAILED,
        f"token {i}: scaled logit minus the top one's is {float(v[i] - v[j])!r}, exact {expected[i]!r} "
        f"((logit {z[i]!r} - {z[j]!r}) / {temperature!r}), {worst:.3g} x the {dtype} tolerance. Diagnosis: {fault}: {words}",
        fault,
        severity=worst,
        details=details,
    )


class Scaling(Method):
    """``temperature``: the port returns the row's logits divided by the temperature."""

    name = "temperature"

    def normalize(self, raw: Any, vocab: int) -> np.ndarray:
        raw = to_numpy(raw)
        try:
            arr = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            raise OutputFault("bad-output", f"returned {type(raw).__name__}, expected {vocab} scaled logits") from None
        arr = arr.reshape(-1) if arr.ndim == 2 and arr.shape[0] == 1 else arr
        if arr.shape != (vocab,):
            raise OutputFault("bad-output", f"returned shape {arr.shape}, expected ({vocab},)")
        if np.isnan(arr).any():
            raise OutputFault("nan", f"returned NaN for token {int(np.flatnonzero(np.isnan(arr))[0])}")
        return arr

    def encode(self, value: np.ndarray) -> dict:
        return {"logits": hex_list(value)}

    def decode(self, obj: dict, vocab: int) -> np.ndarray:
        if "logits" not in obj:
            raise OutputFault("bad-output", "a temperature answer needs 'logits' (V hex floats)")
        try:
            return self.normalize(from_hex_list(obj["logits"]), vocab)
        except (TypeError, ValueError) as exc:
            raise OutputFault("bad-output", f"'logits': {exc}") from None

    def reference(self, row: np.ndarray, params: dict, options: Options) -> list:
        return scaled_reference(row, params["temperature"])

    def expected_json(self, ref: list) -> dict:
        return {"logits": ["-inf" if q is None else float(q).hex() for q in ref]}

    def judge(self, row, params, ref, value, dtype, options) -> Verdict:
        return judge_scaled(row, params["temperature"], value, dtype, ref)


register_method(Scaling())
