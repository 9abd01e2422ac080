"""ees_theory: certified ground truth for entropy-based LLM decoding rules.

``ees_theory.reference`` is the exact, certified reference; ``ees_theory.torch`` holds the batched
float kernels (needs torch). See ``SPEC.md`` for the definitions.

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


def __getattr__(name: str) -> Any:
    # Optional submodules (torch, hf, claims, ...) load on first use so `import ees_theory`
    # never needs torch.
    if name in {"torch", "hf", "distributions", "strategies", "claims", "conformance", "truncation"}:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'ees_theory' has no attribute {name!r}")
