"""The method table (specification §2-§4 and the truncation samplers): names, parameters, domains, policies.

One table that the certified reference, the torch kernels, the port harness and the CLI help all
read: the EES selection rules, which entropy EDT reads, the EDT and dynatemp parameter domains, and
for every truncation sampler its parameters (default, validator), its policies and a summary.

>>> sorted(SAMPLERS)[:3], POLICIES
(['epsilon', 'eta', 'min-p'], ('paper', 'transformers', 'llama.cpp', 'sample-std'))
>>> check_rule("first")
Traceback (most recent call last):
...
ValueError: rule must be one of first-exclusive, first-inclusive, last; got 'first'
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Optional

from .inputs import check_min_tokens_to_keep, check_real

__all__ = [
    "RULES",
    "DEFAULT_RULE",
    "ENTROPY_OF",
    "EDT_DEFAULT_N",
    "check_rule",
    "check_entropy_of",
    "check_edt_params",
    "check_dynatemp_params",
    "POLICIES",
    "DEFAULT_POLICY",
    "MethodSpec",
    "SAMPLERS",
    "REQUIRED",
    "INT_PARAMS",
    "check_params",
]

#: EES selection rules (specification §2). ``first-exclusive`` is the authors' code.
RULES = ("first-exclusive", "first-inclusive", "last")
DEFAULT_RULE = "first-exclusive"

#: Which distribution EDT takes the entropy of (specification §3).
ENTROPY_OF = ("raw", "tempered")

#: The only EDT hyperparameter the paper confirms.
EDT_DEFAULT_N = 0.8


def check_rule(rule: Any) -> str:
    """One of :data:`RULES`."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}; got {rule!r}")
    return rule


def check_entropy_of(entropy_of: Any) -> str:
    """One of :data:`ENTROPY_OF`."""
    if entropy_of not in ENTROPY_OF:
        raise ValueError(f"entropy_of must be 'raw' or 'tempered', got {entropy_of!r}")
    return entropy_of


def check_edt_params(T0: Any, theta: Any, N: Any) -> tuple[float, float, float]:
    """EDT parameters (specification §3): ``T0 > 0``, ``theta >= 0``, ``0 < N < 1``.

    >>> check_edt_params(1.0, 0.5, 1.0)
    Traceback (most recent call last):
    ...
    ValueError: N must lie strictly between 0 and 1, got 1.0
    """
    T0 = check_real(T0, "T0")
    theta = check_real(theta, "theta")
    N = check_real(N, "N")
    if T0 <= 0:
        raise ValueError(f"T0 must be > 0, got {T0!r}")
    if theta < 0:
        raise ValueError(f"theta must be >= 0, got {theta!r}")
    if not 0 < N < 1:
        raise ValueError(f"N must lie strictly between 0 and 1, got {N!r}")
    return T0, theta, N


def check_dynatemp_params(temp: Any, delta: Any, exponent: Any) -> tuple[float, float, float]:
    """llama.cpp dynatemp parameters (specification §4): all finite; ``temp <= 0`` means greedy."""
    return check_real(temp, "temp"), check_real(delta, "delta"), check_real(exponent, "exponent")



# ---- truncation samplers ----------------------------------------------------------------------
#: Engine conventions a truncation sampler can follow (``paper`` is the default).
POLICIES = ("paper", "transformers", "llama.cpp", "sample-std")
DEFAULT_POLICY = "paper"


def _real(name: str, v: Any) -> float:
    return check_real(v, name)


def _int(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    return int(v)


def _in(name: str, x: float, lo: float, hi: float, lo_open: bool, hi_open: bool, policy: str) -> float:
    ok = (x > lo if lo_open else x >= lo) and (x < hi if hi_open else x <= hi)
    if not ok:
        rng = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise ValueError(f"{name} must lie in {rng} under policy {policy!r}, got {x!r}")
    return x


def _unit(name: str, lo_open: bool, hi_open: bool, free_policies: tuple[str, ...] = ()):
    def check(v: Any, policy: str) -> float:
        x = _real(name, v)
        return x if policy in free_policies else _in(name, x, 0.0, 1.0, lo_open, hi_open, policy)

    return check


def _k(v: Any, policy: str) -> int:
    k = _int("k", v)
    if policy != "llama.cpp" and k < 1:
        raise ValueError(f"k must be >= 1 under policy {policy!r} (llama.cpp reads k <= 0 as a no-op), got {k}")
    return k


def _min_keep(v: Any, policy: str) -> int:
    return check_min_tokens_to_keep(v)


def _positive(name: str):
    def check(v: Any, policy: str) -> float:
        x = _real(name, v)
        if x <= 0:
            raise ValueError(f"{name} must be > 0, got {x!r}")
        return x

    return check


def _nonneg(name: str, free_policies: tuple[str, ...] = ()):
    def check(v: Any, policy: str) -> float:
        x = _real(name, v)
        if x < 0 and policy not in free_policies:
            raise ValueError(f"{name} must be >= 0 under policy {policy!r}, got {x!r}")
        return x

    return check


def _mu(v: Any, policy: str) -> Optional[float]:
    return None if v is None else _real("mu", v)


def _u(v: Any, policy: str) -> float:
    x = _real("u", v)
    if not 0.0 <= x < 1.0:
        raise ValueError(f"u (the uniform draw) must lie in [0, 1), got {x!r}")
    return x


def _m(v: Any, policy: str) -> int:
    m = _int("m", v)
    if m < 2:
        raise ValueError(f"m (tokens used to fit the Zipf exponent) must be >= 2, got {m}")
    return m


def _n_vocab(v: Any, policy: str) -> Optional[int]:
    if v is None:
        return None
    nv = _int("n_vocab", v)
    if nv < 2:
        raise ValueError(f"n_vocab must be >= 2, got {nv}")
    return nv


#: The default of a parameter that must be given.
REQUIRED = object()


@dataclass(frozen=True)
class MethodSpec:
    """A sampler: its parameters ``{name: (default, check(value, policy))}`` and policies."""

    name: str
    params: dict
    policies: tuple[str, ...]
    summary: str


_MK = {"min_tokens_to_keep": (1, _min_keep)}
_MIRO = {
    "tau": (REQUIRED, _positive("tau")),
    "eta": (REQUIRED, _positive("eta")),
    "mu": (None, _mu),
    "u": (REQUIRED, _u),
}

#: Every truncation sampler with its parameters (default, validator) and the policies it has.
SAMPLERS: dict[str, MethodSpec] = {
    s.name: s
    for s in (
        MethodSpec("top-k", {"k": (REQUIRED, _k), **_MK}, ("paper", "transformers", "llama.cpp"), "the k most probable tokens"),
        MethodSpec(
            "top-p",
            {"p": (REQUIRED, None), **_MK},
            ("paper", "transformers", "llama.cpp"),
            "smallest sorted prefix with mass >= p",
        ),
        MethodSpec(
            "min-p",
            {"min_p": (REQUIRED, None), **_MK},
            ("paper", "transformers", "llama.cpp"),
            "p_i >= min_p * p_max",
        ),
        MethodSpec(
            "typical",
            {"mass": (REQUIRED, None), **_MK},
            ("paper", "transformers", "llama.cpp"),
            "shortest prefix by |-ln p - H| with mass >= mass",
        ),
        MethodSpec("epsilon", {"epsilon": (REQUIRED, _unit("epsilon", True, True)), **_MK}, ("paper", "transformers"), "p_i > epsilon"),
        MethodSpec(
            "eta",
            {"epsilon": (REQUIRED, _unit("epsilon", True, True)), **_MK},
            ("paper", "transformers"),
            "p_i > min(epsilon, sqrt(epsilon) exp(-H))",
        ),
        MethodSpec("p-less", {}, ("paper",), "p_i >= sum p^2"),
        MethodSpec("p-less-norm", {}, ("paper",), "p_i >= (V sum p^2 - 1)/(V - 1)"),
        MethodSpec(
            "top-n-sigma",
            {"n": (REQUIRED, _nonneg("n", ("llama.cpp",)))},
            ("paper", "llama.cpp", "sample-std"),
            "l_i >= max l - n sigma(l)",
        ),
        MethodSpec(
            "mirostat-v1",
            {**_MIRO, "m": (100, _m), "n_vocab": (None, _n_vocab)},
            ("paper", "llama.cpp"),
            "top-k with k from a Zipf fit, steered by mu",
        ),
        MethodSpec("mirostat-v2", dict(_MIRO), ("paper", "llama.cpp"), "surprise -log2 p_i <= mu, steered by mu"),
    )
}

# Domains that differ by policy (paper / transformers / llama.cpp).
_P_CHECKS = {
    "top-p": {"paper": _unit("p", True, False), "transformers": _unit("p", False, False), "llama.cpp": lambda v, pol: _real("p", v)},
    "min-p": {"paper": _unit("min_p", False, False), "transformers": _unit("min_p", False, False), "llama.cpp": lambda v, pol: _real("min_p", v)},
    "typical": {"paper": _unit("mass", True, False), "transformers": _unit("mass", True, True), "llama.cpp": lambda v, pol: _real("mass", v)},
}
_P_NAME = {"top-p": "p", "min-p": "min_p", "typical": "mass"}


def check_params(method: Any, policy: Any, params: dict) -> dict:
    """Validate a method name, a policy and its parameters; return them with defaults filled in.

    >>> check_params("top-p", "paper", {"p": 0.9})
    {'p': 0.9, 'min_tokens_to_keep': 1}
    >>> check_params("top-p", "paper", {"p": 0.0})
    Traceback (most recent call last):
    ...
    ValueError: p must lie in (0, 1] under policy 'paper', got 0.0
    >>> check_params("p-less", "transformers", {})
    Traceback (most recent call last):
    ...
    ValueError: policy 'transformers' is not defined for p-less; it has: paper
    """
    if method not in SAMPLERS:
        raise ValueError(f"unknown truncation method {method!r}; expected one of {', '.join(SAMPLERS)}")
    ms = SAMPLERS[method]
    if policy not in ms.policies:
        raise ValueError(f"policy {policy!r} is not defined for {method}; it has: {', '.join(ms.policies)}")
    unknown = sorted(set(params) - set(ms.params))
    if unknown:
        raise TypeError(f"{method} got unexpected parameter(s) {', '.join(unknown)}; it takes: {', '.join(ms.params) or 'none'}")
    out = {}
    for name, (default, check) in ms.params.items():
        if name in params:
            value = params[name]
        elif default is REQUIRED:
            raise TypeError(f"{method} needs the parameter {name!r}")
        else:
            value = default
        if check is None:
            check = _P_CHECKS[method][policy]
        out[name] = check(value, policy) if value is not None or default is not None else None
    if method == "top-k" and policy == "llama.cpp" and out["min_tokens_to_keep"] != 1:
        raise ValueError("llama.cpp's top-k has no min_keep; leave min_tokens_to_keep at 1 under policy 'llama.cpp'")
    return out


#: Parameters that count tokens: a port receives them as Python ints.
INT_PARAMS = frozenset(name for ms in SAMPLERS.values() for name, (_, check) in ms.params.items() if check in (_k, _min_keep, _m, _n_vocab))
