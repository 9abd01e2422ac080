"""The public name of the batched float kernels: ``ees_theory.torch`` is :mod:`ees_theory.kernels`.

>>> import ees_theory as et
>>> et.torch.ees_mask is et.kernels.ees_mask
True
"""

from .kernels import *  # noqa: F401,F403
from .kernels import __all__  # noqa: F401
