"""The canonical order (weight descending, ties by id ascending) equals numpy's stable sort of
the negated weights, for rows dense in ties, signed zeros and masked entries, in every dtype."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ees_theory import spec


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 3), st.integers(1, 400)),
    dtype=st.sampled_from([np.float16, np.float32, np.float64]),
    grid=st.sampled_from([None, 1.0, 4.0]),
    masked=st.floats(0.0, 0.9),
)
def test_sorted_order_is_the_stable_descending_order(seed, shape, dtype, grid, masked):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) * 3
    if grid is not None:  # coarse values: long runs of ties
        x = np.round(x * grid) / grid
    x[rng.random(shape) < masked] = -np.inf
    x[rng.random(shape) < 0.1] = -0.0
    x = x.astype(dtype)
    for arr in (x, x[0]):
        assert np.array_equal(spec.sorted_order(arr), np.argsort(-arr, kind="stable"))


def test_sorted_order_probabilities_zeros_last():
    assert spec.sorted_order(np.array([0.0, 0.25, 0.5, 0.0, 0.25])).tolist() == [2, 1, 4, 0, 3]
