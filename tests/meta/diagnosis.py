"""What the harness must say about a port of this folder, declared next to the port itself.

:func:`mutant` marks a port that carries one planted misreading with the diagnosis the harness
must give it: the fault class, words its message must contain, the dtype it is checked in and,
for a truncation sampler, the engine policy it is judged under. :func:`conforms` marks a careful
port that must pass under a policy. :func:`discover` finds the marked ports of every
``*ports.py`` module here (``tests/meta/test_mutants.py`` runs them), so that a sampler's
mutants and careful ports are one file: its ports module.

>>> @mutant("min-p", fault="keeps-all", words="every token", policy="paper")
... def keeps_all(logits, temperature, *, min_p, min_tokens_to_keep=1):
...     return [True] * len(logits)
>>> keeps_all.diagnosis
Mutant(method='min-p', fault='keeps-all', words='every token', dtype='float64', policy='paper')
>>> keeps_all([0.0, 1.0], 1.0, min_p=0.5)          # the port itself is unchanged
[True, True]
>>> mutant("min-p", fault="", words="x")
Traceback (most recent call last):
...
ValueError: a mutant names its fault class and words of the message, got fault='' words='x'
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

__all__ = ["Mutant", "Careful", "mutant", "conforms", "discover"]


@dataclass(frozen=True)
class Mutant:
    """The diagnosis a mutant port must get.

    Parameters
    ----------
    method : str
        The method the port is checked as.
    fault : str
        The fault class the harness must name.
    words : str
        Words one of that fault's messages must contain.
    dtype : str
        The dtype of the rows (default float64).
    policy : str or None
        The engine policy of a truncation sampler's check; ``None`` for a formula (EES, EDT,
        dynatemp, quadratic), checked as those are.
    """

    method: str
    fault: str
    words: str
    dtype: str = "float64"
    policy: Optional[str] = None


@dataclass(frozen=True)
class Careful:
    """A careful truncation port: it conforms under ``policy`` in every dtype.

    Parameters
    ----------
    method : str
        The sampler the port is checked as.
    policy : str
        The engine policy it follows.
    """

    method: str
    policy: str


def mutant(method: str, *, fault: str, words: str, dtype: str = "float64", policy: Optional[str] = None) -> Callable:
    """Mark a port with the diagnosis it must get (:class:`Mutant`, as ``port.diagnosis``); the port
    is returned as it is."""
    if not fault or not words:
        raise ValueError(f"a mutant names its fault class and words of the message, got fault={fault!r} words={words!r}")
    diagnosis = Mutant(method, fault, words, dtype, policy)

    def mark(port: Callable) -> Callable:
        port.diagnosis = diagnosis
        return port

    return mark


def conforms(method: str, *, policy: str) -> Callable:
    """Mark a careful port that must conform under ``policy`` (:class:`Careful`, as ``port.careful``).

    >>> @conforms("top-k", policy="paper")
    ... def port(logits, temperature, *, k, min_tokens_to_keep=1):
    ...     return [True] * len(logits)
    >>> port.careful
    Careful(method='top-k', policy='paper')
    """
    careful = Careful(method, policy)

    def mark(port: Callable) -> Callable:
        port.careful = careful
        return port

    return mark


def discover(attribute: str, folder: Path = Path(__file__).resolve().parent, package: str = "tests.meta") -> list[Callable]:
    """The ports of ``folder``'s ``*ports.py`` modules marked with ``attribute`` (``"diagnosis"`` or
    ``"careful"``), by module name, then in the order they are written.

    >>> sorted({p.careful.policy for p in discover("careful")})
    ['llama.cpp', 'paper', 'transformers']
    """
    found = []
    for path in sorted(folder.glob("*ports.py")):
        module = importlib.import_module(f"{package}.{path.stem}")
        ports = [p for p in vars(module).values() if callable(p) and getattr(p, "__module__", None) == module.__name__ and hasattr(p, attribute)]
        found += sorted(ports, key=lambda p: p.__code__.co_firstlineno)
    return found
