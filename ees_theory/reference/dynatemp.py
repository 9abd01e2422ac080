"""llama.cpp's dynamic temperature, ``temp_ext`` (specification §4), exactly.

``delta <= 0``: plain temperature ``temp``. Otherwise, with ``n`` the number of entries in the
candidate array (masked ``-inf`` entries included): ``n <= 1`` is a no-op (returned as ``None``);
else ``T = T_min + (T_max - T_min) * (H / ln n) ** exponent`` with ``T_min = max(0, temp - delta)``,
``T_max = temp + delta`` and ``H`` the entropy (nats) of ``softmax(logits)``. ``exponent = 0``
gives ``T_max`` (``0**0 = 1``). A negative exponent with ``H = 0`` is an error (llama.cpp divides
by zero there). ``T <= 0`` means greedy. Results are correct to ``dps`` digits.

``policy`` says what ``n`` counts (:data:`ees_theory.spec.methods.DYNATEMP_POLICIES`): every entry
(``paper``, ``llama.cpp``), or only the finite ones (``finite-candidates``: masked tokens do not
count toward ``ln n``). Under ``finite-candidates`` a row with one finite candidate has
``H / ln n = 0 / 0``: undefined, and no temperature can change its distribution (a ValueError).

>>> float(dynatemp_temperature([0.0, 0.0], temp=1.0, delta=0.5, exponent=1.0))  # H = ln n
1.5
>>> dynatemp_temperature([0.3], temp=1.0, delta=0.5, exponent=1.0) is None      # n = 1: no-op
True
>>> float(dynatemp_temperature([0.0, -float("inf")], 1.0, 0.5, 1.0))            # H = 0: T_min
0.5
>>> float(dynatemp_temperature([0.0, 0.0, -float("inf")], 1.0, 0.5, 1.0, policy="finite-candidates"))  # H = ln 2 = ln n
1.5
"""

from __future__ import annotations

from typing import Any

import mpmath
from mpmath import iv

from .. import spec
from ..spec.methods import check_dynatemp_policy
from ..core.ctx import IV, MP
from ..core.temperatures import dynatemp_from_ratio, dynatemp_range
from .entropy import enclose, entropy_interval
from .rows import as_row

__all__ = ["dynatemp_temperature"]


def dynatemp_temperature(
    logits: Any, temp: float, delta: float, exponent: float, dps: int = 30, policy: str = "llama.cpp"
) -> mpmath.mpf | None:
    """The dynatemp temperature for one row, or ``None`` when llama.cpp applies nothing.

    Parameters
    ----------
    logits : sequence of float, numpy.ndarray or ExactRow
        One row (1-D) of float16/32/64 logits, ``-inf`` masking a token, at least one finite.
    temp : float
        The centre temperature, finite; ``T <= 0`` in the result means greedy.
    delta : float
        Half the range, finite; ``delta <= 0`` returns ``temp`` unchanged.
    exponent : float
        The power on the normalised entropy, finite; ``0`` gives ``temp + delta``.
    dps : int
        Correct decimal digits of the result, 1 to 10000 (default 30).
    policy : str
        What ``n`` in ``ln n`` counts: ``"llama.cpp"`` (default) or ``"paper"``, every entry;
        ``"finite-candidates"``, the finite entries only.

    Returns
    -------
    mpmath.mpf or None
        The temperature, or ``None`` for an array of at most one entry (llama.cpp does nothing).

    Raises
    ------
    ValueError
        A bad row or parameter, an unknown ``policy``, a negative ``exponent`` at entropy 0, one
        finite candidate under ``"finite-candidates"``, or a result beyond ``exp(+/-2**2048)``.
    TypeError
        A row that is not numeric, or a parameter that is not a real number.
    """
    temp, delta, exponent = spec.check_dynatemp_params(temp, delta, exponent)
    dps = spec.check_dps(dps)
    finite_only = check_dynatemp_policy(policy) == "finite-candidates"
    row = as_row(logits)
    if delta <= 0:
        return mpmath.mpf(temp)
    if finite_only and row.n <= 1:
        raise ValueError("dynatemp under policy 'finite-candidates' is undefined on a row with one finite candidate "
                         "(H / ln n = 0 / 0); no temperature changes its distribution")
    size = row.n if finite_only else row.size  # what ln n counts
    if size <= 1:
        return None
    with mpmath.workprec(200):  # temp -/+ delta of two doubles is exact at 200 bits
        t_min, t_max = dynatemp_range(temp, delta, MP)
    if exponent == 0:
        with mpmath.workdps(dps):
            return +t_max
    if row.n == 1:  # H = 0
        if exponent < 0:
            raise ValueError("dynatemp with a negative exponent is undefined at entropy 0 (a single candidate)")
        with mpmath.workdps(dps):
            return +t_min
    def compute(prec: int):
        H = entropy_interval(row, 1.0, prec)
        ratio = H / iv.log(iv.mpf(size))
        return dynatemp_from_ratio(ratio, IV.num(t_min), IV.num(t_max), IV.num(exponent), IV)

    try:
        return enclose(compute, dps)
    except ArithmeticError:
        raise ValueError(
            "the dynatemp temperature of this row lies beyond exp(+/-2**2048) relative to its range "
            "(the entropy is astronomically small): beyond every float format and what the reference "
            "evaluates") from None
