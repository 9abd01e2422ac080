"""Mutant ports: each carries one known misreading of the specification (book/spec.md); the harness must reject them all.

Each is a real port (the protocol's signature), built from the correct numpy port of
``tests/ports/numpy_port.py`` with one fault switched on, or written out where the fault is in the
arithmetic itself (float16 ``log`` of underflowed probabilities, in-place mutation). Each declares
the diagnosis the harness must give it (``@mutant``, see ``tests/meta/diagnosis.py``).

>>> import numpy as np
>>> ees_crossing_included(np.array([2.0, 1.0, 0.0]), 1.0).tolist()
[True, True, False]
"""

import numpy as np

from tests.meta.diagnosis import mutant
from tests.ports import numpy_port as good


@mutant("ees", fault="crossing-included", words="crossing token is kept")
def ees_crossing_included(logits, temperature):
    """The crossing token kept (k* = i* instead of i* - 1)."""
    return good.ees(logits, temperature, inclusive=True)


@mutant("ees", fault="last-crossing", words="last crossing")
def ees_last_crossing(logits, temperature):
    """The last crossing used instead of the first."""
    return good.ees(logits, temperature, last=True)


@mutant("ees", fault="hbar-ln-vocab", words="ln V")
def ees_hbar_ln_vocab(logits, temperature):
    """Hbar_k = H_k / ln V instead of H_k / ln k."""
    return good.ees(logits, temperature, ln_vocab=True)


@mutant("ees", fault="one-fewer", words="one token fewer")
def ees_one_fewer(logits, temperature):
    """The cut index taken one before the crossing (k* - 1 tokens)."""
    return good.ees(logits, temperature, one_fewer=True)


@mutant("ees", fault="entropy-in-bits", words="in bits")
def ees_entropy_in_bits(logits, temperature):
    """H_k in bits over ln k in nats."""
    return good.ees(logits, temperature, bits=True)


@mutant("ees", fault="non-strict", words="'<=' used instead of '<'")
def ees_non_strict(logits, temperature):
    """'<=' instead of '<' in the crossing test."""
    return good.ees(logits, temperature, nonstrict=True)


@mutant("ees", fault="mutated-input", words="modified its input", dtype="float32")
def ees_mutates_input(logits, temperature):
    """Right answer, but the logits are divided by the temperature in place."""
    logits /= logits.dtype.type(temperature)
    logits -= logits[np.isfinite(logits)].max()
    return good.ees(logits, 1.0)


@mutant("ees", fault="keeps-all", words="0*ln 0", dtype="float16")
def ees_fp16_log_underflow(logits, temperature):
    """EES in float16 arithmetic with ``p * log(p)`` of underflowed probabilities: NaN gaps."""
    with np.errstate(all="ignore"):
        z = np.asarray(logits, dtype=np.float16) / np.float16(temperature)
        order = np.argsort(-z, kind="stable")
        zs = z[order]
        e = np.exp(zs - zs[0])
        p = e / e.sum(dtype=np.float16)
        mass = np.cumsum(p, dtype=np.float16)
        plogp = np.cumsum(-p * np.log(p), dtype=np.float16)  # 0 * -inf = NaN once p underflows
        H = np.log(mass) + plogp / mass
        ks = np.arange(1, len(z) + 1)
        hbar = H / np.log(ks).astype(np.float16)
        hits = np.flatnonzero(hbar[1:] < mass[1:])  # NaN compares false: no crossing
    k = int(hits[0]) + 1 if len(hits) else int(np.isfinite(zs).sum())
    mask = np.zeros(z.shape, dtype=bool)
    mask[order[:k]] = True
    return mask


@mutant("edt", fault="entropy-in-bits", words="bits")
def edt_bits(logits, T0, theta, N):
    """EDT with the entropy in bits."""
    return good.edt(logits, T0, theta, N, bits=True)


@mutant("edt", fault="entropy-of-tempered", words="softmax(z / T0)")
def edt_tempered(logits, T0, theta, N):
    """EDT with the entropy of softmax(z / T0) instead of softmax(z)."""
    return good.edt(logits, T0, theta, N, tempered=True)


def _fp16_entropy(logits):
    z = np.asarray(logits, dtype=np.float16)
    with np.errstate(all="ignore"):
        e = np.exp(z - z[np.isfinite(z)].max())
        p = e / e.sum(dtype=np.float16)
        return float(-(p * np.log(p)).sum(dtype=np.float16))  # NaN once a probability underflows


@mutant("edt", fault="nan", words="NaN", dtype="float16")
def edt_fp16_log_underflow(logits, T0, theta, N):
    """EDT in float16 with ``p * log(p)`` of underflowed probabilities: NaN."""
    if theta == 0:
        return float(T0)
    H = _fp16_entropy(logits)
    return 0.0 if H == 0 else float(T0 * N ** (theta / H))


@mutant("dynatemp", fault="n-finite-only", words="only the finite entries")
def dynatemp_finite_n(logits, temp, delta, exponent):
    """dynatemp with n counting only the finite entries."""
    return good.dynatemp(logits, temp, delta, exponent, finite_n=True)


@mutant("dynatemp", fault="nan", words="NaN", dtype="float16")
def dynatemp_fp16_log_underflow(logits, temp, delta, exponent):
    """dynatemp in float16 with ``p * log(p)`` of underflowed probabilities: NaN."""
    if delta <= 0:
        return float(temp)
    if logits.shape[-1] <= 1:
        return None
    t_min, t_max = max(0.0, temp - delta), temp + delta
    if exponent == 0:
        return t_max
    H = _fp16_entropy(logits)
    return float(t_min + (t_max - t_min) * (H / np.log(logits.shape[-1])) ** exponent)
