"""EES ports that misbehave on chosen rows only: the row's vocabulary size picks the
misbehaviour, so one run meets all of them and the other rows (the correct answer of
:mod:`tests.ports.numpy_port`) show that the run went on.

>>> import numpy as np
>>> ees = ees_by_size({3: lambda logits, temperature: "wrong"})
>>> ees(np.array([1.0, 0.0]), 1.0).tolist(), ees(np.zeros(3), 1.0)
([True, False], 'wrong')
"""

from tests.ports.numpy_port import ees as correct_ees


def ees_by_size(actions):
    """An EES port answering a row of size ``v`` with ``actions[v](logits, temperature)``."""

    def ees(logits, temperature):
        act = actions.get(logits.shape[-1])
        return correct_ees(logits, temperature) if act is None else act(logits, temperature)

    return ees
