"""The truncation samplers, one module per sampler: all of a sampler's code is its module.

Each module declares

* its formulas (on plain numbers, ``mpmath`` numbers, intervals and tensors alike, ``+ - * /``
  only, or against an arithmetic context, :mod:`ees_theory.core.ctx`, where they need more);
* ``POLICIES``, its policy table (``policy.Policy``: strict or not, the no-op condition and the
  values that meet it, tie extension, what ``min_tokens_to_keep`` does);
* ``RULES``, the samplers it is the rule of (``{name: variant}``);
* ``RECORDS``, their records (``{name: ees_theory.spec.methods.MethodSpec}``: parameters with
  their defaults, domains and grids, policies, a summary), and ``ORDER``, where they stand in the
  listings of the samplers;
* ``certify(row, ctx, tau, pol, prm, rule, policy)``, its certified driver: on one row (an
  ``ExactRow``: ``n``, ``size``, ``values``, ``order``) and its exact context (an
  ``ees_theory.reference.trunc_exact.ExactContext``: the weights ``e``, ``a``, ``p``, ``S``,
  ``prefix``, the float estimates ``est_p``/``est_e``/``est_a``, ``decide`` to certify a gap's
  sign, ``prefix_cut`` for a monotone gap, ``floor`` for ``min_tokens_to_keep``, ``iv`` the
  interval arithmetic), at temperature ``tau``, with the policy record ``pol``, the checked
  parameters ``prm``, its registry ``rule`` (``rule.variant``) and the policy's name, it returns
  the kept prefix length (or the kept sorted positions), the decisive checks, and optionally a
  dict of extras and one of a stateful sampler's state;
* ``kernel(r, prm, pol, noop, rule, policy)``, its tensor kernel: on a prepared batch ``r`` of
  ``ees_theory.kernels.truncation`` (sorted scaled logits ``sx``, probabilities ``sp``, positions
  ``pos``, candidate counts ``n``, the tensor namespace ``t``, the torch context ``T``, the running
  sums and comparisons of the current numerics, ``at_least``/``floor``/``count``), it returns the
  kept sorted positions as a bool tensor;
* ``Judge``, what its judge states (the edges of its parameter band, the misreadings it can
  diagnose, which tokens it may keep where that differs from a prefix of the canonical order): a
  plain class whose methods reach the reference and the row statistics through ``self``, which
  ``ees_theory.judging.judges`` assembles into the working judge (``base = "mass"`` for a cut at a
  cumulative mass; a module of several samplers names each one's in ``JUDGES``). Misreadings and
  constants several judges share are in :mod:`.faults`.

A module imports neither torch nor the drivers' layers (nor the judging one): both drivers hand it
what it computes with, and the judging layer builds its judge.
:mod:`.registry` finds the modules and registers them in one table (``registry.register_builtin()``,
called explicitly; ``registry.SAMPLERS`` holds the records); the certified reference (``ees_theory.reference.truncation``) and the torch
kernels (``ees_theory.kernels.truncation``) call the ``certify`` and ``kernel`` of the rule that
table names.

* :mod:`.top_k`, :mod:`.top_p`, :mod:`.min_p`, :mod:`.typical`, :mod:`.epsilon`: the classic
  samplers;
* :mod:`.eta`: the eta-sampling threshold (epsilon's comparison and policies);
* :mod:`.p_less`: the p-less and p-less-norm thresholds;
* :mod:`.top_n_sigma`: which standard deviation each policy uses;
* :mod:`.mirostat`: the Zipf estimate of mirostat v1 and the ``mu`` update;
* :mod:`.xtc`: XTC's gate and how many top choices it drops;
* :mod:`.top_a`: the top-a threshold;
* :mod:`.tfs`: tail-free sampling's second differences and kept prefix;
* :mod:`.faults`: the misreadings and constants the judges of several samplers share.
"""
