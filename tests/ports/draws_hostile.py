"""Hostile and misbehaving draws ports for the draws pipeline's robustness tests.

Each is ``fn(logits, temperature, draws, seed, **params)``. Run as a script it is a JSON Lines
draws port (``exec:``) whose answers hold a token id past int64.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np


def top1(z, temperature, draws, seed, **params):
    """Correct for top-k with k = 1 on a row with a unique maximum: every draw is the argmax."""
    return np.full(draws, int(np.argmax(z)), dtype=np.int64)


def exits(z, temperature, draws, seed, **params):
    os._exit(0)  # ends its process with status 0, no exception, no output


def patches_judge(z, temperature, draws, seed, **params):
    """Blinds the judge of the process it runs in, then draws only the least likely token."""
    import ees_theory.judging.draws as judge
    from ees_theory.judging import gof

    judge._certain = lambda *a, **k: None
    judge.judge_draws = lambda *a, **k: judge.DrawVerdict("tested", pvalue=1.0)
    gof.holm = lambda pvalues, alpha: [False] * len(pvalues)
    return np.full(draws, int(np.argmin(z)), dtype=np.int64)


def sleeps(z, temperature, draws, seed, **params):
    time.sleep(float(os.environ.get("EES_TEST_SLEEP", "5")))
    return top1(z, temperature, draws, seed)


def interrupts(z, temperature, draws, seed, **params):
    raise KeyboardInterrupt("raised by the port")


def huge_id(z, temperature, draws, seed, **params):
    return [2 ** 64] * draws


def marks(z, temperature, draws, seed, **params):
    """Leaves a file behind (named by EES_TEST_MARKER) when called, to show a port was run."""
    with open(os.environ["EES_TEST_MARKER"], "w") as fh:
        fh.write(str(draws))
    return top1(z, temperature, draws, seed)


def _serve_huge_ids() -> None:
    for line in sys.stdin:
        req = json.loads(line)
        sys.stdout.write(json.dumps({"id": req["id"], "tokens": [2 ** 64] * int(req["draws"])}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve_huge_ids()
