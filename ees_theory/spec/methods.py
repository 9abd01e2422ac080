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
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .inputs import check_min_tokens_to_keep, check_real, check_temperature

__all__ = [
    "RULES",
    "DEFAULT_RULE",
    "ENTROPY_OF",
    "EDT_DEFAULT_N",
    "check_rule",
    "check_entropy_of",
    "check_edt_params",
    "check_dynatemp_params",
    "DYNATEMP_POLICIES",
    "check_dynatemp_policy",
    "POLICIES",
    "DEFAULT_POLICY",
    "Param",
    "MethodSpec",
    "FORMS",
    "SAMPLERS",
    "REQUIRED",
    "INT_PARAMS",
    "OFF_VALUES",
    "check_params",
    "method_help",
    "method_names",
    "method_table",
    "with_method_table",
    "signature",
    "record",
    "RECORDS",
    "OTHER_METHODS",
    "TRANSFORMS",
    "check_transform_params",
]

#: EES selection rules (specification §2). ``first-exclusive`` is the authors' code.
RULES = ("first-exclusive", "first-inclusive", "last")
DEFAULT_RULE = "first-exclusive"

#: Which distribution EDT takes the entropy of (specification §3).
ENTROPY_OF = ("raw", "tempered")

#: The only EDT hyperparameter the paper confirms.
EDT_DEFAULT_N = 0.8


def check_rule(rule: Any) -> str:
    """One of :data:`RULES`.

    Parameters
    ----------
    rule : object
        The EES selection rule to check.

    Returns
    -------
    str
        ``rule``.

    Raises
    ------
    ValueError
        Not one of :data:`RULES`.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}; got {rule!r}")
    return rule


def check_entropy_of(entropy_of: Any) -> str:
    """One of :data:`ENTROPY_OF`.

    Parameters
    ----------
    entropy_of : object
        The value to check.

    Returns
    -------
    str
        ``entropy_of``: ``"raw"`` or ``"tempered"``.

    Raises
    ------
    ValueError
        Not one of :data:`ENTROPY_OF`.
    """
    if entropy_of not in ENTROPY_OF:
        raise ValueError(f"entropy_of must be 'raw' or 'tempered', got {entropy_of!r}")
    return entropy_of


def check_edt_params(T0: Any, theta: Any, N: Any) -> tuple[float, float, float]:
    """EDT parameters (specification §3): ``T0 > 0``, ``theta >= 0``, ``0 < N < 1``.

    Parameters
    ----------
    T0 : real number
        The base temperature, finite and ``> 0``.
    theta : real number
        The exponent's scale, finite and ``>= 0``.
    N : real number
        The base of the power, strictly between 0 and 1.

    Returns
    -------
    tuple of float
        ``(T0, theta, N)`` as floats.

    Raises
    ------
    TypeError
        A parameter that is not a real number (or a bool).
    ValueError
        A parameter out of its range, NaN or infinite.

    Examples
    --------
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
    """llama.cpp dynatemp parameters (specification §4): all finite; ``temp <= 0`` means greedy.

    Parameters
    ----------
    temp : real number
        The centre temperature (``<= 0``: greedy).
    delta : real number
        The half-width of the temperature range.
    exponent : real number
        The power applied to the normalised entropy.

    Returns
    -------
    tuple of float
        ``(temp, delta, exponent)`` as floats.

    Raises
    ------
    TypeError
        A parameter that is not a real number (or a bool).
    ValueError
        A NaN or infinite parameter.
    """
    return check_real(temp, "temp"), check_real(delta, "delta"), check_real(exponent, "exponent")


#: What dynatemp's ``n`` in ``ln n`` counts (specification §4): every entry of the candidate array,
#: masked ``-inf`` ones included (``paper``, the same as ``llama.cpp``), or only the finite entries
#: (``finite-candidates``, the convention of front ends that count the tokens left after masking).
DYNATEMP_POLICIES = ("paper", "llama.cpp", "finite-candidates")


def check_dynatemp_policy(policy: Any) -> str:
    """One of :data:`DYNATEMP_POLICIES`.

    Parameters
    ----------
    policy : object
        The policy name to check.

    Returns
    -------
    str
        ``policy``.

    Raises
    ------
    ValueError
        Not one of :data:`DYNATEMP_POLICIES`.

    Examples
    --------
    >>> check_dynatemp_policy("transformers")
    Traceback (most recent call last):
    ...
    ValueError: policy 'transformers' is not defined for dynatemp; it has: paper, llama.cpp, finite-candidates
    """
    if policy not in DYNATEMP_POLICIES:
        raise ValueError(f"policy {policy!r} is not defined for dynatemp; it has: {', '.join(DYNATEMP_POLICIES)}")
    return policy



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


def _xtc_threshold(v: Any, policy: str) -> float:
    x = _real("threshold", v)
    if policy == "llama.cpp":  # any threshold > 0.5 is a no-op there
        if x <= 0:
            raise ValueError(f"threshold must be > 0 under policy {policy!r}, got {x!r}")
        return x
    return _in("threshold", x, 0.0, 1.0, True, False, policy)


#: The default of a parameter that must be given.
REQUIRED = object()


@dataclass(frozen=True)
class Param:
    """One parameter of a sampler, every fact about it stated once.

    ``default`` (:data:`REQUIRED` where it must be given), ``check(value, policy)`` its domain
    (``None``: the domain differs by policy, see ``_P_CHECKS``), ``grid`` the values generated
    cases draw from (in this order: the golden vectors depend on it; empty: the harness does not
    pass it), ``integer`` whether it counts tokens (a port receives an int), ``plain`` a simple
    value a shrunk failing case tries (``None``: none), ``help`` what it is, in a few words.

    Parameters
    ----------
    default : object
        The value used when the parameter is not given, or :data:`REQUIRED`.
    check : callable or None
        ``check(value, policy)`` returns the checked value or raises; ``None`` where the domain
        differs by policy.
    grid : tuple
        The values generated cases draw from, in order (default empty: not passed by the harness).
    integer : bool
        The parameter counts tokens and a port receives an ``int`` (default ``False``).
    plain : object
        A simple value a shrunk failing case tries (default ``None``: none).
    help : str
        What the parameter is, in a few words (default ``""``).

    Examples
    --------
    >>> SAMPLERS["xtc"].params["u"].help
    'the uniform draw of the gate, in [0, 1)'
    """

    default: Any
    check: Optional[Callable[[Any, str], Any]]
    grid: tuple = ()
    integer: bool = False
    plain: Any = None
    help: str = ""


#: What a method hands back (a port's output form): a kept ``mask``, a ``temperature``, the
#: transformed ``logits``, a ``mask-with-state`` (the kept mask, the drawn token and the new state),
#: or ``draws`` (only samples are observable).
FORMS = ("mask", "temperature", "logits", "mask-with-state", "draws")


@dataclass(frozen=True)
class MethodSpec:
    """A method's record: its parameters ``{name: Param}``, its policies and a one-line summary;
    ``keeps_suffix``: it keeps the least probable tokens (XTC), not the most probable ones;
    ``form``: what it returns (one of ``FORMS``); ``stateful``: it carries a state from step
    to step (mirostat's ``mu``); ``temperature_param``: the name of its temperature parameter;
    ``fixed``: ``{policy: {parameter: value}}``, parameters a policy pins (the engine has none);
    ``ranking``: what its kept set is a prefix of, ``probability`` (the canonical order) or
    ``typical-score`` (``|-ln p - H|`` ascending); ``options``: the run options besides the policy
    it reads (EES's selection ``rule``, EDT's ``entropy_of``).

    Parameters
    ----------
    name : str
        The method's name, as the command line and the protocol spell it.
    params : dict
        ``{name: Param}``: each parameter's default, check and help text.
    policies : tuple of str
        The engine conventions it has, the default first.
    summary : str
        One line saying what it does.
    keeps_suffix : bool
        True when it keeps the least probable tokens (default False).
    form : str
        What a port returns, one of ``FORMS`` (default ``"mask"``).
    stateful : bool
        True when it carries a state between steps (default False).
    temperature_param : str
        The name of its temperature parameter (default ``"temperature"``).
    fixed : dict
        ``{policy: {parameter: value}}`` pinned by a policy (default empty).
    ranking : str
        ``"probability"`` (default) or ``"typical-score"``.
    options : tuple of str
        Run options it reads besides the policy (default none).

    Raises
    ------
    ValueError
        ``form`` not in ``FORMS``, or ``fixed`` naming a policy or parameter it does not have.

    Examples
    --------
    >>> SAMPLERS["mirostat-v2"].form, SAMPLERS["mirostat-v2"].stateful, SAMPLERS["top-k"].fixed
    ('mask-with-state', True, {'llama.cpp': {'min_tokens_to_keep': 1}})
    """

    name: str
    params: dict
    policies: tuple[str, ...]
    summary: str
    keeps_suffix: bool = False
    form: str = "mask"
    stateful: bool = False
    temperature_param: str = "temperature"
    fixed: dict = field(default_factory=dict)
    ranking: str = "probability"
    options: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.form not in FORMS:
            raise ValueError(f"form must be one of {', '.join(FORMS)}; got {self.form!r}")
        for pol, pinned in self.fixed.items():
            if pol not in self.policies or not set(pinned) <= set(self.params):
                raise ValueError(f"{self.name}: fixed names a policy or parameter it does not have: {pol!r} {sorted(pinned)}")

    @property
    def off(self) -> dict:
        """Its parameters that have a value meaning "off" (``OFF_VALUES``), with that value.

        >>> SAMPLERS["top-p"].off, SAMPLERS["p-less"].off
        ({'min_tokens_to_keep': 1}, {})
        """
        return {p: OFF_VALUES[p] for p in self.params if p in OFF_VALUES}


#: The value at which a parameter does nothing: the sampler keeps what it would keep without the
#: parameter. A port that has no such parameter is judged only on the cases that hold it there.
OFF_VALUES: dict[str, Any] = {
    "min_tokens_to_keep": 1,
    # XTC without its gate (always applied) is XTC with probability 1: then no draw shuts it
    "probability": 1.0,
    # quadratic sampling as first shipped, a smoothing factor alone, is the curve 1
    "smoothing_curve": 1.0,
}


_MK = {"min_tokens_to_keep": Param(1, _min_keep, (1, 1, 1, 1, 2), integer=True, help="the fewest tokens kept")}
_MIRO = {
    "tau": Param(REQUIRED, _positive("tau"), (2.0, 3.0, 5.0), help="target surprise (bits)"),
    "eta": Param(REQUIRED, _positive("eta"), (0.1, 0.1, 0.5), help="learning rate of mu"),
    "mu": Param(None, _mu, (2.0, 4.0, 6.0, 10.0), help="the state (bits; default 2 tau)"),
    "u": Param(REQUIRED, _u, (0.05, 0.3, 0.5, 0.9), help="the uniform draw that picks the token, in [0, 1)"),
}
_EPS = Param(REQUIRED, _unit("epsilon", True, True), (1e-4, 3e-4, 1e-3, 0.01, 0.05), help="probability floor")

#: Every truncation sampler with its parameters (their records) and the policies it has.
SAMPLERS: dict[str, MethodSpec] = {
    s.name: s
    for s in (
        MethodSpec(
            "top-k",
            {"k": Param(REQUIRED, _k, (1, 2, 3, 5, 10, 40), integer=True, help="tokens kept"), **_MK},
            ("paper", "transformers", "llama.cpp"),
            "the k most probable tokens",
            fixed={"llama.cpp": {"min_tokens_to_keep": 1}},  # llama.cpp's top-k has no min_keep
        ),
        MethodSpec(
            "top-p",
            {"p": Param(REQUIRED, None, (0.1, 0.5, 0.8, 0.9, 0.95, 1.0), help="mass to reach"), **_MK},
            ("paper", "transformers", "llama.cpp"),
            "smallest sorted prefix with mass >= p",
        ),
        MethodSpec(
            "min-p",
            {"min_p": Param(REQUIRED, None, (0.01, 0.05, 0.1, 0.2, 0.5), help="fraction of p_max"), **_MK},
            ("paper", "transformers", "llama.cpp"),
            "p_i >= min_p * p_max",
        ),
        MethodSpec(
            "typical",
            {"mass": Param(REQUIRED, None, (0.2, 0.5, 0.9, 0.95), help="mass to reach in score order"), **_MK},
            ("paper", "transformers", "llama.cpp"),
            "shortest prefix by |-ln p - H| with mass >= mass",
            ranking="typical-score",
        ),
        MethodSpec("epsilon", {"epsilon": _EPS, **_MK}, ("paper", "transformers"), "p_i > epsilon"),
        MethodSpec(
            "eta",
            {"epsilon": _EPS, **_MK},
            ("paper", "transformers"),
            "p_i > min(epsilon, sqrt(epsilon) exp(-H))",
        ),
        MethodSpec("p-less", {}, ("paper",), "p_i >= sum p^2"),
        MethodSpec("p-less-norm", {}, ("paper",), "p_i >= (V sum p^2 - 1)/(V - 1)"),
        MethodSpec(
            "top-n-sigma",
            {"n": Param(REQUIRED, _nonneg("n", ("llama.cpp",)), (0.5, 1.0, 1.5, 2.0, 3.0), help="standard deviations below the maximum")},
            ("paper", "llama.cpp", "sample-std"),
            "l_i >= max l - n sigma(l)",
        ),
        MethodSpec(
            "mirostat-v1",
            {
                **_MIRO,
                "m": Param(100, _m, (2, 5, 100), integer=True, help="tokens of the Zipf fit"),
                # a port reads the vocabulary size from the row itself: no grid
                "n_vocab": Param(None, _n_vocab, integer=True, help="vocabulary size of the Zipf estimate"),
            },
            ("paper", "llama.cpp"),
            "top-k with k from a Zipf fit, steered by mu",
            form="mask-with-state",
            stateful=True,
        ),
        MethodSpec("mirostat-v2", dict(_MIRO), ("paper", "llama.cpp"), "surprise -log2 p_i <= mu, steered by mu", form="mask-with-state", stateful=True),
        MethodSpec(
            "xtc",
            {
                "threshold": Param(REQUIRED, _xtc_threshold, (0.05, 0.1, 0.1, 0.2, 0.3, 0.5), plain=0.1, help="probability a top choice reaches"),
                "probability": Param(REQUIRED, None, (0.0, 0.3, 0.5, 1.0, 1.0, 1.0), plain=1.0, help="chance the gate opens"),
                "u": Param(REQUIRED, _u, (0.05, 0.3, 0.5, 0.9), plain=0.5, help="the uniform draw of the gate, in [0, 1)"),
                **_MK,
            },
            ("paper", "llama.cpp"),
            "gate open: drop every token with p_i >= threshold except the least probable of them",
            keeps_suffix=True,
        ),
        MethodSpec(
            "top-a",
            {"a": Param(REQUIRED, _unit("a", False, False), (0.05, 0.1, 0.2, 0.5, 1.0), plain=0.2, help="factor of p_max^2"), **_MK},
            ("paper",),
            "p_i >= a * p_max^2",
        ),
        MethodSpec(
            "tfs",
            {"z": Param(REQUIRED, None, (0.25, 0.5, 0.9, 0.95, 0.99), plain=0.9, help="mass of the normalised second differences"), **_MK},
            ("paper", "llama.cpp"),
            "cut where the normalised |second difference| of the sorted p passes z",
        ),
    )
}

# Domains that differ by policy (paper / transformers / llama.cpp).
_P_CHECKS = {
    "top-p": {"paper": _unit("p", True, False), "transformers": _unit("p", False, False), "llama.cpp": lambda v, pol: _real("p", v)},
    "min-p": {"paper": _unit("min_p", False, False), "transformers": _unit("min_p", False, False), "llama.cpp": lambda v, pol: _real("min_p", v)},
    "typical": {"paper": _unit("mass", True, False), "transformers": _unit("mass", True, True), "llama.cpp": lambda v, pol: _real("mass", v)},
    # llama.cpp: probability <= 0 never opens the gate, z >= 1 is a no-op
    "xtc": {"paper": _unit("probability", False, False), "llama.cpp": lambda v, pol: _real("probability", v)},
    "tfs": {"paper": _unit("z", False, False), "llama.cpp": lambda v, pol: _real("z", v)},
}
_P_NAME = {"top-p": "p", "min-p": "min_p", "typical": "mass"}


#: how the engines name a parameter (for an error that says what the engine lacks)
_ENGINE_NAME = {"min_tokens_to_keep": "min_keep"}


def check_params(method: Any, policy: Any, params: dict) -> dict:
    """Validate a method name, a policy and its parameters; return them with defaults filled in.

    Parameters
    ----------
    method : str
        A truncation sampler's name (a key of ``SAMPLERS``).
    policy : str
        One of that sampler's policies.
    params : dict
        ``{name: value}`` as the caller gave them; absent ones take their defaults.

    Returns
    -------
    dict
        Every parameter of the method, in the record's order, each checked by its rule.

    Raises
    ------
    ValueError
        An unknown method, a policy it does not have, a value out of range under the policy, or a
        value the policy pins changed.
    TypeError
        A parameter the method does not take, a required one missing, or a value of the wrong type.

    Examples
    --------
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
    for name, prm in ms.params.items():
        default, check = prm.default, prm.check
        if name in params:
            value = params[name]
        elif default is REQUIRED:
            raise TypeError(f"{method} needs the parameter {name!r} ({prm.help})")
        else:
            value = default
        if check is None:
            check = _P_CHECKS[method][policy]
        out[name] = check(value, policy) if value is not None or default is not None else None
    for name, value in ms.fixed.get(policy, {}).items():  # a parameter the engine does not have
        if out[name] != value:
            raise ValueError(f"{policy}'s {method} has no {_ENGINE_NAME.get(name, name)}; leave {name} at {value} under policy {policy!r}")
    return out


#: Parameters that count tokens: a port receives them as Python ints.
INT_PARAMS = frozenset(name for ms in SAMPLERS.values() for name, prm in ms.params.items() if prm.integer)


def port_params(params: dict[str, float]) -> dict[str, Any]:
    """A case's parameters as a port receives them (ints where the sampler counts tokens).

    >>> port_params({"temperature": 1.0, "k": 3.0})
    {'temperature': 1.0, 'k': 3}
    """
    out: dict[str, Any] = {}
    for name, v in params.items():
        if name in INT_PARAMS:
            if float(v) != int(v):
                raise ValueError(f"parameter {name} must be a whole number, got {v!r}")
            out[name] = int(v)
        else:
            out[name] = float(v)
    return out


#: Logit transforms, judged like ``temperature``: the port returns the transformed logits.
TRANSFORMS: dict[str, MethodSpec] = {
    "quadratic": MethodSpec(
        "quadratic",
        {
            "smoothing_factor": Param(REQUIRED, _nonneg("smoothing_factor"), (0.1, 0.3, 1.0, 1.0, 3.0), plain=1.0, help="weight of the transform (0: off)"),
            "smoothing_curve": Param(1.0, lambda v, pol: _real("smoothing_curve", v), (1.0, 1.0, 2.0, 3.0, 0.5), plain=1.0,
                                     help="shape: 1 quadratic, 3 cubic"),
        },
        ("paper",),
        "l'_i = m - k f d^2 + s f d^3 around the largest logit m (core.quadratic)",
        form="logits",
        temperature_param="",
    ),
}


def check_transform_params(method: Any, params: dict) -> dict:
    """Validate a logit transform's parameters; return them with defaults filled in.

    Parameters
    ----------
    method : str
        A logit transform, a key of :data:`TRANSFORMS`.
    params : dict
        ``{parameter: value}``; a parameter left out takes its default.

    Returns
    -------
    dict
        Every parameter of the transform, checked, in the record's order.

    Raises
    ------
    ValueError
        An unknown transform, or a value out of its domain.
    TypeError
        An unknown parameter, a required one missing, or a value of the wrong type.

    Examples
    --------
    >>> check_transform_params("quadratic", {"smoothing_factor": 0.5})
    {'smoothing_factor': 0.5, 'smoothing_curve': 1.0}
    >>> check_transform_params("quadratic", {"smoothing_factor": -1.0})
    Traceback (most recent call last):
    ...
    ValueError: smoothing_factor must be >= 0 under policy 'paper', got -1.0
    """
    if method not in TRANSFORMS:
        raise ValueError(f"unknown logit transform {method!r}; expected one of {', '.join(TRANSFORMS)}")
    ms = TRANSFORMS[method]
    unknown = sorted(set(params) - set(ms.params))
    if unknown:
        raise TypeError(f"{method} got unexpected parameter(s) {', '.join(unknown)}; it takes: {', '.join(ms.params)}")
    out = {}
    for name, prm in ms.params.items():
        if name not in params and prm.default is REQUIRED:
            raise TypeError(f"{method} needs the parameter {name!r} ({prm.help})")
        out[name] = prm.check(params.get(name, prm.default), "paper")
    return out


#: The temperature-setting methods (specification §2-§4), the logit transform ``temperature``.
#: Their grids are the values generated cases draw (in this order: the golden vectors depend on it).
OTHER_METHODS: dict[str, MethodSpec] = {
    s.name: s
    for s in (
        MethodSpec(
            "ees",
            {"temperature": Param(REQUIRED, lambda v, pol: check_temperature(v), (0.25, 0.5, 0.7, 1.0, 1.0, 1.0, 1.3, 2.0, 5.0), help="temperature of p")},
            ("paper",),
            "keep the first k where the entropy curve crosses (selection rule: first-exclusive, first-inclusive, last)",
            options=("rule",),
        ),
        MethodSpec(
            "edt",
            {
                "T0": Param(REQUIRED, lambda v, pol: check_edt_params(v, 0.0, EDT_DEFAULT_N)[0], (0.5, 0.8, 1.0, 1.5), help="base temperature"),
                "theta": Param(REQUIRED, lambda v, pol: check_edt_params(1.0, v, EDT_DEFAULT_N)[1], (0.0, 0.1, 0.5, 1.0, 2.0), help="entropy scale"),
                "N": Param(REQUIRED, lambda v, pol: check_edt_params(1.0, 0.0, v)[2], (0.8, 0.8, 0.5, 0.95), help="base of the power, in (0, 1)"),
            },
            ("paper",),
            "T = T0 N^(theta / H)",
            form="temperature",
            temperature_param="T0",
            options=("entropy_of",),
        ),
        MethodSpec(
            "dynatemp",
            {
                "temp": Param(REQUIRED, lambda v, pol: check_dynatemp_params(v, 0.0, 1.0)[0], (0.5, 0.8, 1.0, 1.5), help="centre temperature (<= 0: greedy)"),
                "delta": Param(REQUIRED, lambda v, pol: check_dynatemp_params(1.0, v, 1.0)[1], (0.0, 0.25, 0.5, 1.0, 2.0), help="half-width of the range"),
                "exponent": Param(REQUIRED, lambda v, pol: check_dynatemp_params(1.0, 0.0, v)[2], (0.0, 0.5, 1.0, 1.0, 2.0, -1.0), help="power of H / ln n"),
            },
            DYNATEMP_POLICIES,
            "llama.cpp's entropy-scaled temperature in [temp - delta, temp + delta]",
            form="temperature",
            temperature_param="temp",
        ),
        MethodSpec(
            "temperature",
            {"temperature": Param(REQUIRED, lambda v, pol: check_temperature(v), (0.25, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0), help="the divisor of the logits")},
            ("paper",),
            "l_i / temperature",
            form="logits",
        ),
    )
}

#: Every method's record: the temperature methods, the logit transforms and the truncation samplers.
RECORDS: dict[str, MethodSpec] = {**OTHER_METHODS, **TRANSFORMS, **SAMPLERS}


def record(method: Any) -> MethodSpec:
    """The record of ``method``.

    Parameters
    ----------
    method : str
        A method's name (a temperature method, a logit transform or a truncation sampler).

    Returns
    -------
    MethodSpec
        Its record in :data:`RECORDS`.

    Raises
    ------
    ValueError
        An unknown method (the message lists the known ones).

    Examples
    --------
    >>> record("edt").temperature_param, record("quadratic").form, record("mirostat-v1").stateful
    ('T0', 'logits', True)
    >>> record("top-q")
    Traceback (most recent call last):
    ...
    ValueError: unknown method 'top-q'; expected one of ees, edt, dynatemp, temperature, quadratic, or a truncation sampler (top-k, top-p, min-p, typical, epsilon, eta, p-less, p-less-norm, top-n-sigma, mirostat-v1, mirostat-v2, xtc, top-a, tfs)
    """
    if not isinstance(method, str) or method not in RECORDS:
        others = ", ".join(n for n in RECORDS if n not in SAMPLERS)
        raise ValueError(f"unknown method {method!r}; expected one of {others}, or a truncation sampler ({', '.join(SAMPLERS)})")
    return RECORDS[method]


def method_names() -> tuple[str, ...]:
    """Every method a port can be checked for, in the records' order (the command line's
    ``--method`` choices).

    >>> method_names()[:6]
    ('ees', 'edt', 'dynatemp', 'temperature', 'quadratic', 'top-k')
    """
    return tuple(RECORDS)


def method_help() -> str:
    """The methods a port can be checked for, with each sampler's parameters, from the records
    (the command line's ``--method`` help).

    >>> method_help().split(": ")[0]
    'ees, edt, dynatemp, temperature, quadratic (smoothing_factor, smoothing_curve), or a truncation sampler (parameters)'
    >>> "xtc (threshold, probability, u, min_tokens_to_keep)" in method_help()
    True
    """
    def listed(ms: MethodSpec) -> str:
        shown = [p for p, prm in ms.params.items() if prm.grid]
        return f"{ms.name} ({', '.join(shown)})" if shown else ms.name

    others = ", ".join(ms.name if ms.name in OTHER_METHODS else listed(ms) for ms in RECORDS.values() if ms.name not in SAMPLERS)
    samplers = ", ".join(listed(ms) for ms in SAMPLERS.values())
    return f"{others}, or a truncation sampler (parameters): {samplers}"


# ---- the method table of the port protocol (ees_theory/harness/PROTOCOL.md) ---------------------
#: What a Python port returns, by output form.
FORM_RETURNS = {
    "mask": "`numpy.ndarray[bool]` of shape `(V,)`, `True` = kept",
    "temperature": "`float` (`0.0` = greedy), or `None` for a row the method leaves alone",
    "logits": "the `V` transformed logits (a float array, `-inf` where the input is masked)",
    "mask-with-state": "`(mask, token, new_mu)`",
    "draws": "`draws` token ids",
}
TABLE_BEGIN = "<!-- methods table: generated from ees_theory.spec.methods.RECORDS by method_table(); edit the records -->"
TABLE_END = "<!-- end of the methods table -->"


def signature(ms: MethodSpec) -> str:
    """A Python port's call for ``ms``: a sampler takes the temperature, then its parameters by
    name; every other method its parameters in the record's order.

    Parameters
    ----------
    ms : MethodSpec
        A method's record.

    Returns
    -------
    str
        The call, such as ``"fn(logits, temperature, p=, min_tokens_to_keep=)"``.

    Examples
    --------
    >>> signature(SAMPLERS["top-p"]), signature(OTHER_METHODS["edt"])
    ('fn(logits, temperature, p=, min_tokens_to_keep=)', 'fn(logits, T0, theta, N)')
    """
    if ms.temperature_param and ms.temperature_param not in ms.params:
        named = ", ".join(f"{p}=" for p, prm in ms.params.items() if prm.grid)
        return f"fn(logits, {ms.temperature_param}{', ' + named if named else ''})"
    return f"fn(logits, {', '.join(ms.params)})"


def method_table() -> str:
    """The protocol's table of methods, one row per record, between its two marker lines.

    >>> method_table().splitlines()[3].split(" | ")[:2]
    ['| `ees`', '`fn(logits, temperature)`']
    """
    lines = [TABLE_BEGIN, "| method | signature | returns | policies | stateful |", "|---|---|---|---|---|"]
    for ms in RECORDS.values():
        lines.append(f"| `{ms.name}` | `{signature(ms)}` | {FORM_RETURNS[ms.form]} | {', '.join(ms.policies)} | {'yes' if ms.stateful else 'no'} |")
    return "\n".join(lines + [TABLE_END])


def with_method_table(text: str) -> str:
    r"""``text`` (the protocol) with its generated table replaced by :func:`method_table`.

    Parameters
    ----------
    text : str
        Text holding the marker lines ``TABLE_BEGIN`` and ``TABLE_END``, in that order.

    Returns
    -------
    str
        ``text`` with everything from the first marker to the second replaced by
        :func:`method_table`.

    Raises
    ------
    ValueError
        A marker line missing, or the two out of order.

    Examples
    --------
    >>> with_method_table("a\n" + TABLE_BEGIN + "\nold\n" + TABLE_END + "\nb").splitlines()[-1]
    'b'
    >>> with_method_table("no table")
    Traceback (most recent call last):
    ...
    ValueError: the text has no generated methods table (its marker lines are missing)
    """
    i, j = text.find(TABLE_BEGIN), text.find(TABLE_END)
    if i < 0 or j < i:
        raise ValueError("the text has no generated methods table (its marker lines are missing)")
    return text[:i] + method_table() + text[j + len(TABLE_END):]
