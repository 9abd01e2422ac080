"""A draws port whose import hangs (for the import time limit)."""

import time

time.sleep(60)


def port(z, temperature, draws, seed, **params):  # pragma: no cover - never reached
    return [0] * draws
