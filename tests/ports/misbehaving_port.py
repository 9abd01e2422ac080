"""Ports that misbehave in the ways the harness must survive, each on chosen rows only.

The row's vocabulary size picks the misbehaviour, so one run meets all of them and the other
rows show that the run went on: 3 raises, 4 returns the wrong shape, 5 returns a float mask,
6 kills its own process, 7 hangs, 9 mutates its input; any other size gets the correct answer.
"""

import os
import time

import numpy as np

from tests.ports.by_size import correct_ees, ees_by_size


def _raise(logits, temperature):
    raise RuntimeError("port failure on purpose")


def _hang(logits, temperature):
    time.sleep(3600)


def _mutate(logits, temperature):
    logits -= logits.max()
    return correct_ees(logits, temperature)


ees = ees_by_size({
    3: _raise,
    4: lambda logits, temperature: np.ones(logits.shape[-1] + 1, dtype=bool),
    5: lambda logits, temperature: correct_ees(logits, temperature).astype(np.float32),
    6: lambda logits, temperature: os._exit(7),
    7: _hang,
    9: _mutate,
})


def edt(logits, T0, theta, N):
    if logits.shape[-1] == 3:
        return float("nan")
    return "0.5"
