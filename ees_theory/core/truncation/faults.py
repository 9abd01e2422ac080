"""The words the judges of several samplers share: misreadings more than one sampler can show, and
the constants their parameter bands use.

A sampler's module declares its judge (its ``Judge`` class: the edges of its parameter band, the
misreadings it can diagnose, ...) with plain classes and these words; the judging layer
(``ees_theory.judging.judges``) assembles the working judge from that declaration. Each
misreading table maps a fault class to its explanation.

>>> sorted({**NON_STRICT, **MASKED_AS_ZERO})
['masked-as-zero', 'non-strict']
>>> THRESHOLD_STRICTNESS[0][:24]
"'>=' used instead of '>'"
"""

from __future__ import annotations

import math

__all__ = ["LN2", "SMALLEST_SUBNORMAL", "MIN_KEEP_IGNORED", "TEMPERATURE_IGNORED", "NON_STRICT", "THRESHOLD_STRICTNESS",
           "MASKED_AS_ZERO"]

#: ``ln 2``: an entropy in nats over one in bits
LN2 = math.log(2.0)
#: the smallest positive float64: the lower end of a parameter band that must stay positive
SMALLEST_SUBNORMAL = 2.0**-1074

#: ``min_tokens_to_keep`` not applied (every judge checks for it)
MIN_KEEP_IGNORED = {"min-keep-ignored": "min_tokens_to_keep is not applied"}
#: the comparison at the boundary has the other strictness than the policy's; which way is the
#: judge's ``strictness`` to say
NON_STRICT = {"non-strict": "the boundary comparison has the other strictness ('>=' for '>' or the reverse)"}
#: the sampler run at temperature 1 whatever the case's temperature (a sampler whose kept set
#: depends on the temperature: the judge's ``reads_temperature``)
TEMPERATURE_IGNORED = {"temperature-ignored": "the temperature is not applied: the sampler ran on softmax(z), not softmax(z / T)"}
#: ``non-strict`` for a threshold on a per-token value: (the port kept more, kept fewer)
THRESHOLD_STRICTNESS = (
    "'>=' used instead of '>': a token exactly at the threshold was kept; this policy drops it",
    "'>' used instead of '>=': a token exactly at the threshold was dropped; this policy keeps it",
)
#: a statistic taken over every entry of the row with the masked (-inf) ones counted as logits of 0
MASKED_AS_ZERO = {"masked-as-zero": "masked (-inf) entries counted as logits of 0 in a statistic of the row"}
