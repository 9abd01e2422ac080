"""The one table of truncation rules: every sampler's module, its policy table and its variant.

:func:`register_builtin` registers the samplers of this package, explicitly and once (importing a
module registers nothing); :func:`rule` looks a sampler up, registering the built-in ones on first
use. The certified reference (:mod:`ees_theory.reference.truncation`) and the torch kernels
(``ees_theory.kernels.truncation``) both dispatch through this table; a rule's policy names
must be the ones its record (:data:`ees_theory.spec.methods.SAMPLERS`) declares.

>>> r = rule("p-less-norm")
>>> r.module.__name__, dict(r.variant), r.policy("paper").min_keep
('ees_theory.core.truncation.p_less', {'norm': True}, 'none')
>>> rule("top-q")
Traceback (most recent call last):
...
ValueError: unknown truncation method 'top-q'; expected one of top-k, top-p, min-p, typical, epsilon, eta, p-less, p-less-norm, top-n-sigma, mirostat-v1, mirostat-v2, xtc, top-a, tfs
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType, ModuleType
from typing import Any, Mapping

from ...spec.methods import SAMPLERS
from .policy import Policy

__all__ = ["Rule", "register", "register_builtin", "rules", "rule"]


@dataclass(frozen=True)
class Rule:
    """A registered truncation sampler: ``module`` holds its formulas and ``POLICIES`` table;
    ``variant`` the keyword arguments that pick one of a module's samplers (``norm`` of p-less,
    ``version`` of mirostat)."""

    name: str
    module: ModuleType
    variant: Mapping[str, Any] = field(default_factory=dict)

    @property
    def policies(self) -> Mapping[str, Policy]:
        """Its policy table, ``{policy name: Policy}``."""
        return self.module.POLICIES

    def policy(self, name: str) -> Policy:
        """The record of one policy (a clear error for a policy the sampler does not have)."""
        try:
            return self.policies[name]
        except KeyError:
            raise ValueError(f"policy {name!r} is not defined for {self.name}; it has: {', '.join(self.policies)}") from None


_TABLE: dict[str, Rule] = {}


def register(name: str, module: ModuleType, **variant: Any) -> Rule:
    """Register ``module`` as the rule of the sampler ``name`` (its record must exist in
    :data:`~ees_theory.spec.methods.SAMPLERS` and declare the same policies)."""
    if name in _TABLE:
        raise ValueError(f"truncation rule {name!r} is already registered")
    if name not in SAMPLERS:
        raise ValueError(f"truncation rule {name!r} has no record in ees_theory.spec.methods.SAMPLERS")
    pols = getattr(module, "POLICIES", None)
    if not isinstance(pols, Mapping) or not all(isinstance(p, Policy) for p in pols.values()):
        raise TypeError(f"{module.__name__} has no POLICIES table of Policy records")
    if tuple(pols) != SAMPLERS[name].policies:
        raise ValueError(f"{name}: the rule's policies {tuple(pols)} differ from its record's {SAMPLERS[name].policies}")
    r = Rule(name, module, MappingProxyType(dict(variant)))
    _TABLE[name] = r
    return r


def register_builtin() -> None:
    """Register every truncation sampler of this package (once; a second call does nothing)."""
    if _TABLE:
        return
    from . import epsilon, eta, min_p, mirostat, p_less, tfs, top_a, top_k, top_n_sigma, top_p, typical, xtc

    register("top-k", top_k)
    register("top-p", top_p)
    register("min-p", min_p)
    register("typical", typical)
    register("epsilon", epsilon)
    register("eta", eta)
    register("p-less", p_less, norm=False)
    register("p-less-norm", p_less, norm=True)
    register("top-n-sigma", top_n_sigma)
    register("mirostat-v1", mirostat, version=1)
    register("mirostat-v2", mirostat, version=2)
    register("xtc", xtc)
    register("top-a", top_a)
    register("tfs", tfs)


def rules() -> Mapping[str, Rule]:
    """Every registered rule, ``{name: Rule}`` (read-only)."""
    register_builtin()
    return MappingProxyType(_TABLE)


def rule(name: Any) -> Rule:
    """The rule of ``name``."""
    table = rules()
    if name not in table:
        raise ValueError(f"unknown truncation method {name!r}; expected one of {', '.join(table)}")
    return table[name]
