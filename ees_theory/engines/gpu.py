"""vLLM's and FlashInfer's sampling ops as ports (they need CUDA; elsewhere their rows are
``not-run`` with the reason, counted in the matrix).

* vLLM: ``vllm.v1.sample.ops.topk_topp_sampler.apply_top_k_top_p(logits, k, p)`` on a ``(1, V)``
  CUDA tensor already divided by the temperature (vLLM divides before truncating); kept = result
  not ``-inf``. vLLM has no ``min_tokens_to_keep``: cases asking for more than 1 are skipped
  (:func:`skip_case`).
* FlashInfer: ``flashinfer.sampling.top_k_mask_logits(logits, top_k)`` (kept = not ``-inf``) and
  ``top_p_renorm_probs(probs, top_p)`` on ``softmax(logits / T)`` (kept = renormalised
  probability > 0). No ``min_tokens_to_keep`` either.

What they observe: the masked logits / renormalised probabilities the ops return, for one row.
Policies: vLLM's PyTorch path keeps ties at the k-th value and the crossing token, like
transformers (its documented behaviour; vLLM could not be installed on the GPU machine, so this is
unverified). FlashInfer 0.5.0, measured on an H200: ``top_k_mask_logits`` keeps every token tied
with the k-th (transformers policy, not llama.cpp's exactly ``k``); ``top_p_renorm_probs`` keeps
the crossing token and every token tied with it, which no policy of the specification does: it
conforms on rows without an exact tie at the crossing and fails on rows with one (the engines
chapter shows the smallest such row).

>>> _reason("needs CUDA: torch.cuda.is_available() is False", False, "vllm")
'needs CUDA: torch.cuda.is_available() is False; not installed (pip install vllm)'
>>> _reason(None, True, "vllm") is None
True
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["cuda_reason", "vllm_adapter", "flashinfer_adapter", "available_vllm", "available_flashinfer", "version_vllm", "version_flashinfer", "skip_case", "flashinfer_skip_case"]


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def version_vllm() -> str | None:
    return _version("vllm")


def version_flashinfer() -> str | None:
    return _version("flashinfer-python") or _version("flashinfer")


def cuda_reason() -> str | None:
    """Why CUDA cannot be used here (``None``: it can)."""
    try:
        import torch
    except ImportError:
        return "needs CUDA: torch is not installed"
    return None if torch.cuda.is_available() else "needs CUDA: torch.cuda.is_available() is False"


def _reason(cuda: str | None, installed: bool, package: str) -> str | None:
    missing = None if installed else f"not installed (pip install {package})"
    return "; ".join(r for r in (cuda, missing) if r) or None


def available_vllm() -> str | None:
    return _reason(cuda_reason(), version_vllm() is not None, "vllm")


def available_flashinfer() -> str | None:
    return _reason(cuda_reason(), version_flashinfer() is not None, "flashinfer-python")


def skip_case(row: np.ndarray, params: dict) -> str | None:
    """Cases these ops cannot express: ``min_tokens_to_keep > 1``."""
    if int(params.get("min_tokens_to_keep", 1)) != 1:
        return "the op has no min_tokens_to_keep (only 1 can be expressed)"
    return None


def flashinfer_skip_case(row: np.ndarray, params: dict) -> str | None:
    """Cases FlashInfer's ops cannot express: ``min_tokens_to_keep > 1``, and ``top_p`` outside
    ``(0, 1)`` (the ops document that interval).

    >>> flashinfer_skip_case(np.zeros(3), {"p": 1.0, "min_tokens_to_keep": 1})
    'FlashInfer takes top_p in (0, 1), got 1.0'
    """
    why = skip_case(row, params)
    if why is None and "p" in params and not 0.0 < float(params["p"]) < 1.0:
        why = f"FlashInfer takes top_p in (0, 1), got {float(params['p'])}"
    return why


def _cuda_row(logits: np.ndarray, dtype: str, temperature: float):
    import torch

    t = torch.from_numpy(np.array(logits, copy=True)).reshape(1, -1).to("cuda")
    if dtype == "bfloat16":
        t = t.to(torch.bfloat16)
    return t / temperature if temperature != 1.0 else t


def vllm_adapter(method: str, dtype: str, policy: str = "transformers") -> Callable:
    """``apply_top_k_top_p`` for ``top-k`` or ``top-p`` in ``dtype`` (CUDA)."""
    import torch
    from vllm.v1.sample.ops.topk_topp_sampler import apply_top_k_top_p

    if method not in _VLLM_K_P:
        raise ValueError(f"the vLLM adapter covers {' and '.join(_VLLM_K_P)}, not {method!r}")
    k_and_p = _VLLM_K_P[method]

    def truncate(logits, temperature, **params):
        x = _cuda_row(logits, dtype, temperature)
        k, p = k_and_p(torch, params)
        out = apply_top_k_top_p(x.clone(), k, p)
        return (out[0] != -float("inf")).cpu().numpy()

    return truncate


def flashinfer_adapter(method: str, dtype: str, policy: str = "llama.cpp") -> Callable:
    """``top_k_mask_logits`` (top-k) or ``top_p_renorm_probs`` (top-p) in ``dtype`` (CUDA)."""
    import torch
    import flashinfer.sampling as fs

    if method not in _FLASHINFER_MASKS:
        raise ValueError(f"the FlashInfer adapter covers {' and '.join(_FLASHINFER_MASKS)}, not {method!r}")
    kept = _FLASHINFER_MASKS[method]

    def truncate(logits, temperature, **params):
        return kept(fs, torch, _cuda_row(logits, dtype, temperature), params).cpu().numpy()

    return truncate


#: How vLLM's ``apply_top_k_top_p`` is told each method: its ``(k, p)`` tensors (one of them None).
_VLLM_K_P = {
    "top-k": lambda torch, prm: (torch.tensor([int(prm["k"])], device="cuda"), None),
    "top-p": lambda torch, prm: (None, torch.tensor([float(prm["p"])], device="cuda")),
}


def _flashinfer_top_k(fs, torch, x, params):
    """``top_k_mask_logits`` on float32 logits: the kept tokens keep a finite logit."""
    return fs.top_k_mask_logits(x.float(), int(params["k"]))[0] != -float("inf")


def _flashinfer_top_p(fs, torch, x, params):
    """``top_p_renorm_probs`` on ``softmax`` in float32: the kept tokens keep a positive probability."""
    return fs.top_p_renorm_probs(torch.softmax(x.float(), dim=-1), float(params["p"]))[0] > 0


#: The FlashInfer operation each method runs, returning the kept mask of the row.
_FLASHINFER_MASKS = {"top-k": _flashinfer_top_k, "top-p": _flashinfer_top_p}
