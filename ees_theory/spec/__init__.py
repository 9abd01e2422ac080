"""The normative definitions in one place (they mirror the book's specification chapter, ``book/spec.md``, §1-§5), in four parts:

* :mod:`~ees_theory.spec.inputs`: input checks (logits, probabilities, temperatures), the
  canonical order;
* :mod:`~ees_theory.spec.methods`: the methods' records (rules, parameters, domains, policies);
* :mod:`~ees_theory.spec.claims`: the claim statements;
* :mod:`~ees_theory.spec.formats`: dtypes, the hex codec, rounding into fp16/bf16.

Entropy is in nats with ``0 ln 0 = 0``. The public names are re-exported here.

>>> check_temperature(0.7)
0.7
>>> as_logits([1.0, float("nan")])
Traceback (most recent call last):
...
ValueError: logits contain NaN at position 1
"""

from __future__ import annotations

from .claims import CLAIMS, STATEMENTS, TRUNCATION_CLAIMS
from .formats import DTYPES, check_dtype, exact_in, from_hex, hex_list, round_to_dtype, to_hex
from .inputs import (
    as_logits,
    as_probs,
    check_dps,
    check_int,
    check_min_tokens_to_keep,
    check_real,
    check_temperature,
    probs_sum_tolerance,
    row_label,
    sorted_order,
)
from .methods import (
    DEFAULT_POLICY,
    DEFAULT_RULE,
    EDT_DEFAULT_N,
    ENTROPY_OF,
    POLICIES,
    RULES,
    check_dynatemp_params,
    check_edt_params,
    check_entropy_of,
    check_rule,
)

__all__ = [
    "RULES",
    "DEFAULT_RULE",
    "ENTROPY_OF",
    "CLAIMS",
    "TRUNCATION_CLAIMS",
    "STATEMENTS",
    "EDT_DEFAULT_N",
    "POLICIES",
    "DEFAULT_POLICY",
    "DTYPES",
    "as_logits",
    "as_probs",
    "check_temperature",
    "check_min_tokens_to_keep",
    "check_real",
    "check_int",
    "check_dps",
    "check_rule",
    "check_edt_params",
    "check_dynatemp_params",
    "check_entropy_of",
    "check_dtype",
    "probs_sum_tolerance",
    "row_label",
    "sorted_order",
    "to_hex",
    "from_hex",
    "hex_list",
    "exact_in",
    "round_to_dtype",
]
