"""ees_theory: certified ground truth for entropy-based LLM decoding rules.

``ees_theory.reference`` is the exact, certified reference; ``ees_theory.torch`` (the layer
``ees_theory.kernels``) holds the batched float kernels (needs torch). The definitions are the
book's specification chapter (``book/spec.md``).

The package is built in layers; a module imports only from its own layer or the ones below
(``tests/test_layering.py`` enforces it):

0. ``spec``: the definitions (input checks, method records, float formats, claim ids);
1. ``core`` (each formula and rule written once against an arithmetic context), ``tolerances``
   (the a-priori rounding model);
2. ``reference`` (certified, mpmath intervals) and ``kernels`` (torch), which never import each
   other;
3. ``families``; ``errormodel`` (what a careful float port can compute for one row);
4. ``judging`` (is one answer right: the method registry and the judges);
5. ``running`` (how a port is run over cases);
6. what uses them: ``harness`` (the public names of port checking), ``engines``, ``ledger``,
   ``hf``, ``report``, ``cli``; ``examples`` (example ports with known answers).

>>> import ees_theory as et
>>> r = et.reference.ees([2.0, 1.0, 0.0])
>>> r.k, r.certified
(1, True)
"""

from importlib import import_module
from typing import Any

from . import reference, spec

__version__ = "0.1.0"
__all__ = ["reference", "spec", "__version__"]


#: Subpackages loaded on first use (so ``import ees_theory`` never needs torch), and the short
#: public names that stay valid for the layered modules behind them.
_LAZY = {
    "torch": ".torch",
    "kernels": ".kernels",
    "hf": ".hf",
    "families": ".families",
    "ledger": ".ledger",
    "harness": ".harness",
    "errormodel": ".errormodel",
    "judging": ".judging",
    "running": ".running",
    "engines": ".engines",
    # short public names: real modules (``import ees_theory.strategies``) re-exporting the layer
    "distributions": ".distributions",
    "strategies": ".strategies",
    "claims": ".claims",
    "conformance": ".conformance",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return import_module(_LAZY[name], __name__)
    raise AttributeError(f"module 'ees_theory' has no attribute {name!r}")
