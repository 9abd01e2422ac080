"""Judging: is this one answer of a port right?

The method registry and the judges of EES, EDT, dynatemp, temperature scaling and quadratic
sampling (``methods``, ``scaling``, ``quadratic``), the truncation samplers' judges (``truncation``,
``judges``), the words of an outcome (``outcomes``), the statistics of token draws (``gof``) and the
draws judge (``draws``). Importing the package registers every method.

>>> from ees_theory.judging import get_method
>>> get_method("ees").name
'ees'
"""

from . import methods, truncation  # noqa: F401 - the registry and the truncation samplers
from . import scaling  # noqa: F401 - registers --method temperature (plain temperature scaling)
from . import quadratic  # noqa: F401 - registers --method quadratic (a logit transform, judged like temperature)
from .methods import get_method

__all__ = ["get_method"]
