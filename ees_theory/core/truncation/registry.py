"""The one table of truncation samplers: every sampler's record, its module, policy table and variant.

:func:`register_builtin` registers the samplers of this package, explicitly and once (importing a
module registers nothing); :func:`rule` looks a sampler up, and :data:`SAMPLERS` holds their
records, both registering the built-in ones on first use. Each sampler module declares the samplers
it is the rule of (``RULES``, ``{name: variant}``), their records (``RECORDS``, ``{name:
MethodSpec}``: parameters, domains, policies) and where they stand in the listings (``ORDER``);
:func:`declared_rules` finds them: a new sampler is a new module, and no list here changes. A
module holds all of its sampler's code (see :mod:`ees_theory.core.truncation`): its formulas, its
``POLICIES`` table, ``certify`` (the certified driver, which :func:`ees_theory.reference.truncate`
calls) and ``kernel`` (the tensor kernel, which ``ees_theory.kernels.truncate_mask`` calls);
:func:`register` refuses a module without them. A rule's policy names must be the ones its record
declares.

>>> r = rule("p-less-norm")
>>> r.module.__name__, dict(r.variant), r.policy("paper").min_keep
('ees_theory.core.truncation.p_less', {'norm': True}, 'none')
>>> rule("top-q")
Traceback (most recent call last):
...
ValueError: unknown truncation method 'top-q'; expected one of top-k, top-p, min-p, ...
>>> list(SAMPLERS)[:4], SAMPLERS["xtc"].params["u"].help
(['top-k', 'top-p', 'min-p', 'typical'], 'the uniform draw of the gate, in [0, 1)')
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from types import MappingProxyType, ModuleType
from typing import Any, Iterator, Mapping

from ...spec.methods import REQUIRED, MethodSpec
from .policy import Policy

__all__ = ["Rule", "DRIVERS", "SAMPLERS", "register", "register_builtin", "declared_rules", "rules", "rule", "check_params"]


@dataclass(frozen=True)
class Rule:
    """A registered truncation sampler: ``module`` holds its formulas and ``POLICIES`` table;
    ``variant`` the keyword arguments that pick one of a module's samplers (``norm`` of p-less,
    ``version`` of mirostat).

    Parameters
    ----------
    name : str
        The sampler's name (a key of :data:`SAMPLERS`).
    module : module
        The module of its formulas and ``POLICIES`` table.
    variant : mapping
        The keyword arguments that pick this sampler among the module's (default empty).
    """

    name: str
    module: ModuleType
    variant: Mapping[str, Any] = field(default_factory=dict)

    @property
    def record(self) -> MethodSpec:
        """Its record (its module's ``RECORDS[name]``).

        >>> rule("mirostat-v2").record.stateful
        True
        """
        return self.module.RECORDS[self.name]

    @property
    def numerics_read(self) -> frozenset:
        """The arithmetic choices its kernel reads (its module's ``NUMERICS_READ``, a subset of
        ``NUMERICS_CHOICES``; empty when the module declares none).

        >>> sorted(rule("top-p").numerics_read), sorted(rule("min-p").numerics_read)
        (['mass-before', 'param', 'running-sum'], [])
        """
        return frozenset(getattr(self.module, "NUMERICS_READ", frozenset()))

    @property
    def policies(self) -> Mapping[str, Policy]:
        """Its policy table, ``{policy name: Policy}``."""
        return self.module.POLICIES

    def policy(self, name: str) -> Policy:
        """The record of one policy (a clear error for a policy the sampler does not have).

        Parameters
        ----------
        name : str
            A key of :attr:`policies` (``"paper"``, ``"transformers"``, ``"llama.cpp"``, ...).

        Returns
        -------
        Policy
            That engine's convention for this sampler.

        Raises
        ------
        ValueError
            The sampler has no policy ``name``; the message lists the ones it has.
        """
        try:
            return self.policies[name]
        except KeyError:
            raise ValueError(f"policy {name!r} is not defined for {self.name}; it has: {', '.join(self.policies)}") from None


#: the arithmetic choices a rule module may declare its kernel reads (``NUMERICS_READ``): ``param``
#: (a computed value compared with a parameter), ``running-sum`` (a cut at a running sum),
#: ``mass-before`` (the mass before a token), ``variance`` (squared deviations), ``log-p`` (a
#: log-probability: ``log_softmax`` or the logarithm of the probability); a module that declares
#: none reads only the probabilities and their order
NUMERICS_CHOICES = frozenset({"param", "running-sum", "mass-before", "variance", "log-p"})

_TABLE: dict[str, Rule] = {}


class _Records(Mapping):
    """The records of the registered samplers, read-only, in the table's order; reading it
    registers the built-in samplers first (:func:`register_builtin`)."""

    def __getitem__(self, name: str) -> MethodSpec:
        return rules()[name].record

    def __iter__(self) -> Iterator[str]:
        return iter(rules())

    def __len__(self) -> int:
        return len(rules())

    def __repr__(self) -> str:
        return f"SAMPLERS({', '.join(self)})"


#: Every truncation sampler's record (``{name: MethodSpec}``: its parameters with their defaults,
#: domains and grids, its policies, a summary), in the order of the listings; each declared in its
#: module's ``RECORDS``
SAMPLERS: Mapping[str, MethodSpec] = _Records()

#: the functions every sampler's module defines: its certified driver and its tensor kernel
DRIVERS = ("certify", "kernel")


def register(name: str, module: ModuleType, **variant: Any) -> Rule:
    """Register ``module`` as the rule of the sampler ``name`` (the module declares its record, in
    ``RECORDS``, with the same policies as its ``POLICIES`` table).

    Parameters
    ----------
    name : str
        The sampler's name, a key of the module's ``RECORDS``.
    module : module
        The module of its record, formulas, ``POLICIES`` table (a mapping of
        :class:`~ees_theory.core.truncation.policy.Policy`, with the record's policies in the
        record's order) and its two drivers, the functions ``certify`` and ``kernel``.
    **variant
        The keyword arguments that pick this sampler among the module's.

    Returns
    -------
    Rule
        The registered rule.

    Raises
    ------
    ValueError
        ``name`` already registered or without a record, or policies that differ from the record's.
    TypeError
        A module without a ``POLICIES`` table of :class:`~ees_theory.core.truncation.policy.Policy`
        records, or without its ``certify`` and ``kernel`` functions.
    """
    if name in _TABLE:
        raise ValueError(f"truncation rule {name!r} is already registered")
    record = getattr(module, "RECORDS", {}).get(name)
    if not isinstance(record, MethodSpec) or record.name != name:
        raise ValueError(f"truncation rule {name!r} has no record in {module.__name__}.RECORDS (a MethodSpec named {name!r})")
    pols = getattr(module, "POLICIES", None)
    if not isinstance(pols, Mapping) or not all(isinstance(p, Policy) for p in pols.values()):
        raise TypeError(f"{module.__name__} has no POLICIES table of Policy records")
    missing = [f for f in DRIVERS if not callable(getattr(module, f, None))]
    if missing:
        raise TypeError(f"{module.__name__} has no {' and no '.join(missing)} function (a sampler's module holds both of its drivers)")
    unknown = sorted(set(getattr(module, "NUMERICS_READ", ())) - NUMERICS_CHOICES)
    if unknown:
        raise ValueError(f"{module.__name__}: NUMERICS_READ names {unknown}; expected some of {sorted(NUMERICS_CHOICES)}")
    if tuple(pols) != record.policies:
        raise ValueError(f"{name}: the rule's policies {tuple(pols)} differ from its record's {record.policies}")
    r = Rule(name, module, MappingProxyType(dict(variant)))
    _TABLE[name] = r
    return r


#: the modules of this package that are not a sampler's rule
NOT_RULES = frozenset({"faults", "policy", "registry"})


def declared_rules(package: str = __package__, skip: frozenset[str] = NOT_RULES) -> dict[str, tuple[ModuleType, dict[str, Any]]]:
    """``{sampler: (module, variant)}`` from the ``RULES`` of every module of ``package`` but ``skip``,
    ordered by each module's ``ORDER`` (then by the order of its ``RULES``), so that the methods are
    listed in the specification's order whatever the file names.

    Parameters
    ----------
    package : str
        The package whose modules are read (default ``"ees_theory.core.truncation"``).
    skip : frozenset of str
        Module names that are not rules (default ``{"faults", "policy", "registry"}``).

    Returns
    -------
    dict
        ``{sampler name: (module, variant)}``, in the order of the listings.

    Raises
    ------
    TypeError
        A module without a non-empty ``RULES`` table of mappings, or without an integer ``ORDER``.
    ValueError
        A sampler declared by two modules.

    Examples
    --------
    >>> {name: (m.__name__.rsplit(".", 1)[1], v) for name, (m, v) in declared_rules().items() if name.startswith("p-less")}
    {'p-less': ('p_less', {'norm': False}), 'p-less-norm': ('p_less', {'norm': True})}
    """
    found: dict[str, tuple[ModuleType, dict[str, Any]]] = {}
    place: dict[str, tuple[int, int]] = {}
    for info in sorted(pkgutil.iter_modules(importlib.import_module(package).__path__), key=lambda i: i.name):
        if info.name in skip:
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        declared = getattr(module, "RULES", None)
        if not isinstance(declared, Mapping) or not declared or not all(isinstance(v, Mapping) for v in declared.values()):
            raise TypeError(f"{module.__name__} declares no RULES table ({{sampler name: {{variant keyword: value}}}})")
        order = getattr(module, "ORDER", None)
        if isinstance(order, bool) or not isinstance(order, int):
            raise TypeError(f"{module.__name__} declares no ORDER (an int: where its samplers stand in the listings)")
        for i, (name, variant) in enumerate(declared.items()):
            if name in found:
                raise ValueError(f"truncation rule {name!r} is declared by both {found[name][0].__name__} and {module.__name__}")
            found[name] = (module, dict(variant))
            place[name] = (order, i)
    return {name: found[name] for name in sorted(found, key=lambda n: (place[n], found[n][0].__name__))}


def register_builtin() -> None:
    """Register every truncation sampler of this package (once; a second call does nothing): each
    sampler its module declares (:func:`declared_rules`), in the order of the listings."""
    if _TABLE:
        return
    declared = declared_rules()
    try:
        for name, (module, variant) in declared.items():
            register(name, module, **variant)
    except BaseException:
        _TABLE.clear()  # all or nothing: a half table would pass for the whole one on the next call
        raise


def rules() -> Mapping[str, Rule]:
    """Every registered rule, ``{name: Rule}`` (read-only)."""
    register_builtin()
    return MappingProxyType(_TABLE)


def rule(name: Any) -> Rule:
    """The rule of ``name``.

    Parameters
    ----------
    name : str
        A registered sampler's name.

    Returns
    -------
    Rule
        Its rule.

    Raises
    ------
    ValueError
        An unknown sampler (the message lists the known ones).
    """
    table = rules()
    if name not in table:
        raise ValueError(f"unknown truncation method {name!r}; expected one of {', '.join(table)}")
    return table[name]


#: how the engines name a parameter (for an error that says what the engine lacks)
_ENGINE_NAME = {"min_tokens_to_keep": "min_keep"}


def check_params(method: Any, policy: Any, params: dict) -> dict:
    """Validate a truncation sampler's name, a policy and its parameters; return them with defaults
    filled in.

    Parameters
    ----------
    method : str
        A truncation sampler's name (a key of :data:`~ees_theory.core.truncation.registry.SAMPLERS`).
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
        default = prm.default
        if name in params:
            value = params[name]
        elif default is REQUIRED:
            raise TypeError(f"{method} needs the parameter {name!r} ({prm.help})")
        else:
            value = default
        out[name] = prm.checker(policy)(value, policy) if value is not None or default is not None else None
    for name, value in ms.fixed.get(policy, {}).items():  # a parameter the engine does not have
        if out[name] != value:
            raise ValueError(f"{policy}'s {method} has no {_ENGINE_NAME.get(name, name)}; leave {name} at {value} under policy {policy!r}")
    return out
