"""Every bad input gets a ValueError / TypeError that names the problem (specification §1, §3, §4)."""

import math

import numpy as np
import pytest

from ees_theory import spec
from ees_theory.reference import dynatemp_temperature, edt_temperature, ees, entropy, from_probs

NAN, INF = math.nan, math.inf


@pytest.mark.parametrize(
    "logits, message",
    [
        ([1.0, NAN], "NaN at position 1"),
        ([INF, 1.0], r"\+inf at position 0"),
        ([], "empty"),
        ([-INF, -INF], "no finite logit"),
        (np.zeros((0,)), "empty"),
    ],
)
def test_bad_logits(logits, message):
    for fn in (ees, entropy, lambda z: edt_temperature(z, 1.0, 1.0), lambda z: dynatemp_temperature(z, 1.0, 0.5, 1.0)):
        with pytest.raises(ValueError, match=message):
            fn(logits)


def test_rows_are_named_in_batches():
    with pytest.raises(ValueError, match=r"NaN in row 1 at position 2"):
        spec.as_logits([[0.0, 1.0, 2.0], [0.0, 1.0, NAN]])
    with pytest.raises(ValueError, match=r"row 0 has no finite logit"):
        spec.as_logits([[-INF, -INF], [0.0, 1.0]])


def test_reference_takes_one_row():
    with pytest.raises(ValueError, match="one row"):
        ees([[0.0, 1.0], [1.0, 0.0]])


@pytest.mark.parametrize("tau", [0.0, -1.0, NAN, INF, -INF])
def test_bad_temperature(tau):
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        ees([1.0, 0.0], temperature=tau)
    with pytest.raises(ValueError, match="temperature"):
        entropy([1.0, 0.0], temperature=tau)


def test_bad_types():
    with pytest.raises(TypeError, match="temperature must be a real number"):
        ees([1.0, 0.0], temperature="1")
    with pytest.raises(TypeError, match="string"):
        ees("1,2,3")
    with pytest.raises(TypeError, match="complex|real floating"):
        ees(np.array([1 + 1j, 0]))
    with pytest.raises(TypeError, match="boolean"):
        ees(np.array([True, False]))
    with pytest.raises(ValueError, match="is not a number"):
        ees(["1.0", "x"])


def test_bad_ees_options():
    with pytest.raises(ValueError, match="rule must be one of"):
        ees([1.0, 0.0], rule="first")
    with pytest.raises(ValueError, match="min_tokens_to_keep must be >= 1"):
        ees([1.0, 0.0], min_tokens_to_keep=0)
    with pytest.raises(TypeError, match="min_tokens_to_keep must be an int"):
        ees([1.0, 0.0], min_tokens_to_keep=1.5)


@pytest.mark.parametrize(
    "probs, message",
    [
        ([0.5, -0.1, 0.6], "negative value"),
        ([0.5, 0.6], "sum to 1.1"),
        ([0.5, 0.4], "sum to 0.9"),
        ([0.5, NAN], "non-finite"),
        ([0.0, 0.0], "sum to 0"),
        ([], "empty"),
    ],
)
def test_bad_probs(probs, message):
    with pytest.raises(ValueError, match=message):
        from_probs(probs)


def test_probs_tolerance_is_stated_and_adjustable():
    p = [0.5, 0.5 + 1e-9]
    with pytest.raises(ValueError, match=r"\|sum - 1\| > 1e-12"):
        from_probs(p)
    # accepted with a wider tolerance and used exactly as given: not uniform, so f(2) < 0, keep 1
    assert ees(from_probs(p, sum_tolerance=1e-8)).kept == (1,)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(T0=1.0, theta=1.0, N=1.0), "N must lie strictly between 0 and 1"),
        (dict(T0=1.0, theta=1.0, N=0.0), "N must lie strictly between 0 and 1"),
        (dict(T0=1.0, theta=1.0, N=-0.5), "N must lie strictly between 0 and 1"),
        (dict(T0=0.0, theta=1.0), "T0 must be > 0"),
        (dict(T0=-1.0, theta=1.0), "T0 must be > 0"),
        (dict(T0=1.0, theta=-0.1), "theta must be >= 0"),
        (dict(T0=NAN, theta=1.0), "T0 must be finite"),
        (dict(T0=1.0, theta=INF), "theta must be finite"),
        (dict(T0=1.0, theta=1.0, entropy_of="bits"), "entropy_of must be"),
    ],
)
def test_bad_edt_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        edt_temperature([1.0, 0.0], **kwargs)


def test_bad_dynatemp_parameters():
    with pytest.raises(ValueError, match="negative exponent is undefined at entropy 0"):
        dynatemp_temperature([1.0, -INF], temp=1.0, delta=0.5, exponent=-1.0)
    for kw in (dict(temp=NAN, delta=0.5, exponent=1.0), dict(temp=1.0, delta=INF, exponent=1.0), dict(temp=1.0, delta=0.5, exponent=NAN)):
        with pytest.raises(ValueError, match="must be finite"):
            dynatemp_temperature([1.0, 0.0], **kw)
    # a negative exponent is fine while H > 0
    assert dynatemp_temperature([1.0, 0.0], temp=1.0, delta=0.5, exponent=-1.0) > 0
