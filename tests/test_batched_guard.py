"""A port's batched form is used only when it answers each row: both in-process ports (kept sets
and temperatures, ``running.ports``; token draws, ``running.draws``) fall back to calling the
one-row form on every row when the batched call answers the wrong number of rows, writes to its
input or raises, so each row's fault is its own."""

from __future__ import annotations

import numpy as np
import pytest

from ees_theory.running.draws import InProcessDrawsPort
from ees_theory.running.ports import InProcessPort, batchable, try_batched

ROWS = [np.array([2.0, 1.0, 0.0]), np.array([0.0, 3.0, 1.0]), np.array([1.0, 1.0, -1.0])]
#: the top token of each row above (what an argmax port answers)
TOP = [0, 1, 0]


def _short(stacked, *a, **k):
    return np.zeros((len(stacked) - 1,) + stacked.shape[1:])


def _writes(stacked, *a, **k):
    stacked[:, 0] = 0.0
    return stacked.copy()


def _raises(stacked, *a, **k):
    raise RuntimeError("no batch")


def test_the_guard_keeps_one_answer_per_row():
    split = lambda raw, stacked: list(raw)  # noqa: E731
    values, per_row = try_batched(lambda a: -a, ROWS, split, None)
    assert [v.tolist() for v in values] == [[-2.0, -1.0, -0.0], [-0.0, -3.0, -1.0], [-1.0, -1.0, 1.0]] and per_row >= 0
    for bad in (_short, _writes, _raises):
        assert try_batched(bad, ROWS, split, None) is None, bad.__name__
    # a split answer longer than the batch is no answer per row either
    assert try_batched(lambda a: np.concatenate([a, a]), ROWS, split, None) is None


def test_only_several_rows_of_one_shape_are_batched():
    assert batchable(_short, ROWS)
    assert not batchable(None, ROWS)
    assert not batchable(_short, ROWS[:1])
    assert not batchable(_short, [ROWS[0], np.zeros(4)])


@pytest.mark.parametrize("bad", [_short, _writes, _raises])
def test_kept_set_port_falls_back_row_by_row(bad):
    calls = []

    def one(z, t):
        calls.append(z.copy())
        return z == z.max()

    port = InProcessPort(one, "argmax", batched=bad)
    out = port.run("ees", [r.copy() for r in ROWS], [{"temperature": 1.0}] * 3)
    assert len(calls) == 3 and [o.fault for o in out] == [None] * 3
    assert [int(np.flatnonzero(o.value)[0]) for o in out] == TOP


@pytest.mark.parametrize("bad", [_short, _writes, _raises])
def test_draws_port_falls_back_row_by_row(bad):
    calls = []

    def one(z, t, n, seed, **params):
        calls.append(seed)
        return np.full(n, int(np.argmax(z)), dtype=np.int64)

    port = InProcessDrawsPort(one, "argmax", batched=bad)
    out = port.draw("top-k", [r.copy() for r in ROWS], [{"temperature": 1.0, "k": 1, "min_tokens_to_keep": 1}] * 3, 4, [7, 8, 9])
    assert calls == [7, 8, 9] and [o.fault for o in out] == [None] * 3
    assert [o.value.tolist() for o in out] == [[t] * 4 for t in TOP]


def test_draws_answer_of_the_wrong_width_is_not_used():
    calls = []

    def one(z, t, n, seed, **params):
        calls.append(seed)
        return np.full(n, int(np.argmax(z)), dtype=np.int64)

    def narrow(stacked, t, n, seeds, **params):  # one draw too few on every row
        return np.zeros((len(stacked), n - 1), dtype=np.int64)

    out = InProcessDrawsPort(one, "argmax", batched=narrow).draw("top-k", ROWS, [{"temperature": 1.0, "k": 1, "min_tokens_to_keep": 1}] * 3,
                                                                 4, [7, 8, 9])
    assert calls == [7, 8, 9] and [o.value.tolist() for o in out] == [[t] * 4 for t in TOP]
