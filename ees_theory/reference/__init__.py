"""The certified exact reference (mpmath): the toolkit's ground truth.

Inputs are read as the exact binary floats they are; every decision is certified or reported
undecided (see :mod:`ees_theory.core.certify`).

>>> import ees_theory as et
>>> et.reference.ees([2.0, 1.0, 0.0]).kept       # Hbar_2 = 0.84 < P_2 = 0.91
(0,)
"""

from ..core.certify import Decision
from .dynatemp import dynatemp_temperature
from .edt import edt_temperature
from .ees import Comparison, CurveEnclosure, CurveRecord, EESResult, curve_enclosure, ees, exact_curve
from .entropy import entropy, softmax
from .rows import ExactRow, as_row, from_probs
from .truncation import truncate

__all__ = [
    "truncate",
    "ees",
    "EESResult",
    "Comparison",
    "CurveRecord",
    "CurveEnclosure",
    "curve_enclosure",
    "exact_curve",
    "edt_temperature",
    "dynatemp_temperature",
    "entropy",
    "softmax",
    "from_probs",
    "as_row",
    "ExactRow",
    "Decision",
]
