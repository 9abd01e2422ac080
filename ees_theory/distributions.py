"""The named edge families of logit rows (``import ees_theory.distributions``).

The families are defined in :mod:`ees_theory.families.distributions`; this module is the short
public name for them, so that ``import ees_theory.distributions`` and ``from
ees_theory.distributions import sample`` work as for any module.

>>> import numpy as np
>>> import ees_theory.distributions as d
>>> d.sample("uniform", np.random.default_rng(0), 3).tolist()
[0.0, 0.0, 0.0]
"""

from .families.distributions import *  # noqa: F401,F403  (the public names, defined once there)
from .families.distributions import __all__  # noqa: F401
