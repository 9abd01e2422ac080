"""Each formula and decision rule of the toolkit, written once against an arithmetic context.

``certify`` holds the three-valued :class:`~ees_theory.core.certify.Decision`, the one
precision-escalation loop and the one outward rounding of ``mpmath`` numbers to floats. The
drivers (``ees_theory.reference``, the certified reference; ``ees_theory.kernels``, the batched
torch kernels) call what is here; ``core`` imports nothing above ``ees_theory.spec``.
``records`` holds every method's record in one table (each truncation sampler's declared in its own
module of ``truncation``).
"""
