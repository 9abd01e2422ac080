"""Ports for the bad-input tests: one that ends its process with ``os._exit(0)`` in a call, one
that keeps every candidate, and one that leaves children behind (one started in a new session,
one from a double fork whose middle process exits at once), marked by ``sleep``'s argument
``SLEEP_MARK`` so that a test can count the survivors."""

import os
import subprocess
import sys

import numpy as np

SLEEP_MARK = "4071.5"


def exit0(logits, temperature):
    os._exit(0)


def keep_all(logits, temperature):
    return np.isfinite(logits)


def spawner(logits, temperature):
    subprocess.Popen(["sleep", SLEEP_MARK], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.Popen([sys.executable, "-c", f"import subprocess; subprocess.Popen(['sleep', '{SLEEP_MARK}'], start_new_session=True)"]).wait()
    mask = np.zeros(logits.shape, dtype=bool)
    mask[int(np.argmax(logits))] = True
    return mask
