"""Port conformance under its short public name (``from ees_theory.conformance import check``).

Everything is defined in :mod:`ees_theory.harness`; this module re-exports its public names so
that ``import ees_theory.conformance`` works as for any module.

>>> from ees_theory.conformance import check
>>> from ees_theory import harness
>>> check is harness.check
True
"""

from .harness import *  # noqa: F401,F403  (the public names, defined once there)
from .harness import __all__  # noqa: F401
