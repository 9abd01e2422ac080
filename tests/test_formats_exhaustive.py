"""Exhaustive tests of the one fp16/bf16 rounding and exactness check (``ees_theory.spec.formats``).

Every one of the 65,536 bit patterns of each format is visited: each finite value must round to
itself and count as exact; each midpoint between neighbours, and the float64 numbers on either
side of it, must round as an exact rounding written here with integers says, and must not count
as exact. The expected values never come from the code under test: they come from
:func:`round_exact` below (integer arithmetic on the exact binary value) and from torch's own
conversion.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ees_theory.spec.formats import cast, exact_in, round_to_dtype

torch = pytest.importorskip("torch")

#: (significand bits with the hidden one, least normal exponent, greatest exponent)
FORMATS = {"float16": (11, -14, 15), "bfloat16": (8, -126, 127), "float32": (24, -126, 127)}


def round_exact(x: float, fmt: str) -> float:
    """``x`` rounded to nearest, ties to even, into ``fmt``, by integer arithmetic on its exact value."""
    p, emin, emax = FORMATS[fmt]
    if not math.isfinite(x) or x == 0:
        return x
    sign = -1.0 if x < 0 else 1.0
    num, den = abs(x).as_integer_ratio()  # den is a power of two
    # e = floor(log2 |x|), the exponent of the leading bit; below the normal range the ulp is fixed
    e = num.bit_length() - den.bit_length()
    if num << max(0, -e) < den << max(0, e):
        e -= 1
    e = max(e, emin)
    shift = e - p + 1  # ulp = 2**shift
    # m = |x| / ulp as a fraction scaled_num / scaled_den
    scaled_num = num * (2 ** max(0, -shift))
    scaled_den = den * (2 ** max(0, shift))
    q, r = divmod(scaled_num, scaled_den)
    if 2 * r > scaled_den or (2 * r == scaled_den and q % 2 == 1):
        q += 1
    value = q * 2.0**shift if shift >= -1074 else float(q * 2**shift)
    if value >= 2.0 ** (emax + 1):
        return sign * math.inf
    return sign * value


def _patterns(fmt: str) -> np.ndarray:
    """The 65,536 values of ``fmt`` (NaNs included) as float64."""
    bits = np.arange(65536, dtype=np.uint32)
    if fmt == "float16":
        return bits.astype(np.uint16).view(np.float16).astype(np.float64)
    return (bits << 16).astype(np.uint32).view(np.float32).astype(np.float64)


def _probe_points(fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """(the finite values, midpoints of neighbours and their float64 neighbours, overflow included)."""
    v = _patterns(fmt)
    finite = np.unique(v[np.isfinite(v)])  # -0.0 and +0.0 collapse: midpoints are the same
    p, _, emax = FORMATS[fmt]
    top = np.array([2.0 ** (emax + 1)])  # the first power of two past the largest finite value
    edges = np.concatenate([-top[::-1], finite, top])
    mids = (edges[:-1] + edges[1:]) / 2  # exact in float64: these formats have few bits
    probes = np.concatenate([mids, np.nextafter(mids, -np.inf), np.nextafter(mids, np.inf)])
    return finite, probes


def _torch_round(values: np.ndarray, fmt: str) -> np.ndarray:
    dt = torch.float16 if fmt == "float16" else torch.bfloat16
    return torch.from_numpy(values).to(dt).to(torch.float64).numpy()


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise equality of float64 values, the sign of zero included, NaN equal to NaN."""
    return (a.view(np.uint64) == b.view(np.uint64)) | (np.isnan(a) & np.isnan(b))


@pytest.mark.parametrize("fmt", ["float16", "bfloat16"])
def test_every_pattern_rounds_to_itself_and_is_exact(fmt):
    v = _patterns(fmt)
    got = round_to_dtype(v, fmt)
    assert np.all(_same(got, v)), "a value of the format changed when rounded into it"
    flags = [exact_in([x], fmt) for x in v]
    finite = ~np.isnan(v)
    assert all(flags[i] for i in np.flatnonzero(finite))
    assert not any(flags[i] for i in np.flatnonzero(~finite))  # NaN != NaN: never "exact"
    assert int(finite.sum()) == {"float16": 63490, "bfloat16": 65282}[fmt]  # all but the NaNs


def test_float16_rounds_once_and_correctly():
    finite, probes = _probe_points("float16")
    assert len(probes) == 3 * (len(finite) + 1)
    expected = np.array([round_exact(x, "float16") for x in probes])
    got = round_to_dtype(probes, "float16")
    bad = np.flatnonzero(got != expected)
    assert len(bad) == 0, f"{len(bad)} of {len(probes)} points, first {probes[bad[:3]]}"
    assert not any(exact_in([x], "float16") for x in probes)  # none of them is a float16 value


def test_bfloat16_is_the_double_rounding_through_float32():
    finite, probes = _probe_points("bfloat16")
    double = np.array([round_exact(round_exact(x, "float32"), "bfloat16") for x in probes])
    single = np.array([round_exact(x, "bfloat16") for x in probes])
    got = round_to_dtype(probes, "bfloat16")
    bad = np.flatnonzero(got != double)
    assert len(bad) == 0, f"{len(bad)} of {len(probes)} points, first {probes[bad[:3]]}"
    # the double rounding is no detail: one float64 ulp off a tie, float32 lands on the tie and the
    # tie goes to even, where one correct rounding would go the other way
    differ = double != single
    n_mid = len(probes) // 3
    assert differ[n_mid:].sum() > 0 and not differ[:n_mid].any()
    assert not any(exact_in([x], "bfloat16") for x in probes)  # none of them is a bfloat16 value


@pytest.mark.parametrize("fmt", ["float16", "bfloat16"])
def test_torch_conversion_from_float64(fmt):
    """torch (CPU) converts float64 to bf16 and to fp16 through float32, a double rounding: that is
    our bf16 rounding everywhere; for fp16 ours is the single correct rounding (numpy's), and the
    two differ exactly where the double rounding does, nowhere else."""
    _, probes = _probe_points(fmt)
    points = np.concatenate([_patterns(fmt), probes])
    theirs = _torch_round(points, fmt)
    ours = round_to_dtype(points, fmt)
    nan = np.isnan(points)
    assert np.all(np.isnan(theirs[nan])) and np.all(np.isnan(ours[nan]))
    pts, theirs, ours = points[~nan], theirs[~nan], ours[~nan]
    double = np.array([round_exact(round_exact(x, "float32"), fmt) for x in pts])
    assert np.array_equal(theirs, double)
    if fmt == "bfloat16":
        assert np.all(_same(ours, theirs))  # the sign of zero included
        return
    single = np.array([round_exact(x, "float16") for x in pts])
    differ = ours != theirs
    assert np.array_equal(differ, single != double)
    # where they differ: only ever one float64 ulp off a tie, on the side away from the even neighbour
    n_mid = len(probes) // 3
    neighbours = set(probes[n_mid:].tolist())
    assert int(differ.sum()) > 0 and set(pts[differ].tolist()) <= neighbours


def test_cast_types_and_overflow():
    assert cast([1.0], "bfloat16").dtype == np.float32 and cast([1.0], "float16").dtype == np.float16
    assert round_to_dtype([65520.0, 65519.99], "float16").tolist() == [math.inf, 65504.0]
    big = (2 - 2.0**-7) * 2.0**127  # the largest bfloat16 value
    assert round_to_dtype([big, -big * (1 + 2.0**-8), -big * (1 + 2.0**-10)], "bfloat16").tolist() == [big, -math.inf, -big]
