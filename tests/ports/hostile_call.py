"""A Python port that misbehaves during calls, chosen by the row's vocabulary size: 3 calls
``sys.exit(0)``, 4 raises ``KeyboardInterrupt``, 5 starts a child process that would outlive it
(its pid goes to the file named by ``EES_CHILD_PID_FILE``) and hangs; other sizes get the
correct answer.
"""

import os
import subprocess
import sys
import time

from tests.ports.by_size import ees_by_size


def _interrupt(logits, temperature):
    raise KeyboardInterrupt("from the port")


def _orphan(logits, temperature):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    with open(os.environ["EES_CHILD_PID_FILE"], "w") as fh:
        fh.write(str(child.pid))
    time.sleep(3600)


ees = ees_by_size({3: lambda logits, temperature: sys.exit(0), 4: _interrupt, 5: _orphan})
