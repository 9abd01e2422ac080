"""The toolkit's own implementations as engines: ``ees_theory.kernels`` (public ``ees_theory.torch``)
and the ``ees_theory.hf`` warpers, checked exactly like anyone else's.

* ``ees_theory.kernels``: the float kernels through the built-in port
  (:func:`ees_theory.engines.builtin.builtin_functions`, float32 accumulation): ``ees``, ``edt``,
  ``dynatemp`` and every truncation sampler under the policy of the row, and ``apply_temperature``
  for ``temperature``. The kernels return the kept mask, the temperature or the scaled logits
  directly: everything is observable.
* ``ees_theory.hf``: ``EESLogitsWarper``, ``EDTLogitsWarper`` and ``DynaTempLogitsWarper`` called
  as transformers calls a warper (``warper(input_ids, scores)`` on a ``(1, V)`` tensor). EES: kept
  = processed score not ``-inf``. EDT / dynatemp return scores ``(l - l_max) / T``, not ``T``:
  the adapter reads ``T = (l_i - l_max) / out_i`` back from the finite token farthest below the
  maximum; where every finite logit is equal (a constant row, or one finite logit) the scores are
  the same for every ``T`` and the case is skipped and counted (:func:`unobservable`); where
  every non-maximal token came back ``-inf`` (greedy) the answer read is ``0.0``.

>>> fn = kernels_adapter("top-k", "float16", "transformers")
>>> fn(np.array([1.0, 3.0, 3.0, 0.0], dtype=np.float16), 1.0, k=1, min_tokens_to_keep=1).tolist()
[False, True, True, False]
>>> round(hf_adapter("edt", "float32")(np.array([0.0, -1.0], dtype=np.float32), 1.0, 1.0, 0.5), 6)
0.4
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["kernels_adapter", "kernels_cuda_adapter", "hf_adapter", "version", "cuda_version", "unobservable", "HF_METHODS"]


def version() -> str | None:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return f"ees_theory {dist_version('ees_theory')}"
    except PackageNotFoundError:  # pragma: no cover - a source checkout that is not installed
        return "ees_theory (source)"


def cuda_version() -> str | None:
    """The toolkit's version with the GPU and the torch build the CUDA rows run on."""
    import torch

    where = f"{torch.cuda.get_device_name(0)}, " if torch.cuda.is_available() else ""
    return f"{version()} (cuda: {where}torch {torch.__version__})"


def kernels_adapter(method: str, dtype: str, policy: str = "paper", device: str = "cpu") -> Callable:
    """The built-in kernel port for ``method`` in ``dtype`` under ``policy`` (float32 accumulation),
    run on the torch ``device``."""
    if method in _KERNEL_PORTS:
        return _KERNEL_PORTS[method](dtype, device)
    from .builtin import builtin_functions

    return builtin_functions(method, dtype, "float32", policy, device)[0]


def kernels_cuda_adapter(method: str, dtype: str, policy: str = "paper") -> Callable:
    """:func:`kernels_adapter` on the GPU: the same kernels, judged the same way, run on ``cuda``."""
    return kernels_adapter(method, dtype, policy, device="cuda")


def unobservable(row: np.ndarray, params: dict) -> str | None:
    """Why the temperature of a warper's output cannot be read back for ``row``, or None."""
    z = np.asarray(row, dtype=np.float64)
    f = z[np.isfinite(z)]
    if f.size <= 1 or f.min() == f.max():
        return "temperature unobservable: every finite logit is equal, so the scaled scores are the same for every T"
    return None


def _tensor(row: np.ndarray, dtype: str):
    import torch

    t = torch.from_numpy(np.array(row, copy=True)).reshape(1, -1)
    return t.to(torch.bfloat16) if dtype == "bfloat16" else t


def _read_temperature(row: np.ndarray, out: np.ndarray) -> float:
    z = np.asarray(row, dtype=np.float64)
    finite = np.isfinite(z)
    top = z[finite].max()
    below = finite & (z < top)
    alive = below & np.isfinite(out)
    if not alive.any():
        return 0.0  # greedy: only the maxima kept a finite score
    i = int(np.flatnonzero(alive)[np.argmin(z[alive])])
    if out[i] == 0:
        return float("inf")  # T = inf: every unmasked token gets score 0
    return float((z[i] - top) / out[i])


def hf_adapter(method: str, dtype: str, policy: str = "paper") -> Callable:
    """The ``ees_theory.hf`` warper for ``method`` (``ees``, ``edt``, ``dynatemp``) as a port."""
    from .. import hf

    if method in _HF_PORTS:
        return _HF_PORTS[method](hf, dtype)
    raise ValueError(f"ees_theory.hf has warpers for {', '.join(HF_METHODS)}, not {method!r}")


def _kernel_scale_port(dtype: str, device: str) -> Callable:
    """The kernels' ``apply_temperature`` as a port (temperature is not a built-in port method)."""
    from .. import kernels

    def scale(logits, temperature):
        out = kernels.apply_temperature(_tensor(logits, dtype).to(device), float(temperature))
        return out[0].float().cpu().numpy().astype(np.float64)

    return scale


#: Methods whose kernel port is not one of the harness's built-in ports.
_KERNEL_PORTS = {"temperature": _kernel_scale_port}


def _hf_ees_port(hf, dtype: str) -> Callable:
    def ees(logits, temperature):
        out = hf.EESLogitsWarper(temperature=float(temperature))(None, _tensor(logits, dtype))
        return (out[0].float() != -float("inf")).numpy()

    return ees


def _hf_edt_port(hf, dtype: str) -> Callable:
    def edt(logits, T0, theta, N):
        out = hf.EDTLogitsWarper(T0=T0, theta=theta, N=N)(None, _tensor(logits, dtype))
        return _read_temperature(logits, out[0].float().numpy().astype(np.float64))

    return edt


def _hf_dynatemp_port(hf, dtype: str) -> Callable:
    def dynatemp(logits, temp, delta, exponent):
        if delta > 0 and len(logits) <= 1:
            return None  # the warper (like llama.cpp) leaves a single candidate alone
        out = hf.DynaTempLogitsWarper(temp=temp, delta=delta, exponent=exponent)(None, _tensor(logits, dtype))
        return _read_temperature(logits, out[0].float().numpy().astype(np.float64))

    return dynatemp


#: The ``ees_theory.hf`` warper of each method, as a port.
_HF_PORTS = {"ees": _hf_ees_port, "edt": _hf_edt_port, "dynatemp": _hf_dynatemp_port}
#: The methods ``ees_theory.hf`` has a warper for.
HF_METHODS = tuple(_HF_PORTS)
