"""The correct numpy port, slowed down by ``SLOW_PORT_SECONDS`` per row (to interrupt a run).

>>> import numpy as np
>>> ees(np.array([2.0, 1.0, 0.0]), 1.0).tolist()
[True, False, False]
"""

import os
import time

from tests.ports.numpy_port import ees as _ees


def ees(logits, temperature):
    time.sleep(float(os.environ.get("SLOW_PORT_SECONDS", "0")))
    return _ees(logits, temperature)
