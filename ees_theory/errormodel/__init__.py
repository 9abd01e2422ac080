"""The error model: what a careful float port can compute for one row.

:mod:`ees_theory.errormodel.bands` encloses, for the row at hand, every value a careful float
computation in a dtype and accumulation mode can produce (EES decisions, EDT and dynatemp
temperatures, the truncation samplers' comparisons); :mod:`ees_theory.errormodel.styles` runs the
careful styles (real torch code) that produce such values. The a-priori bounds the kernels use are
``ees_theory.tolerances`` (layer 1).

>>> from ees_theory.errormodel import bands
>>> callable(bands.edt_band)
True
"""
