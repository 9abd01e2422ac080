"""Ports that misbehave in the ways the harness must survive, each on chosen rows only.

The row's vocabulary size picks the misbehaviour, so one run meets all of them and the other
rows show that the run went on: 3 raises, 4 returns the wrong shape, 5 returns a float mask,
6 kills its own process, 7 hangs, 9 mutates its input; any other size gets the correct answer.

>>> import numpy as np
>>> ees(np.array([1.0, 0.0]), 1.0).tolist()
[True, False]
"""

import os
import time

import numpy as np

from tests.ports.numpy_port import ees as correct_ees


def ees(logits, temperature):
    v = logits.shape[-1]
    if v == 3:
        raise RuntimeError("port failure on purpose")
    if v == 4:
        return np.ones(v + 1, dtype=bool)
    if v == 5:
        return correct_ees(logits, temperature).astype(np.float32)
    if v == 6:
        os._exit(7)
    if v == 7:
        time.sleep(3600)
    if v == 9:
        logits -= logits.max()
    return correct_ees(logits, temperature)


def edt(logits, T0, theta, N):
    if logits.shape[-1] == 3:
        return float("nan")
    return "0.5"
