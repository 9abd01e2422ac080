"""The claims ledger: one executable check per claim id of specification §5, returning a verdict.

A verdict is **proved** (a written proof in ``proofs/<id>.md``, exercised by a property test and
by a certified spot check here), **refuted** (a counterexample whose every sign is certified by
the exact reference, stored as hex floats in ``ledger/verdicts.json`` and re-certified on every
run) or **open** (with the evidence gathered). :func:`~ees_theory.ledger.registry.run_ledger` runs every registered check;
with ``search=True`` the refuted claims are searched for afresh (structured families, temperature
sweeps, a hill climb on the equilibrium gap) and the proved ones are spot-checked on many more rows.

The ledger is in parts: :mod:`~ees_theory.ledger.registry` (records, :func:`~ees_theory.ledger.registry.register_claim`, the
runner; it imports no claim module), :mod:`~ees_theory.ledger.search` (the search and spot-check
helpers), one module per claim group (``ees_claims``, ``temperature_claims``,
``truncation_claims``), and this module, the loader: importing it registers every group.

>>> v = {x.claim_id: x for x in run_ledger(ids=["EES-MONO", "EES-INCR"])}
>>> v["EES-MONO"].verdict, v["EES-MONO"].counterexample.n
('refuted', 3)
>>> v["EES-INCR"].verdict
'proved'
"""

from __future__ import annotations

from . import ees_claims, registry, temperature_claims, truncation_claims  # noqa: F401  (each registers its claims)
from .ees_claims import certified_gaps, incremental_entropies
from .registry import (
    CLAIM_REGISTRY,
    LEDGER_PATH,
    VERDICTS,
    CheckContext,
    Claim,
    Counterexample,
    GapRow,
    Verdict,
    format_detail,
    format_table,
    from_hex,
    recorded_verdicts,
    register_claim,
    run_ledger,
    to_hex,
    write_ledger,
)

#: The registry's public names and the EES gap tables, for ``from ees_theory.ledger.claims import *``.
__all__ = [name for name in registry.__all__ if name != "PROOFS_DIR"] + ["certified_gaps", "incremental_entropies"]
