"""The claims ledger: every claim of the specification and of the truncation samplers, its recorded
verdict (``verdicts.json``) and the evidence that re-establishes it (:mod:`.claims`)."""
