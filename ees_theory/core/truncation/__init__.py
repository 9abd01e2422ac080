"""The truncation samplers' formulas, one module per sampler where a formula is shared.

The reference (``ees_theory.reference.truncation``, certified, in ``mpmath.iv``), the torch kernels
(``ees_theory.kernels.truncation``) and the harness's diagnoses call these; each function works on
plain numbers, ``mpmath`` numbers, intervals and tensors alike (``+ - * /`` only), or takes an
arithmetic context (:mod:`ees_theory.core.ctx`) where it needs more.

* :mod:`.p_less`: the p-less and p-less-norm thresholds;
* :mod:`.eta`: the eta-sampling threshold;
* :mod:`.top_n_sigma`: which standard deviation each policy uses;
* :mod:`.mirostat`: the Zipf estimate of mirostat v1 and the ``mu`` update.
* ``xtc``: XTC's gate and how many top choices it drops;
* ``top_a``: the top-a threshold;
* ``tfs``: tail-free sampling's second differences and kept prefix.
"""
