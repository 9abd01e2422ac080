"""Golden conformance vectors: versioned JSON Lines shipped in ``ees_theory/vectors/``.

The file is a pure function of this module, :mod:`ees_theory.families.distributions` and the reference:
``ees-theory vectors regen`` rewrites it and a test checks that it is current. Line 1 is a header;
every other line is one case::

    {"id": "v1-ees-0007", "method": "ees", "family": "tied_top",
     "params": {"temperature": "0x1.0p+0"}, "logits": ["0x0.0p+0", "-inf", ...],
     "dtypes": ["float64", "float32", "float16", "bfloat16"],
     "expected": {"k": 3, "kept": [4, 0, 2], "certified": true, "margin": "0x1.5p-4"},
     "comment": "an exact tie among the top tokens"}

``dtypes`` lists the dtypes that hold every logit exactly (a port is checked on the cases of its
dtype). A truncation sampler's ``expected`` names the ``policy`` it was computed under, with the
kept ids, ``k``, ``certified`` and the certified ``margin`` (mirostat also ``token`` and ``mu``);
a run under another policy judges the case afresh under its own. EES ``expected`` holds the certified kept ids in sorted order, ``k``, whether every
decisive comparison was certified and the certified ``margin`` (smallest ``|f|`` over them). EDT
and dynatemp ``expected`` hold the temperature as a hex float (the double nearest the exact
value; ``null`` = dynatemp no-op) and 25 significant digits; their ``margin`` is the certified
relative accuracy of those digits.

>>> cases = load_vectors(method="dynatemp")
>>> noop = [c for c in cases if c.expected["temperature"] is None]
>>> noop[0].logits.tolist(), noop[0].comment
([0.5], 'a single entry: llama.cpp applies no temperature (None)')
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path

import numpy as np

from .. import reference
from .cases import Case
from ..spec.formats import DTYPES
from ..spec.inputs import check_input_file
from .generate import fit_to_dtype
from ..judging.methods import Options, get_method

__all__ = ["VECTORS_VERSION", "VECTORS_FILE", "vectors_path", "load_vectors", "golden_cases", "vectors_text", "regen", "is_current"]

VECTORS_VERSION = 1
VECTORS_FILE = f"golden-v{VECTORS_VERSION}.jsonl"
#: vocabulary sizes of the family cases (two large rows per method come on top)
FAMILY_VOCABS = (8, 32, 100)
LARGE_VOCAB = 1024
NEG = -math.inf


def vectors_path() -> Path:
    """Where the packaged golden vectors live.

    >>> vectors_path().name
    'golden-v1.jsonl'
    """
    return Path(str(resources.files("ees_theory") / "vectors" / VECTORS_FILE))


def _quantise(z: np.ndarray, j: int) -> np.ndarray:
    # Most rows hold values exact in all four dtypes (float16 then bfloat16 rounding); every
    # third row keeps float32 precision, so float64/float32 ports see full mantissas too.
    if j % 3 == 2:
        return fit_to_dtype(z, "float32")
    return fit_to_dtype(fit_to_dtype(z, "float16"), "bfloat16")


#: the methods with one vector per family and vocabulary (in this order: the vectors' ids follow it)
_FAMILY_METHODS = ("ees", "edt", "dynatemp")


def _family_cases() -> list[tuple[str, str, np.ndarray, dict, str]]:
    from ..families import distributions

    out = []
    for method in _FAMILY_METHODS:
        m = get_method(method)
        j = 0
        for family in distributions.FAMILY_NAMES:
            for vocab in FAMILY_VOCABS:
                rng = np.random.default_rng(np.random.SeedSequence([VECTORS_VERSION, len(method), j]))
                z = _quantise(distributions.sample(family, rng, vocab), j)
                out.append((method, family, z, m.draw_params(rng), f"{distributions.describe(family)} (vocab {vocab})"))
                j += 1
        for big in range(2):
            family = ("head_tail", "zipf")[big]
            rng = np.random.default_rng(np.random.SeedSequence([VECTORS_VERSION, len(method), 1000 + big]))
            z = _quantise(distributions.sample(family, rng, LARGE_VOCAB), 0)
            out.append((method, family, z, m.draw_params(rng), f"large vocabulary: {distributions.describe(family)} (vocab {LARGE_VOCAB})"))
    return out


def _tie_at_boundary() -> list[np.ndarray]:
    """Rows where an exact tie straddles the EES boundary (found by the certified reference)."""
    rows = []
    for top in (1.0, 2.0, 3.0):
        for block in (2, 3, 4):
            for level in (0.0, -0.5, -1.0):
                z = np.array([top] + [level] * block + [-3.0, -4.0])
                r = reference.ees(z)
                if 1 < r.k < 1 + block and r.certified:
                    rows.append(z)
                    break
            if len(rows) >= 3:
                return rows
    return rows


def _hand_cases() -> list[tuple[str, str, np.ndarray, dict, str]]:
    a = np.array
    ees, edt, dyn = "ees", "edt", "dynatemp"
    out: list[tuple[str, str, np.ndarray, dict, str]] = []
    t1 = {"temperature": 1.0}
    # EES
    out += [
        (ees, "uniform", np.zeros(2), t1, "uniform over 2: f(2) = 0 exactly is no crossing, keep both"),
        (ees, "uniform", np.full(7, 1.5), t1, "uniform over 7 at a non-zero level: keep all 7"),
        (ees, "uniform", np.zeros(64), {"temperature": 0.5}, "uniform over 64 at temperature 0.5: keep all 64"),
        (ees, "masked", a([0.0, NEG, 0.0, NEG, 0.0]), t1, "uniform over the 3 unmasked tokens: keep exactly those 3"),
        (ees, "single", a([0.5]), t1, "a single token: keep it"),
        (ees, "single", a([NEG, 2.0, NEG, NEG]), t1, "one candidate among masked tokens: keep only token 1"),
        (ees, "masked", a([NEG, 1.0, NEG, 0.0, -1.0, NEG]), t1, "masked tokens are never candidates"),
        (ees, "hand", a([1.0, 0.0]), t1, "two tokens, not uniform: the last token always crosses, keep 1"),
        (ees, "hand", a([2.0, 1.0, 0.0]), t1, "Hbar_2 = 0.84 < P_2 = 0.91: token 2 is the crossing, keep 1"),
        (ees, "tied_top", a([2.0, 2.0, 2.0, 0.0, -1.0]), t1, "three tied top tokens (Hbar = 1 on the tie block)"),
        (ees, "tied_top", a([0.0, 3.0, 3.0, 1.0]), t1, "a tied top pair out of id order: kept ids follow the sorted order"),
        (ees, "fp16_extreme", a([65504.0, 65472.0, 65440.0, -65504.0]), t1, "float16's largest logits (spacing 32) and its most negative one"),
        (ees, "fp16_extreme", a([2.0**-24, 0.0, -(2.0**-24)]), t1, "logits one float16 subnormal apart: nearly uniform, not uniform"),
        (ees, "fp16_extreme", a([0.0, -10.0, -17.5, -20.0, -25.0, -30.0]), t1, "tail probabilities below float16's smallest subnormal (underflow to 0)"),
        (ees, "fp16_extreme", a([0.0, -0.5, -1.0, -18.0, -18.0, -18.0, -18.0, -18.0]), t1, "a flat tail that underflows in float16"),
        (ees, "temperature", a([3.0, 1.0, 0.5, -2.0]), {"temperature": 2.0**-20}, "extreme low temperature: greedy in the limit"),
        (ees, "temperature", a([3.0, 1.0, 0.5, -2.0]), {"temperature": 2.0**20}, "extreme high temperature: near uniform, keeps n - 1"),
        (ees, "temperature", a([3.0, 1.0, 0.5, -2.0, -2.5, -7.0]), {"temperature": 1e-3}, "temperature 1e-3"),
        (ees, "temperature", a([3.0, 1.0, 0.5, -2.0, -2.5, -7.0]), {"temperature": 1e3}, "temperature 1e3"),
        (ees, "bf16_extreme", a([3.3895313892515355e38, 3.3895313892515355e38 * (1 - 2.0**-7), 0.0]), t1, "bfloat16's largest logits (not representable in float16)"),
    ]
    out += [
        (ees, "head_flat_tail", np.concatenate([[2.75], np.zeros(31)]), t1, "f changes sign more than once: first crossing keeps 1, the last would keep 23"),
        (ees, "head_flat_tail", np.concatenate([[3.25], np.zeros(63)]), t1, "f changes sign more than once: first crossing keeps 1, the last would keep 47"),
    ]
    for z in _tie_at_boundary():
        out.append((ees, "tied_boundary", z, t1, "an exact tie straddling the boundary: the count is fixed, ties go by token id"))
    # EDT
    ln = math.log
    out += [
        (edt, "hand", np.zeros(2), {"T0": 1.0, "theta": ln(2), "N": 0.8}, "H = ln 2 = theta: T = N T0 = 0.8"),
        (edt, "uniform", np.zeros(5), {"T0": 1.5, "theta": ln(5), "N": 0.8}, "uniform over 5, theta = ln 5: T = 0.8 * 1.5"),
        (edt, "hand", a([2.0, 1.0, 0.0]), {"T0": 1.0, "theta": 0.0, "N": 0.8}, "theta = 0: T = T0"),
        (edt, "single", a([0.5]), {"T0": 1.0, "theta": 0.5, "N": 0.8}, "one candidate: H = 0, greedy T = 0"),
        (edt, "single", a([NEG, 1.0, NEG]), {"T0": 2.0, "theta": 1.0, "N": 0.8}, "one candidate among masked: greedy T = 0"),
        (edt, "masked", a([0.0, NEG, -1.0, NEG, -2.0]), {"T0": 1.5, "theta": 0.5, "N": 0.8}, "masked tokens do not enter the entropy; T0 != 1 tells raw from tempered"),
        (edt, "hand", a([0.0, -1.0, -2.0, -3.0]), {"T0": 0.5, "theta": 1.0, "N": 0.5}, "T0 = 0.5: the raw entropy, not that of softmax(z / T0)"),
        (edt, "peaked", a([0.0, -30.0, -30.0]), {"T0": 1.0, "theta": 1.0, "N": 0.8}, "tiny entropy: theta / H is huge, T underflows to 0, never NaN"),
        (edt, "fp16_extreme", a([0.0, -10.0, -17.5, -20.0, -25.0, -30.0]), {"T0": 1.0, "theta": 0.5, "N": 0.8}, "probabilities below float16's subnormals: 0 ln 0 = 0"),
        (edt, "uniform", np.zeros(100), {"T0": 1.0, "theta": 2.0, "N": 0.95}, "uniform over 100"),
    ]
    # dynatemp
    p = lambda temp, delta, e: {"temp": temp, "delta": delta, "exponent": e}  # noqa: E731
    out += [
        (dyn, "single", a([0.5]), p(1.0, 0.5, 1.0), "a single entry: llama.cpp applies no temperature (None)"),
        (dyn, "hand", a([2.0, 1.0, 0.0]), p(0.8, 0.0, 1.0), "delta = 0: plain temperature temp"),
        (dyn, "hand", a([2.0, 1.0, 0.0]), p(0.8, -0.5, 1.0), "delta < 0: plain temperature temp"),
        (dyn, "uniform", np.zeros(4), p(1.0, 0.25, 2.0), "uniform: H = ln n, T = T_max = 1.25"),
        (dyn, "single", a([0.0, NEG]), p(1.0, 0.5, 1.0), "one finite of two entries: H = 0, T = T_min = 0.5"),
        (dyn, "masked", a([0.0, NEG, 0.0, NEG]), p(1.0, 0.5, 1.0), "n counts -inf entries: H = ln 2, ln n = ln 4, T = 0.5 + 1 * 0.5 = 1.0"),
        (dyn, "masked", a([0.0, -1.0, NEG, NEG, NEG, -2.0]), p(1.0, 1.0, 1.0), "n = 6 entries (3 masked), T_min = 0"),
        (dyn, "hand", a([1.0, 0.0, -1.0]), p(0.3, 0.5, 1.0), "delta > temp: T_min = max(0, temp - delta) = 0"),
        (dyn, "hand", a([1.0, 0.0, -1.0]), p(1.0, 0.5, 0.0), "exponent 0: T = T_max"),
        (dyn, "hand", a([1.0, 0.0, -1.0, -2.0]), p(1.0, 0.5, -1.0), "negative exponent (H > 0)"),
        (dyn, "fp16_extreme", a([0.0, -10.0, -17.5, -20.0, -25.0, -30.0]), p(1.0, 0.5, 1.0), "probabilities below float16's subnormals: 0 ln 0 = 0"),
        (dyn, "temperature", a([0.0, -1.0, -2.0]), p(0.0, 0.5, 1.0), "temp = 0: T_min = 0"),
    ]
    # quadratic sampling: m - k f d^2 + s f d^3, k = (3 - c)/2, s = (c - 1)/2
    q = "quadratic"

    def qp(f, c):
        return {"smoothing_factor": f, "smoothing_curve": c}

    out += [
        (q, "masked", a([3.0, 1.0, NEG]), qp(0.5, 1.0), "c = 1: 3 - 0.5 * 2^2 = 1; masked stays -inf"),
        (q, "hand", a([3.0, 2.0, 0.0]), qp(1.0, 3.0), "c = 3 (k = 0, s = 1): 3 + d^3 = (3, 2, -24)"),
        (q, "hand", a([1.0, 0.0, -1.0, -2.0]), qp(0.25, 2.0), "k = s = 1/2: (1, 0.75, -0.5, -3.5)"),
        (q, "uniform", np.zeros(4), qp(1.0, 1.0), "uniform: every d = 0, nothing moves"),
        (q, "hand", a([2.0, 1.0, 0.0]), qp(0.0, 1.0), "f = 0 is off: the row unchanged (the formula would give every token m)"),
        (q, "fp16_extreme", a([0.0, -100.0]), qp(3.0, 1.0), "-3 * 100^2 = -30000, inside float16's range"),
    ]
    return out


#: vocabulary sizes of the truncation samplers' family rows, and how many rows each sampler gets
TRUNCATION_FAMILY_VOCABS = (8, 32)
TRUNCATION_FAMILY_ROWS = 4


def _sampler_params(method: str, **given: float) -> dict:
    """A truncation case's parameters: temperature 1 and the sampler's defaults, then ``given``."""
    from ..judging.truncation import PARAMS

    defaults = {"temperature": 1.0, "min_tokens_to_keep": 1, "m": 100}
    return {p: float(given.get(p, defaults.get(p, math.nan))) for p in ("temperature",) + PARAMS[method]}


def _truncation_hand_cases() -> list[tuple[str, str, np.ndarray, dict, str, str]]:
    """Boundary cases of the truncation samplers: (method, family, logits, params, comment, policy)."""
    a, P = np.array, _sampler_params
    ln2 = math.log(2.0)
    u4 = np.zeros(4)
    out = [
        # top-k: ties at the k-th value, k past the candidates, no-ops
        ("top-k", "tied_boundary", a([1.0, 3.0, 3.0, 0.0]), P("top-k", k=1), "k = 1 with two tied top tokens: exactly one kept, the lower id", "paper"),
        ("top-k", "tied_boundary", a([1.0, 3.0, 3.0, 0.0]), P("top-k", k=1), "k = 1 with two tied top tokens: transformers keeps every token tied with the k-th", "transformers"),
        ("top-k", "tied_boundary", a([2.0, 1.0, 1.0, 1.0, 0.0]), P("top-k", k=2), "a three-way tie at the k-th value: transformers keeps 4", "transformers"),
        ("top-k", "tied_boundary", a([2.0, 1.0, 1.0, 1.0, 0.0]), P("top-k", k=2), "a three-way tie at the k-th value: llama.cpp keeps exactly 2", "llama.cpp"),
        ("top-k", "masked", a([1.0, NEG, 0.0, NEG]), P("top-k", k=3), "k larger than the 2 candidates: masked tokens are never kept", "paper"),
        ("top-k", "hand", a([2.0, 1.0, 0.0, NEG]), P("top-k", k=0), "k = 0 is llama.cpp's no-op: every candidate kept", "llama.cpp"),
        ("top-k", "hand", a([3.0, 2.0, 1.0, 0.0]), P("top-k", k=1, min_tokens_to_keep=3), "min_tokens_to_keep = 3 overrides k = 1", "transformers"),
        # top-p: the crossing token, mass exactly at p, no-op and floor
        ("top-p", "hand", a([2.0, 1.0, 0.0, -1.0]), P("top-p", p=0.9), "P_2 = 0.88 < 0.9 <= P_3 = 0.97: the crossing (third) token is kept, 3 tokens", "paper"),
        ("top-p", "uniform", u4, P("top-p", p=0.5), "uniform over 4, p = 0.5: the mass of 2 tokens is exactly p, keep 2 (dyadic, exact in every dtype)", "paper"),
        ("top-p", "uniform", u4, P("top-p", p=0.5), "uniform over 4, p = 0.5: mass exactly p, keep 2 (llama.cpp's cum_sum >= p)", "llama.cpp"),
        ("top-p", "masked", a([0.0, NEG, 0.0, NEG]), P("top-p", p=0.5), "uniform over 2 candidates, p = 0.5: the first token alone reaches p", "paper"),
        ("top-p", "tied_boundary", a([1.0, 0.0, 0.0, 0.0, -1.0]), P("top-p", p=0.6), "the crossing falls inside a tie block: the block is cut in token-id order", "paper"),
        ("top-p", "hand", a([3.0, 0.0, -2.0, -5.0]), P("top-p", p=1.0), "p = 1: every candidate kept", "paper"),
        ("top-p", "hand", a([1.0, 0.0, -1.0]), P("top-p", p=0.0, min_tokens_to_keep=2), "p = 0 keeps min_tokens_to_keep = 2 (transformers' domain)", "transformers"),
        # min-p: equality at the threshold
        ("min-p", "tied_top", a([1.0, 1.0, 0.0]), P("min-p", min_p=1.0), "min_p = 1: the tied top pair has p_i = min_p p_max exactly, both kept ('>=')", "paper"),
        ("min-p", "uniform", u4, P("min-p", min_p=1.0), "uniform, min_p = 1: equality everywhere, all kept", "transformers"),
        ("min-p", "hand", a([2.0, 1.0, 0.0]), P("min-p", min_p=0.3), "e^-1 = 0.37 >= 0.3 > e^-2 = 0.14: keep 2", "paper"),
        ("min-p", "hand", a([0.0, -ln2, -1.0]), P("min-p", min_p=0.5), "p_1 / p_0 = exp(-fl(ln 2)) is 0.5 to 17 digits: inside every error bound, either answer", "paper"),
        ("min-p", "hand", a([2.0, 1.0, 0.0, -1.0]), P("min-p", min_p=0.0), "min_p = 0 is a no-op", "llama.cpp"),
        ("min-p", "hand", a([2.0, 0.0, -1.0, -3.0]), P("min-p", min_p=0.5, min_tokens_to_keep=3), "min_keep = 3 overrides the threshold", "llama.cpp"),
        # typical: the cut at mass, strict for llama.cpp, score ties for transformers
        ("typical", "uniform", u4, P("typical", mass=0.5), "uniform over 4, mass 0.5: the mass of 2 tokens is exactly 0.5, keep 2", "paper"),
        ("typical", "uniform", u4, P("typical", mass=0.5), "uniform over 4, mass 0.5: llama.cpp stops at the first mass > 0.5, keep 3", "llama.cpp"),
        ("typical", "tied_boundary", a([1.0, 0.0, 0.0, -1.0, -3.0]), P("typical", mass=0.3), "tied scores at the cut: transformers keeps the whole tie", "transformers"),
        ("typical", "hand", a([2.0, 1.0, 0.0, -1.0]), P("typical", mass=0.9), "order by |-ln p - H|, not by p", "paper"),
        ("typical", "hand", a([2.0, 1.0, 0.0, -1.0]), P("typical", mass=1.0), "mass 1 is llama.cpp's no-op", "llama.cpp"),
        # epsilon / eta: strict for the paper, inclusive for transformers
        ("epsilon", "uniform", np.zeros(2), P("epsilon", epsilon=0.5), "p_i = epsilon = 0.5 exactly: the paper's '>' drops both, one kept by the floor", "paper"),
        ("epsilon", "uniform", np.zeros(2), P("epsilon", epsilon=0.5), "p_i = epsilon = 0.5 exactly: transformers' '>=' keeps both", "transformers"),
        ("epsilon", "uniform", u4, P("epsilon", epsilon=0.25), "uniform over 4, epsilon = 1/4: '>=' keeps all 4", "transformers"),
        ("epsilon", "hand", a([3.0, 0.0, -3.0, -6.0]), P("epsilon", epsilon=0.01), "p = (.95, .047, .0024, .0001): keep 2", "paper"),
        ("epsilon", "tied_boundary", a([1.0, 0.0, 0.0, -5.0]), P("epsilon", epsilon=0.5, min_tokens_to_keep=2), "min_tokens_to_keep = 2 with a tie at the 2nd: transformers keeps the tie", "transformers"),
        ("eta", "hand", a([2.0, 1.0, 0.0, -1.0, -2.0, -4.0]), P("eta", epsilon=0.01), "eta = min(eps, sqrt(eps) e^-H) with H in nats", "paper"),
        ("eta", "uniform", np.zeros(8), P("eta", epsilon=0.1), "uniform over 8: sqrt(0.1) e^-ln 8 = 0.040 < 1/8, keep all", "transformers"),
        ("eta", "masked", a([0.0, NEG, -1.0, NEG, -6.0]), P("eta", epsilon=0.05), "masked entries do not enter the entropy", "paper"),
        # p-less: uniform rows, masked entries
        ("p-less", "uniform", u4, P("p-less"), "uniform over 4: p_i = sum p^2 = 1/4 exactly, keep all (dyadic)", "paper"),
        ("p-less", "uniform", np.zeros(3), P("p-less"), "uniform over 3: 1/3 = sum p^2 in exact arithmetic; float drift makes either answer admissible", "paper"),
        ("p-less", "hand", a([2.0, 1.0, 0.0]), P("p-less"), "sum p^2 = 0.51: keep only the top token", "paper"),
        ("p-less", "masked", a([0.0, NEG, -0.5, NEG, -4.0]), P("p-less"), "masked entries have p = 0 and add nothing to sum p^2", "paper"),
        ("p-less-norm", "uniform", u4, P("p-less-norm"), "uniform over the whole row: threshold (V/V - 1)/(V - 1) = 0, keep all", "paper"),
        ("p-less-norm", "masked", a([0.0, NEG, NEG, -0.25]), P("p-less-norm"), "V = 4 counts the masked entries: threshold (4 sum p^2 - 1)/3 = 0.34 keeps both", "paper"),
        ("p-less-norm", "masked", a([0.0] + [NEG] * 6 + [-1.0]), P("p-less-norm"), "V = 8 with 6 masked: threshold (8 sum p^2 - 1)/7 = 0.55 keeps only the top (V = 2 would keep both)", "paper"),
        ("p-less-norm", "hand", a([3.0, 0.0, 0.0, 0.0]), P("p-less-norm"), "a peaked row: keep only the top token", "paper"),
        # top-n-sigma: population sigma, -inf entries, no-ops
        ("top-n-sigma", "hand", a([0.0, 0.0, -1.0, -1.0]), P("top-n-sigma", n=1.875), "population sigma 1/2: threshold -0.94 keeps 2", "paper"),
        ("top-n-sigma", "hand", a([0.0, 0.0, -1.0, -1.0]), P("top-n-sigma", n=1.875), "sample sigma 0.577 (divide by N - 1): threshold -1.08 keeps 4", "sample-std"),
        ("top-n-sigma", "masked", a([0.0, NEG, -1.0, NEG, -3.0]), P("top-n-sigma", n=1.0), "sigma over the finite entries only (-inf would make it NaN)", "paper"),
        ("top-n-sigma", "tied_boundary", a([0.0, 0.0, -2.0, -2.0]), P("top-n-sigma", n=2.0), "max - 2 sigma = -2 exactly (sigma = 1): the lower pair sits on the threshold", "paper"),
        ("top-n-sigma", "hand", a([1.0, 0.0, -1.0]), P("top-n-sigma", n=0.0), "n = 0 is llama.cpp's no-op", "llama.cpp"),
        ("top-n-sigma", "tied_top", a([1.0, 1.0, 0.0]), P("top-n-sigma", n=0.0), "n = 0 under the paper keeps the maximum (ties included)", "paper"),
        ("top-n-sigma", "temperature", a([4.0, 2.0, 1.0, -3.0]), P("top-n-sigma", n=1.0, temperature=0.5), "the kept set does not depend on the temperature", "paper"),
        # mirostat: the chosen token and the new mu
        ("mirostat-v2", "hand", a([2.0, 1.0, 0.0]), P("mirostat-v2", tau=1.0, eta=0.1, mu=2.0, u=0.5), "mu = 2 bits keeps p >= 1/4: token 0, surprise under the full distribution", "paper"),
        ("mirostat-v2", "hand", a([2.0, 1.0, 0.0]), P("mirostat-v2", tau=1.0, eta=0.1, mu=2.0, u=0.5), "llama.cpp: the surprise under the renormalised kept set (0 bits)", "llama.cpp"),
        ("mirostat-v2", "hand", a([2.0, 1.0, 0.0, -1.0]), P("mirostat-v2", tau=3.0, eta=0.5, mu=6.0, u=0.8), "mu = 6 bits keeps all 4; cumulative p = .64, .88: u = 0.8 picks the second token", "paper"),
        ("mirostat-v1", "zipf", a([3.0, 2.0, 1.0, 0.0, -1.0, -2.0]), P("mirostat-v1", tau=2.0, eta=0.1, mu=4.0, u=0.9, m=100), "Zipf fit over the head, k rounded half up", "paper"),
        ("mirostat-v1", "zipf", a([3.0, 2.0, 1.0, 0.0, -1.0, -2.0]), P("mirostat-v1", tau=2.0, eta=0.1, mu=4.0, u=0.9, m=100), "llama.cpp truncates k and renormalises the surprise", "llama.cpp"),
        ("mirostat-v1", "tied_top", a([0.0, 0.0, 0.0, -1.0]), P("mirostat-v1", tau=2.0, eta=0.1, mu=3.0, u=0.3, m=3), "a flat head of m = 3: the Zipf fit is degenerate, nothing is cut", "paper"),
        # xtc: which tokens go, the gate's comparison, min_keep, ties
        ("xtc", "hand", a([2.0, 1.0, 0.0, -1.0]), P("xtc", threshold=0.1, probability=1.0, u=0.5), "p = (.644, .237, .087, .032): two reach 0.1, the top one is dropped", "paper"),
        ("xtc", "hand", a([2.0, 1.0, 0.0, -1.0]), P("xtc", threshold=0.1, probability=0.5, u=0.5), "u = probability: the gate stays shut (u < probability opens it), all kept", "paper"),
        ("xtc", "hand", a([2.0, 1.0, 0.0, -1.0]), P("xtc", threshold=0.1, probability=0.5, u=0.5), "u = probability: llama.cpp's gate opens (u <= probability), the top token dropped", "llama.cpp"),
        ("xtc", "tied_boundary", u4, P("xtc", threshold=0.25, probability=1.0, u=0.05), "uniform over 4: all reach 1/4 exactly (dyadic), three dropped, the last id kept", "paper"),
        ("xtc", "masked", a([0.0, NEG, 0.0, NEG, -3.0]), P("xtc", threshold=0.3, probability=1.0, u=0.3), "p = (.488, .488, .024): the two tied reach 0.3, id 0 dropped; masked never kept", "paper"),
        ("xtc", "hand", a([2.0, 1.0, 0.0, -1.0]), P("xtc", threshold=0.1, probability=1.0, u=0.5, min_tokens_to_keep=4), "dropping 1 would leave 3 < min_keep 4: nothing dropped", "llama.cpp"),
        ("xtc", "tied_boundary", u4, P("xtc", threshold=0.25, probability=1.0, u=0.05, min_tokens_to_keep=2), "uniform over 4: dropping 3 would leave 1 < min_keep 2, so none is dropped (not 2)", "llama.cpp"),
        ("xtc", "hand", a([3.0, 0.0, 0.0]), P("xtc", threshold=0.5, probability=1.0, u=0.9), "p = (.870, .065, .065): one token reaches 0.5, nothing dropped", "paper"),
        # top-a: threshold a * p_max^2
        ("top-a", "hand", a([2.0, 1.0, 0.0]), P("top-a", a=0.5), "p = (.665, .245, .090): a p_max^2 = .221 keeps 2", "paper"),
        ("top-a", "uniform", u4, P("top-a", a=1.0), "uniform over 4: p = 1/4 >= p_max^2 = 1/16, all kept (dyadic)", "paper"),
        ("top-a", "hand", a([4.0, 1.0, 0.0, -1.0]), P("top-a", a=0.5, min_tokens_to_keep=3), "a p_max^2 = .438 keeps only the top; min_tokens_to_keep 3", "paper"),
        ("top-a", "masked", a([1.0, NEG, 0.0, NEG, -2.0]), P("top-a", a=0.5), "p = (.705, .259, .035): a p_max^2 = .249 keeps 2; masked entries have p = 0", "paper"),
        # tfs: which index is kept, flat rows, few candidates
        ("tfs", "zipf", a([0.0, -1.0, -2.0, -3.0, -4.0, -5.0]), P("tfs", z=0.9), "geometric: cdf = (.644, .881, .968, 1), two <= 0.9: the original keeps 3", "paper"),
        ("tfs", "zipf", a([0.0, -1.0, -2.0, -3.0, -4.0, -5.0]), P("tfs", z=0.9), "the same row: llama.cpp keeps the 2 tokens before the first cdf > 0.9", "llama.cpp"),
        ("tfs", "uniform", u4, P("tfs", z=0.5), "uniform over 4: no curvature, nothing is cut", "paper"),
        ("tfs", "uniform", u4, P("tfs", z=0.5), "uniform over 4: llama.cpp's uniform weights give cdf = (1/2, 1); 1/2 <= z keeps 1", "llama.cpp"),
        ("tfs", "hand", a([1.0, 0.0]), P("tfs", z=0.5), "two candidates: the original always drops the last", "paper"),
        ("tfs", "hand", a([1.0, 0.0]), P("tfs", z=0.5), "two candidates: llama.cpp's no-op", "llama.cpp"),
        ("tfs", "zipf", a([0.0, -1.0, -2.0, -3.0, -4.0, -5.0]), P("tfs", z=0.25, min_tokens_to_keep=3), "cdf_0 = .644 > 0.25: min_tokens_to_keep 3 decides under both", "llama.cpp"),
    ]
    return out


def _truncation_family_cases() -> list[tuple[str, str, np.ndarray, dict, str, str]]:
    from ..families import distributions
    from ..core.truncation.registry import SAMPLERS
    from ..judging.truncation import TRUNCATION_METHODS

    out = []
    names = distributions.FAMILY_NAMES
    for mi, method in enumerate(TRUNCATION_METHODS):
        m = get_method(method)
        policies = SAMPLERS[method].policies
        for j in range(TRUNCATION_FAMILY_ROWS):
            family = names[(mi * TRUNCATION_FAMILY_ROWS + j) % len(names)]
            vocab = TRUNCATION_FAMILY_VOCABS[j % len(TRUNCATION_FAMILY_VOCABS)]
            rng = np.random.default_rng(np.random.SeedSequence([VECTORS_VERSION, 7, mi, j]))
            z = _quantise(distributions.sample(family, rng, vocab), j)
            out.append((method, family, z, m.draw_params(rng), f"{distributions.describe(family)} (vocab {vocab})", policies[j % len(policies)]))
    return out


def golden_cases() -> list[Case]:
    """The golden cases with their certified expectations, in file order."""
    cases = []
    counters: dict[str, int] = {}
    rows = [r + ("paper",) for r in _hand_cases() + _family_cases()] + _truncation_hand_cases() + _truncation_family_cases()
    for method, family, z, params, comment, policy in rows:
        m = get_method(method)
        z = np.asarray(z, dtype=np.float64)
        counters[method] = counters.get(method, 0) + 1
        ref = m.reference(z, params, Options(policy=policy))
        expected = m.expected_json(ref)
        if m.record.form == "temperature":
            expected["margin"] = "0x1p-80"  # 25 correct digits: relative accuracy better than 2**-80
        cases.append(Case(f"v{VECTORS_VERSION}-{method}-{counters[method]:04d}", method, family, z, dict(params), comment, expected))
    return cases


def vectors_text() -> str:
    """The exact text of the golden vector file (header line, then one case per line)."""
    cases = golden_cases()
    header = {
        "format": "ees-theory-golden",
        "version": VECTORS_VERSION,
        "cases": len(cases),
        "methods": sorted({c.method for c in cases}),
        "note": "logits and temperatures are hex floats; -inf masks a token; regenerate with `ees-theory vectors regen`",
    }
    lines = [json.dumps(header, separators=(",", ":"))]
    for c in cases:
        obj = c.to_json()
        obj["dtypes"] = list(c.dtypes)
        lines.append(json.dumps(obj, separators=(",", ":")))
    return "\n".join(lines) + "\n"


def regen(path: str | Path | None = None) -> Path:
    """Rewrite the golden vector file (default: the packaged one); returns its path.

    Parameters
    ----------
    path : str, pathlib.Path or None
        Where to write (its folder is created); ``None``: :func:`vectors_path`.

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile, os
    >>> path = regen(os.path.join(tempfile.mkdtemp(), "v.jsonl"))
    >>> path.read_text() == vectors_path().read_text()
    True
    """
    target = Path(path) if path else vectors_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(vectors_text(), encoding="utf-8")
    return target


def is_current(path: str | Path | None = None) -> bool:
    """Whether the file equals what :func:`regen` would write.

    Parameters
    ----------
    path : str, pathlib.Path or None
        The file to compare (default: the packaged one); a missing file is not current.

    Returns
    -------
    bool
        True when its text is exactly what :func:`regen` writes.

    Examples
    --------
    >>> is_current()
    True
    """
    target = Path(path) if path else vectors_path()
    return target.exists() and target.read_text(encoding="utf-8") == vectors_text()


def load_vectors(path: str | Path | None = None, method: str | None = None) -> list[Case]:
    """Read golden vectors (default: the packaged file), optionally of one method.

    Parameters
    ----------
    path : str, pathlib.Path or None
        A JSON Lines vectors file (default ``None``: the packaged one).
    method : str or None
        Keep only the cases of this method (default: all; a name no case has gives none).

    Returns
    -------
    list of Case
        The cases in file order.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        A path that is not a regular file, or a line that is not UTF-8, not a JSON object or not
        a case, naming the file and line.

    Examples
    --------
    >>> {c.method for c in load_vectors(method="edt")}
    {'edt'}
    """
    target = Path(path) if path else vectors_path()
    if not target.exists():
        raise FileNotFoundError(f"no vector file at {target}; run `ees-theory vectors regen`")
    check_input_file(target, "a vector file (JSON Lines)")
    cases = []
    with open(target, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            where = f"{target}:{lineno}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(f"{where}: not UTF-8 text (a binary file?); a vector file is JSON Lines") from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except RecursionError:
                raise ValueError(f"{where}: JSON nested too deeply (a case is an object of flat lists)") from None
            except ValueError:
                raise ValueError(f"{where}: not a JSON line") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{where}: not a JSON object (a case is {{\"logits\": [...], \"params\": {{...}}}})")
            if "logits" not in obj:
                continue  # the header
            try:
                case = Case.from_json(obj, default_id=f"{target.stem}-{lineno}")
            except (ValueError, TypeError, RecursionError, AttributeError) as exc:
                raise ValueError(f"{where}: not a case ({exc})") from None
            if method is None or case.method == method:
                cases.append(case)
    return cases
