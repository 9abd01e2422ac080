"""The distribution families: contract (shape, dtype, finite entry, seeding) and each family's shape."""

import math

import numpy as np
import pytest

from ees_theory.families import distributions as dist


@pytest.mark.parametrize("family", dist.FAMILY_NAMES)
@pytest.mark.parametrize("vocab", [1, 2, 3, 57, 4096])
def test_contract(family, vocab):
    z = dist.sample(family, np.random.default_rng(7), vocab)
    assert z.shape == (vocab,) and z.dtype == np.float64
    assert np.isfinite(z).any()
    assert not np.isnan(z).any() and not np.isposinf(z).any()
    again = dist.sample(family, np.random.default_rng(7), vocab)
    assert np.array_equal(z, again)  # seeded: same generator state, same row


@pytest.mark.parametrize("family", ["normal", "head_tail", "masked"])
def test_largest_vocabulary(family):
    z = dist.sample(family, np.random.default_rng(0), dist.MAX_VOCAB)
    assert z.shape == (262_144,) and np.isfinite(z).any()


def test_describe_and_names():
    assert len(set(dist.FAMILY_NAMES)) == len(dist.FAMILY_NAMES) == 13
    for name in dist.FAMILY_NAMES:
        assert dist.describe(name).startswith(name + ": ")
    assert "Family('peaked'" in repr(dist.FAMILIES["peaked"])


def test_bad_inputs():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="unknown family"):
        dist.sample("gaussian", rng, 4)
    with pytest.raises(ValueError, match="vocab must lie"):
        dist.sample("normal", rng, 0)
    with pytest.raises(ValueError, match="vocab must lie"):
        dist.sample("normal", rng, dist.MAX_VOCAB + 1)
    with pytest.raises(TypeError, match="rng must be"):
        dist.sample("normal", 3, 4)
    with pytest.raises(ValueError, match="dtype must be"):
        dist.sample("normal", rng, 4, dtype="int8")
    with pytest.raises(TypeError, match="family 'zipf'"):
        dist.sample("zipf", rng, 4, nonsense=1)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_dtype_rounding_is_exact_in_that_format(dtype):
    z = dist.sample("normal", np.random.default_rng(3), 200, dtype=dtype)
    assert np.array_equal(z.astype(dtype).astype(np.float64), z)


def test_bfloat16_rounding_by_hand():
    # 1 + 2**-8 is the midpoint between 1 and 1 + 2**-7: ties to even gives 1;
    # 1 + 3 * 2**-8 is the midpoint between 1 + 2**-7 and 1 + 2**-6: ties to even gives 1 + 2**-6.
    got = dist.round_to_dtype(np.array([1 + 2.0**-8, 1 + 3 * 2.0**-8, 1 + 2.0**-7, -np.inf]), "bfloat16")
    assert got.tolist() == [1.0, 1 + 2.0**-6, 1 + 2.0**-7, -np.inf]


def test_uniform_peaked_and_zipf_shapes():
    rng = np.random.default_rng(1)
    assert np.all(dist.sample("uniform", rng, 9) == 0.0)
    z = np.sort(dist.sample("peaked", rng, 50, gap=20.0))[::-1]
    assert z[0] - z[1] >= 20.0
    zipf = dist.sample("zipf", rng, 4, exponent=2.0, shuffle=False)
    assert np.allclose(zipf, [0.0, -2 * math.log(2), -2 * math.log(3), -2 * math.log(4)], rtol=0, atol=1e-15)


def test_ties_and_near_ties():
    rng = np.random.default_rng(2)
    z = dist.sample("tied_top", rng, 10, ties=4)
    top = np.sort(z)[::-1]
    assert np.all(top[:4] == top[0]) and top[4] < top[0]
    nz = np.sort(dist.sample("near_tie", rng, 40))[::-1]
    assert np.any(np.nextafter(nz[:-1], -np.inf) == nz[1:])  # some neighbours exactly 1 ulp apart


def test_tied_boundary_splits_a_tie_block():
    # certified by the reference: the boundary falls inside a block of equal logits in most rows
    import ees_theory as et

    rng = np.random.default_rng(5)
    splits = 0
    for _ in range(20):
        r = et.reference.ees(dist.sample("tied_boundary", rng, int(rng.integers(3, 30))))
        assert r.certified
        splits += r.k < r.n and r.row.values[r.k - 1] == r.row.values[r.k]
    assert splits >= 10


def test_masked_wide_range_and_subnormal_tail():
    rng = np.random.default_rng(4)
    z = dist.sample("masked", rng, 100, share=0.5)
    assert 0 < np.isneginf(z).sum() < 100
    for d, bound in dist.UNDERFLOW_LOG.items():
        w = dist.sample("wide_range", rng, 50, underflow_dtype=d)
        assert w.max() - w.min() > abs(bound)  # exp of the spread underflows in that format
    t = dist.sample("fp16_subnormal", rng, 100, shuffle=False)
    p_ratio = np.exp(t[1:] - t[0])  # relative to the head: below fp16's smallest normal 2**-14
    assert np.all(p_ratio < 2.0**-14) and np.all(p_ratio > 2.0**-24)
