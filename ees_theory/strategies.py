"""Public hypothesis strategies for a port's own test suite (``from ees_theory.strategies import logits``).

The strategies are defined in :mod:`ees_theory.families.strategies`; this module is the short
public name for them, so that ``import ees_theory.strategies`` and ``from ees_theory.strategies
import ...`` work as for any module.

>>> from ees_theory.strategies import logits
>>> from ees_theory.families import strategies
>>> logits is strategies.logits
True
"""

from .families.strategies import *  # noqa: F401,F403  (the public names, defined once there)
from .families.strategies import __all__  # noqa: F401
