"""The methods' records (specification §2-§4): names, parameters, domains, policies.

What a method's record is (:class:`MethodSpec`, its parameters' :class:`Param`, the validators they use,
:data:`FORMS`, :data:`OFF_VALUES`) and the records of the methods that are not truncation samplers:
the EES selection rules, which entropy EDT reads, the EDT and dynatemp parameter domains, the logit
transforms. Each truncation sampler's record is declared in its own module of
:mod:`ees_theory.core.truncation` (``RECORDS``); the table of them is
:data:`ees_theory.core.truncation.registry.SAMPLERS`, and every method's record
:data:`ees_theory.core.records.RECORDS`.

>>> sorted(OTHER_METHODS)[:3], POLICIES
(['dynatemp', 'edt', 'ees'], ('paper', 'transformers', 'llama.cpp', 'sample-std'))
>>> check_rule("first")
Traceback (most recent call last):
...
ValueError: rule must be one of first-exclusive, first-inclusive, last; got 'first'
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

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
    "whole",
    "in_range",
    "real",
    "unit",
    "positive",
    "nonneg",
    "check_draw",
    "Param",
    "MethodSpec",
    "FORMS",
    "REQUIRED",
    "OFF_VALUES",
    "MIN_KEEP_PARAM",
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



# ---- truncation samplers (their records live in their modules, ees_theory.core.truncation) ------
#: Engine conventions a truncation sampler can follow (``paper`` is the default).
POLICIES = ("paper", "transformers", "llama.cpp", "sample-std")
DEFAULT_POLICY = "paper"


# The validators a record's parameters use (``check(value, policy)``); the samplers' own ones are in
# their modules.
def whole(name: str, v: Any) -> int:
    """``v`` as an int: a parameter that counts tokens.

    Parameters
    ----------
    name : str
        What the message calls the parameter.
    v : object
        The value to check.

    Returns
    -------
    int
        ``v`` as a Python ``int``.

    Raises
    ------
    TypeError
        ``v`` is not an integer, or is a bool.

    Examples
    --------
    >>> whole("k", 2.0)
    Traceback (most recent call last):
    ...
    TypeError: k must be an int, got float
    """
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    return int(v)


def in_range(name: str, x: float, lo: float, hi: float, lo_open: bool, hi_open: bool, policy: str) -> float:
    """``x`` if it lies between ``lo`` and ``hi`` (each end open or closed), else a clear error.

    Parameters
    ----------
    name : str
        What the message calls the parameter.
    x : float
        The value to check.
    lo, hi : float
        The ends of the range.
    lo_open, hi_open : bool
        Whether ``lo`` (``hi``) itself is outside the range.
    policy : str
        The policy the range belongs to (named in the message).

    Returns
    -------
    float
        ``x``.

    Raises
    ------
    ValueError
        ``x`` outside the range.

    Examples
    --------
    >>> in_range("p", 0.0, 0.0, 1.0, True, False, "paper")
    Traceback (most recent call last):
    ...
    ValueError: p must lie in (0, 1] under policy 'paper', got 0.0
    """
    ok = (x > lo if lo_open else x >= lo) and (x < hi if hi_open else x <= hi)
    if not ok:
        rng = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise ValueError(f"{name} must lie in {rng} under policy {policy!r}, got {x!r}")
    return x


def real(name: str) -> Callable[[Any, str], float]:
    """The validator of a parameter that may be any finite real number.

    Parameters
    ----------
    name : str
        What the message calls the parameter.

    Returns
    -------
    callable
        ``check(value, policy)``: ``value`` as a float.

    Examples
    --------
    >>> real("z")(2, "llama.cpp")
    2.0
    """
    def check(v: Any, policy: str) -> float:
        return check_real(v, name)

    return check


def unit(name: str, lo_open: bool, hi_open: bool, free_policies: tuple[str, ...] = ()) -> Callable[[Any, str], float]:
    """The validator of a parameter in ``[0, 1]`` (each end open or closed), any real number under
    ``free_policies``.

    Parameters
    ----------
    name : str
        What the message calls the parameter.
    lo_open, hi_open : bool
        Whether 0 (1) itself is outside the range.
    free_policies : tuple of str
        The policies under which any finite real number passes (default none).

    Returns
    -------
    callable
        ``check(value, policy)``: ``value`` as a float.

    Examples
    --------
    >>> unit("a", False, False)(1.5, "paper")
    Traceback (most recent call last):
    ...
    ValueError: a must lie in [0, 1] under policy 'paper', got 1.5
    """
    def check(v: Any, policy: str) -> float:
        x = check_real(v, name)
        return x if policy in free_policies else in_range(name, x, 0.0, 1.0, lo_open, hi_open, policy)

    return check


def positive(name: str) -> Callable[[Any, str], float]:
    """The validator of a parameter that must be ``> 0``.

    Parameters
    ----------
    name : str
        What the message calls the parameter.

    Returns
    -------
    callable
        ``check(value, policy)``: ``value`` as a float.

    Examples
    --------
    >>> positive("tau")(0.0, "paper")
    Traceback (most recent call last):
    ...
    ValueError: tau must be > 0, got 0.0
    """
    def check(v: Any, policy: str) -> float:
        x = check_real(v, name)
        if x <= 0:
            raise ValueError(f"{name} must be > 0, got {x!r}")
        return x

    return check


def nonneg(name: str, free_policies: tuple[str, ...] = ()) -> Callable[[Any, str], float]:
    """The validator of a parameter that must be ``>= 0``, any real number under ``free_policies``.

    Parameters
    ----------
    name : str
        What the message calls the parameter.
    free_policies : tuple of str
        The policies under which a negative value passes (default none).

    Returns
    -------
    callable
        ``check(value, policy)``: ``value`` as a float.

    Examples
    --------
    >>> nonneg("n", ("llama.cpp",))(-1.0, "llama.cpp")
    -1.0
    """
    def check(v: Any, policy: str) -> float:
        x = check_real(v, name)
        if x < 0 and policy not in free_policies:
            raise ValueError(f"{name} must be >= 0 under policy {policy!r}, got {x!r}")
        return x

    return check


def check_draw(v: Any, policy: str) -> float:
    """A uniform draw ``u`` in ``[0, 1)`` (mirostat's token draw, XTC's gate).

    Parameters
    ----------
    v : object
        The value to check.
    policy : str
        The policy (every policy has the same domain).

    Returns
    -------
    float
        ``v`` as a float.

    Raises
    ------
    ValueError
        ``v`` outside ``[0, 1)``.

    Examples
    --------
    >>> check_draw(1.0, "paper")
    Traceback (most recent call last):
    ...
    ValueError: u (the uniform draw) must lie in [0, 1), got 1.0
    """
    x = check_real(v, "u")
    if not 0.0 <= x < 1.0:
        raise ValueError(f"u (the uniform draw) must lie in [0, 1), got {x!r}")
    return x


def _min_keep(v: Any, policy: str) -> int:
    return check_min_tokens_to_keep(v)


#: The default of a parameter that must be given.
REQUIRED = object()


@dataclass(frozen=True)
class Param:
    """One parameter of a method, every fact about it stated once.

    ``default`` (:data:`REQUIRED` where it must be given), ``check(value, policy)`` its domain (a
    mapping ``{policy: check}`` where the domain differs by policy), ``grid`` the values generated
    cases draw from (in this order: the golden vectors depend on it; empty: the harness does not
    pass it), ``integer`` whether it counts tokens (a port receives an int), ``plain`` a simple
    value a shrunk failing case tries (``None``: none), ``help`` what it is, in a few words.

    Parameters
    ----------
    default : object
        The value used when the parameter is not given, or :data:`REQUIRED`.
    check : callable or mapping
        ``check(value, policy)`` returns the checked value or raises; where the domain differs by
        policy, ``{policy: check}`` with one entry per policy of the method.
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
    >>> TRANSFORMS["quadratic"].params["smoothing_curve"].help
    'shape: 1 quadratic, 3 cubic'
    """

    default: Any
    check: Any
    grid: tuple = ()
    integer: bool = False
    plain: Any = None
    help: str = ""

    def checker(self, policy: str) -> Callable[[Any, str], Any]:
        """The check of this parameter's domain under ``policy``.

        Parameters
        ----------
        policy : str
            A policy of the method.

        Returns
        -------
        callable
            ``check(value, policy)``.

        Examples
        --------
        >>> Param(REQUIRED, {"paper": unit("z", False, False), "llama.cpp": real("z")}).checker("llama.cpp")(2.0, "llama.cpp")
        2.0
        """
        return self.check[policy] if isinstance(self.check, Mapping) else self.check


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
        ``form`` not in ``FORMS``, ``fixed`` naming a policy or parameter it does not have, or a
        parameter whose domain by policy (a mapping) does not list exactly its policies.

    Examples
    --------
    >>> OTHER_METHODS["edt"].form, OTHER_METHODS["edt"].options, TRANSFORMS["quadratic"].fixed
    ('temperature', ('entropy_of',), {})
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
        for name, prm in self.params.items():  # a domain by policy: one check for each of its policies
            if isinstance(prm.check, Mapping) and tuple(prm.check) != self.policies:
                raise ValueError(f"{self.name}: {name}'s domain is given for the policies {tuple(prm.check)}, not its policies {self.policies}")

    @property
    def off(self) -> dict:
        """Its parameters that have a value meaning "off" (``OFF_VALUES``), with that value.

        >>> TRANSFORMS["quadratic"].off, OTHER_METHODS["edt"].off
        ({'smoothing_curve': 1.0}, {})
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


#: ``min_tokens_to_keep``, the parameter most samplers share (spliced into their records' parameters)
MIN_KEEP_PARAM = {"min_tokens_to_keep": Param(1, _min_keep, (1, 1, 1, 1, 2), integer=True, help="the fewest tokens kept")}


#: Logit transforms, judged like ``temperature``: the port returns the transformed logits.
TRANSFORMS: dict[str, MethodSpec] = {
    "quadratic": MethodSpec(
        "quadratic",
        {
            "smoothing_factor": Param(REQUIRED, nonneg("smoothing_factor"), (0.1, 0.3, 1.0, 1.0, 3.0), plain=1.0, help="weight of the transform (0: off)"),
            "smoothing_curve": Param(1.0, real("smoothing_curve"), (1.0, 1.0, 2.0, 3.0, 0.5), plain=1.0,
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
        out[name] = prm.checker("paper")(params.get(name, prm.default), "paper")
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
