"""EDT, entropy-based dynamic temperature (specification §3): ``T = T0 * N**(theta / H)``.

``H`` is the entropy (nats) of ``softmax(logits)`` over the unmasked tokens (``entropy_of="raw"``,
the default) or of ``softmax(logits / T0)`` (``"tempered"``). ``H = 0`` (a single candidate) gives
the greedy limit ``T = 0``; ``theta = 0`` gives ``T = T0`` (the formula is constant in ``H``, so its
limit at ``H = 0`` is ``T0`` too). Results are correct to ``dps`` digits. A temperature below
``T0 * exp(-2**2048)`` (the entropy is astronomically small next to ``theta``) is reported with a
``ValueError`` rather than evaluated.

>>> import math
>>> T = edt_temperature([0.0, 0.0], T0=1.0, theta=math.log(2))   # H = ln 2 = theta
>>> float(T)                                                      # N * T0
0.8
>>> edt_temperature([5.0, -float("inf")], T0=1.0, theta=1.0)     # one candidate: greedy
mpf('0.0')
"""

from __future__ import annotations

from typing import Any

import mpmath

from .. import spec
from ..core.ctx import IV
from ..core.temperatures import edt_from_entropy, edt_log_factor
from .entropy import enclose, entropy_interval
from .rows import as_row

__all__ = ["edt_temperature"]


def edt_temperature(
    logits: Any,
    T0: float,
    theta: float,
    N: float = spec.EDT_DEFAULT_N,
    entropy_of: str = "raw",
    dps: int = 30,
) -> mpmath.mpf:
    """The EDT temperature for one row, correct to ``dps`` digits (0 means greedy).

    Parameters
    ----------
    logits : sequence of float, numpy.ndarray or ExactRow
        One row (1-D) of float16/32/64 logits, ``-inf`` masking a token, at least one finite
        (or probabilities through :func:`~ees_theory.reference.rows.from_probs`).
    T0 : float
        The base temperature, finite and ``> 0``.
    theta : float
        The exponent's scale, finite and ``>= 0``; ``0`` gives ``T0`` on every row.
    N : float
        The base of the power, strictly between 0 and 1 (default 0.8).
    entropy_of : str
        ``"raw"`` (entropy of ``softmax(logits)``, the default) or ``"tempered"`` (of
        ``softmax(logits / T0)``).
    dps : int
        Correct decimal digits of the result, 1 to 10000 (default 30).

    Returns
    -------
    mpmath.mpf
        ``T0 * N**(theta / H)``; 0 for a single candidate, ``T0`` when ``theta = 0``.

    Raises
    ------
    ValueError
        A parameter out of its range, an unknown ``entropy_of``, a bad row (empty, ``+inf`` or NaN,
        no finite logit, not 1-D), or a temperature below ``T0 * exp(-2**2048)``.
    TypeError
        A row that is not numeric, or a parameter that is not a real number.
    """
    T0, theta, N = spec.check_edt_params(T0, theta, N)
    entropy_of = spec.check_entropy_of(entropy_of)
    dps = spec.check_dps(dps)
    row = as_row(logits)
    tau = 1.0 if entropy_of == "raw" else T0
    if theta == 0:
        return mpmath.mpf(T0)
    if row.n == 1:
        return mpmath.mpf(0)

    def compute(prec: int):
        H = entropy_interval(row, tau, prec)
        return edt_from_entropy(H, T0, edt_log_factor(theta, N, IV), IV)

    try:
        return enclose(compute, dps)
    except ArithmeticError:
        raise ValueError(
            "the EDT temperature of this row is below T0 * exp(-2**2048) (its entropy is tiny next to "
            "theta): positive, but beneath every float format and beyond what the reference evaluates; "
            "any sampler is greedy here") from None
