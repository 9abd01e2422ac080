"""Named edge distributions (:mod:`.distributions`) and the public hypothesis strategies built on
them (:mod:`.strategies`): the material of the property tests, claim searches and stress runs."""

from . import distributions, strategies

__all__ = ["distributions", "strategies"]
