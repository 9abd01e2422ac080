"""A port whose import misbehaves as the environment variable ``EES_HOSTILE_IMPORT`` says:
``exit`` calls ``sys.exit(0)``, ``raise`` raises, ``hang`` sleeps for an hour; unset, it is the
correct numpy port (so collecting this module is harmless).

>>> import numpy as np
>>> ees(np.array([1.0, 0.0]), 1.0).tolist()
[True, False]
"""

import os
import sys
import time

from tests.ports.numpy_port import ees  # noqa: F401 - the port, when the import succeeds

_MODE = os.environ.get("EES_HOSTILE_IMPORT", "")
if _MODE == "exit":
    sys.exit(0)
elif _MODE == "raise":
    raise RuntimeError("import failure on purpose")
elif _MODE == "hang":
    time.sleep(3600)
