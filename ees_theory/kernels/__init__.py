"""Batched float kernels (torch) for EES, EDT and llama.cpp dynatemp.

Device-agnostic (CPU/CUDA), float64/float32/float16/bfloat16, any leading batch dims, no Python
loop over the vocabulary or the batch. Each function takes ``accumulate="input"`` (every step in
the logits' dtype, what a direct port does) or ``"float32"`` (the default: every step in at least
float32). The error of each mode is bounded in :mod:`ees_theory.tolerances` and derived in
``proofs/float-error-analysis.md``; the agreement tests compare both modes with the certified
reference.

Host reads. The default path reads a few numbers back to the host (to skip work the data does not
need, and to validate). ``sync_free=True`` gives the same bits with one host read per call (every
input check at once) and, with ``check_inputs=False``, none: for decoding loops, CUDA graph capture
and ``torch.compile(fullgraph=True)``. EDT and dynatemp take ``fused=True`` for the one-pass entropy
of :mod:`ees_theory.kernels._fused` (the same error band).

>>> import torch, ees_theory as et
>>> z = torch.tensor([[3.0, 1.0, 0.5, -2.0], [0.0, 0.0, 0.0, -float("inf")]])
>>> et.torch.ees_mask(z).tolist()
[[True, False, False, False], [True, True, True, False]]
>>> et.torch.edt_temperature(z, T0=1.0, theta=0.0).tolist()
[1.0, 1.0]
"""

from .ees import STRATEGIES, EESCurve, ees_curve, ees_keep_count, ees_logits, ees_mask
from .temperature import GREEDY, apply_temperature, dynatemp_logits, dynatemp_temperature, edt_logits, edt_temperature
from .quadratic import quadratic_logits
from .truncation import mirostat_step, truncate_mask

__all__ = [
    "ees_mask",
    "ees_keep_count",
    "ees_logits",
    "ees_curve",
    "EESCurve",
    "STRATEGIES",
    "edt_temperature",
    "dynatemp_temperature",
    "apply_temperature",
    "edt_logits",
    "dynatemp_logits",
    "GREEDY",
    "truncate_mask",
    "mirostat_step",
    "quadratic_logits",
]
