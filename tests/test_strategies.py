"""The public hypothesis strategies draw what they promise."""

import numpy as np
import pytest
from hypothesis import given

from ees_theory.families import distributions as dist
from ees_theory.families import strategies as ets


@given(ets.logits(min_vocab=2, max_vocab=30))
def test_logits_rows(z):
    assert z.dtype == np.float64 and 2 <= z.shape[0] <= 30
    assert np.isfinite(z).any() and not np.isnan(z).any()


@given(ets.raw_logits(2, 20))
def test_raw_logits_dense_by_default(z):
    assert len(set(z.tolist())) == len(z)


@given(ets.raw_logits(2, 20, masked=True, ties=True))
def test_raw_logits_masked(z):
    assert np.isfinite(z).any()


@given(ets.logits(min_vocab=4, max_vocab=8, families=["tied_top"], dtype="float16"))
def test_named_family_and_dtype(z):
    assert np.array_equal(z.astype(np.float16).astype(np.float64), z)
    s = np.sort(z)[::-1]
    assert s[0] == s[1]  # a tie at the top, asked for


@given(ets.temperatures(0.1, 10.0))
def test_temperatures(t):
    assert 0.1 <= t <= 10.0


@given(ets.edt_params(), ets.dynatemp_params())
def test_parameter_domains(edt, dyn):
    T0, theta, N = edt
    assert T0 > 0 and theta >= 0 and 0 < N < 1
    assert dyn[1] > 0 and dyn[2] >= 0


def test_dense_default_excludes_tie_families():
    assert "uniform" not in ets.DENSE_FAMILIES and "tied_top" not in ets.DENSE_FAMILIES
    assert set(ets.DENSE_FAMILIES) < set(dist.FAMILY_NAMES)


def test_bad_arguments():
    with pytest.raises(ValueError):
        ets.raw_logits(5, 2)
    with pytest.raises(ValueError, match="unknown family"):
        ets.families(["nope"])
    with pytest.raises(ValueError):
        ets.temperatures(0.0, 1.0)
