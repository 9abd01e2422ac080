"""A Python port that misbehaves during calls, chosen by the row's vocabulary size: 3 calls
``sys.exit(0)``, 4 raises ``KeyboardInterrupt``, 5 starts a child process that would outlive it
(its pid goes to the file named by ``EES_CHILD_PID_FILE``) and hangs; other sizes get the
correct answer.

>>> import numpy as np
>>> ees(np.array([1.0, 0.0]), 1.0).tolist()
[True, False]
"""

import os
import subprocess
import sys
import time

from tests.ports.numpy_port import ees as correct_ees


def ees(logits, temperature):
    v = logits.shape[-1]
    if v == 3:
        sys.exit(0)
    if v == 4:
        raise KeyboardInterrupt("from the port")
    if v == 5:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        with open(os.environ["EES_CHILD_PID_FILE"], "w") as fh:
            fh.write(str(child.pid))
        time.sleep(3600)
    return correct_ees(logits, temperature)
