"""transformers' sampling warpers (``transformers.generation``) as ports.

Each adapter builds the warper list that ``generate(do_sample=True, temperature=T, top_k=...)``
builds -- ``TemperatureLogitsWarper(T)`` first (left out at ``T = 1``, as ``generate`` does), then
the truncation warper -- and calls it as ``generate`` does: on a ``(1, V)`` scores tensor in the
dtype under test (``generate`` upcasts the last position's logits to float32 before processing, so
float32 is the production path; float16 and bfloat16 are the dtypes a caller may hand a
``LogitsProcessorList`` directly), with ``filter_value = -inf``.

What it observes: the processed scores. A token is *kept* when its processed score is not
``-inf``; a masked input token (``-inf``) stays ``-inf`` and so reads as dropped, which is what
sampling sees (probability 0). The temperature row returns the scaled scores themselves (judged
by ``--method temperature`` up to a common shift). It cannot observe anything the warpers do not
return (for example the entropy ``EtaLogitsWarper`` computes).

>>> fn = adapter("top-k", "float32")
>>> fn(np.array([1.0, 3.0, 3.0, 0.0], dtype=np.float32), 1.0, k=1, min_tokens_to_keep=1).tolist()
[False, True, True, False]
>>> adapter("temperature", "bfloat16")(np.array([1.0, -np.inf], dtype=np.float32), 0.5).tolist()
[2.0, -inf]
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .registry import table_entry

__all__ = ["adapter", "version", "available", "SUPPORTED_METHODS", "WARPERS"]

#: harness method -> the transformers warper class and how the harness parameters map onto it
WARPERS = {
    "top-k": ("TopKLogitsWarper", lambda p: {"top_k": int(p["k"]), "min_tokens_to_keep": int(p["min_tokens_to_keep"])}),
    "top-p": ("TopPLogitsWarper", lambda p: {"top_p": float(p["p"]), "min_tokens_to_keep": int(p["min_tokens_to_keep"])}),
    "min-p": ("MinPLogitsWarper", lambda p: {"min_p": float(p["min_p"]), "min_tokens_to_keep": int(p["min_tokens_to_keep"])}),
    "typical": ("TypicalLogitsWarper", lambda p: {"mass": float(p["mass"]), "min_tokens_to_keep": int(p["min_tokens_to_keep"])}),
    "epsilon": ("EpsilonLogitsWarper", lambda p: {"epsilon": float(p["epsilon"]), "min_tokens_to_keep": int(p["min_tokens_to_keep"])}),
    "eta": ("EtaLogitsWarper", lambda p: {"epsilon": float(p["epsilon"]), "min_tokens_to_keep": int(p["min_tokens_to_keep"])}),
}
SUPPORTED_METHODS = tuple(WARPERS) + ("temperature",)


def version() -> str | None:
    try:
        import transformers
    except ImportError:
        return None
    return transformers.__version__


def available() -> str | None:
    return None if version() else "not installed: pip install 'ees_theory[engines]' (transformers)"


def _scores(row: np.ndarray, dtype: str):
    import torch

    t = torch.from_numpy(np.array(row, copy=True)).reshape(1, -1)
    return t.to(torch.bfloat16) if dtype == "bfloat16" else t


def warper_chain(temperature: float, warper) -> list:
    """The logits processors ``generate()`` runs for ``warper`` at ``temperature``."""
    from transformers.generation import TemperatureLogitsWarper

    # generate() adds a temperature warper only when T != 1.0, ahead of the truncation warpers
    return ([TemperatureLogitsWarper(float(temperature))] if temperature != 1.0 else []) + [warper]


def adapter(method: str, dtype: str, policy: str = "transformers") -> Callable:
    """The port callable for ``method`` (``top-k`` ... ``eta``, ``temperature``) in ``dtype``."""
    import torch
    from transformers import generation
    from transformers.generation import LogitsProcessorList

    ids = torch.zeros((1, 1), dtype=torch.long)
    if method in _OTHER_PORTS:
        return _OTHER_PORTS[method](ids, dtype)
    cls, args = table_entry(WARPERS, method, generation, "transformers has no warper", SUPPORTED_METHODS)

    def truncate(logits, temperature, **params):
        procs = LogitsProcessorList(warper_chain(temperature, cls(**args(params))))
        out = procs(ids, _scores(logits, dtype))
        return (out[0] != -float("inf")).numpy()

    return truncate


def _temperature_port(ids, dtype: str) -> Callable:
    """transformers' ``TemperatureLogitsWarper`` alone: the scaled logits it returns."""
    from transformers.generation import TemperatureLogitsWarper

    def scale(logits, temperature):
        out = TemperatureLogitsWarper(float(temperature))(ids, _scores(logits, dtype))
        return out[0].float().numpy().astype(np.float64)

    return scale


#: The methods transformers runs through a warper other than a truncation warper.
_OTHER_PORTS = {"temperature": _temperature_port}
