"""The truncation samplers' rules, one module per sampler, each written once.

Each module holds its sampler's formulas (on plain numbers, ``mpmath`` numbers, intervals and
tensors alike, ``+ - * /`` only, or against an arithmetic context, :mod:`ees_theory.core.ctx`,
where they need more) and its policy table ``POLICIES`` (``policy.Policy``: strict or not,
the no-op condition and the values that meet it, tie extension, what ``min_tokens_to_keep``
does), and ``RULES``, the samplers it is the rule of. :mod:`.registry` finds the modules and
registers them in one table (``registry.register_builtin()``, called explicitly); the certified
reference (``ees_theory.reference.truncation``, in ``mpmath.iv``) decides the comparisons a rule
names and the torch kernels (``ees_theory.kernels.truncation``) evaluate the same rule on
tensors, both dispatching through that table.

* :mod:`.top_k`, :mod:`.top_p`, :mod:`.min_p`, :mod:`.typical`, :mod:`.epsilon`: the classic
  samplers;
* :mod:`.eta`: the eta-sampling threshold (epsilon's comparison and policies);
* :mod:`.p_less`: the p-less and p-less-norm thresholds;
* :mod:`.top_n_sigma`: which standard deviation each policy uses;
* :mod:`.mirostat`: the Zipf estimate of mirostat v1 and the ``mu`` update;
* :mod:`.xtc`: XTC's gate and how many top choices it drops;
* :mod:`.top_a`: the top-a threshold;
* :mod:`.tfs`: tail-free sampling's second differences and kept prefix.
"""
