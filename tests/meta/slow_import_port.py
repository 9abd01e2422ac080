"""A port whose import takes a while (as ``import torch`` does on a loaded machine): 1.5 s."""

import time

import numpy as np

time.sleep(1.5)


def ees(logits, temperature):
    mask = np.zeros(logits.shape, dtype=bool)
    mask[int(np.argmax(logits))] = True
    return mask
