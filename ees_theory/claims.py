"""The claims ledger under its short public name (``from ees_theory.claims import run_ledger``).

Everything is defined in :mod:`ees_theory.ledger.claims` (and the modules it loads); this module
re-exports its public names so that ``import ees_theory.claims`` works as for any module.

>>> from ees_theory.claims import run_ledger
>>> run_ledger(ids=["EES-MONO"])[0].verdict
'refuted'
"""

from .ledger.claims import *  # noqa: F401,F403  (the public names, defined once there)
from .ledger.claims import __all__  # noqa: F401
