"""The built-in rows of the engine matrix (registered on import by :mod:`.registry`).

One row per engine x method x policy: transformers' warpers (policy ``transformers``), llama.cpp's
samplers through llama-cpp-python (policy ``llama.cpp``), the toolkit's own kernels and ``hf``
warpers, and vLLM's and FlashInfer's ops (``not-run`` without CUDA). Token-level rows (form
``draws``) are registered by the modules that judge draws.

>>> from ees_theory.engines.table import rows
>>> {r.engine for r in rows()} >= {"transformers", "llama.cpp", "ees_theory.kernels", "ees_theory.hf", "vllm", "flashinfer"}
True
"""

from __future__ import annotations

from . import gpu, llamacpp_engine, own, transformers_engine
from ..spec.formats import DTYPES as ALL_DTYPES
from ..core.records import record as spec_record
from .registry import EngineRow, register

__all__ = ["ALL_DTYPES"]

_HF_CALLS = {
    "top-k": "TopKLogitsWarper", "top-p": "TopPLogitsWarper", "min-p": "MinPLogitsWarper",
    "typical": "TypicalLogitsWarper", "epsilon": "EpsilonLogitsWarper", "eta": "EtaLogitsWarper",
    "temperature": "TemperatureLogitsWarper",
}
for _m in transformers_engine.SUPPORTED_METHODS:
    register(EngineRow(
        "transformers", _m, "transformers", adapter="ees_theory.engines.transformers_engine:adapter",
        dtypes=("float32", "float16", "bfloat16"), supported_dtypes=ALL_DTYPES, version=transformers_engine.version,
        available=transformers_engine.available, calls=_HF_CALLS[_m],
        observes="processed scores: kept = not -inf" if _m != "temperature" else "the scaled scores",
    ), replace=True)

#: llama.cpp rows whose answer is read back from the logits, which some rows do not show
_LLAMA_UNOBSERVABLE = frozenset({"dynatemp", "xtc"})
_LLAMA_CALLS = {m: ctor for m, (ctor, _) in llamacpp_engine.SAMPLERS.items()}
_LLAMA_CALLS.update(temperature="llama_sampler_init_temp", dynatemp="llama_sampler_init_temp_ext")
for _m in llamacpp_engine.SUPPORTED_METHODS:
    register(EngineRow(
        "llama.cpp", _m, "llama.cpp", adapter="ees_theory.engines.llamacpp_engine:adapter",
        dtypes=("float32",), supported_dtypes=llamacpp_engine.DTYPES, version=llamacpp_engine.version,
        available=llamacpp_engine.available, calls=_LLAMA_CALLS[_m],
        skip_case=llamacpp_engine.unobservable if _m in _LLAMA_UNOBSERVABLE else None,
        observes={"temperature": "the scaled logits, by id", "dynatemp": "T read back as l_i / out_i"}.get(_m, "data[0:size], kept = logit not -inf"),
    ), replace=True)

# the toolkit's own kernels, under the same method/policy pairs as the engines above (and EES/EDT)
_KERNEL_ROWS = [("ees", "paper"), ("edt", "paper"), ("dynatemp", "llama.cpp"), ("temperature", "paper")]
_KERNEL_ROWS += [(m, "transformers") for m in transformers_engine.WARPERS]
_KERNEL_ROWS += [(m, "llama.cpp") for m in llamacpp_engine.SAMPLERS]
_KERNEL_ROWS += [("p-less", "paper"), ("p-less-norm", "paper"), ("mirostat-v1", "llama.cpp"), ("mirostat-v2", "llama.cpp")]


def _registered_calls(method: str) -> str:
    name = {"ees": "ees_mask", "edt": "edt_temperature", "dynatemp": "dynatemp_temperature", "temperature": "apply_temperature"}
    return "ees_theory.torch " + name.get(method, "mirostat_step" if spec_record(method).stateful else "truncate_mask")


for _m, _pol in _KERNEL_ROWS:
    register(EngineRow(
        "ees_theory.kernels", _m, _pol, adapter="ees_theory.engines.own:kernels_adapter",
        dtypes=("float32",), supported_dtypes=ALL_DTYPES, version=own.version,
        calls=_registered_calls(_m),
        observes="the mask / temperature the kernel returns",
    ), replace=True)

# the same kernels on the GPU (not-run without CUDA; a GPU run records them in every dtype)
for _m, _pol in _KERNEL_ROWS:
    register(EngineRow(
        "ees_theory.kernels.cuda", _m, _pol, adapter="ees_theory.engines.own:kernels_cuda_adapter",
        dtypes=("float32", "float16", "bfloat16"), supported_dtypes=ALL_DTYPES, version=own.cuda_version,
        available=gpu.cuda_reason, calls=_registered_calls(_m),
        observes="the mask / temperature the kernel returns, copied back from the GPU",
    ), replace=True)

for _m, _cls in (("ees", "EESLogitsWarper"), ("edt", "EDTLogitsWarper"), ("dynatemp", "DynaTempLogitsWarper")):
    register(EngineRow(
        "ees_theory.hf", _m, "llama.cpp" if _m == "dynatemp" else "paper", adapter="ees_theory.engines.own:hf_adapter",
        dtypes=("float32",), supported_dtypes=ALL_DTYPES, version=own.version, calls="ees_theory.hf." + _cls,
        skip_case=None if _m == "ees" else own.unobservable,
        observes="kept = score not -inf" if _m == "ees" else "T read back as (l_i - l_max) / out_i",
    ), replace=True)

for _m, _pol in (("top-k", "transformers"), ("top-p", "transformers")):
    register(EngineRow(
        "vllm", _m, _pol, adapter="ees_theory.engines.gpu:vllm_adapter", dtypes=("float32",), supported_dtypes=ALL_DTYPES,
        version=gpu.version_vllm, available=gpu.available_vllm, skip_case=gpu.skip_case,
        calls="vllm.v1.sample.ops.topk_topp_sampler.apply_top_k_top_p", observes="masked logits: kept = not -inf",
    ), replace=True)
# FlashInfer's top-k mask keeps every token tied with the k-th (a GPU run under the llama.cpp
# policy, exactly k, failed on tie rows only): judged under the transformers policy, which keeps ties
for _m, _pol, _call in (("top-k", "transformers", "top_k_mask_logits"), ("top-p", "transformers", "top_p_renorm_probs")):
    register(EngineRow(
        "flashinfer", _m, _pol, adapter="ees_theory.engines.gpu:flashinfer_adapter", dtypes=("float32",),
        supported_dtypes=ALL_DTYPES, version=gpu.version_flashinfer, available=gpu.available_flashinfer,
        skip_case=gpu.flashinfer_skip_case, calls="flashinfer.sampling." + _call,
        observes="masked logits / renormalised probabilities: kept = not -inf / > 0",
    ), replace=True)

# token-level rows (form "draws"): samplers judged on the tokens they draw
from .draws import register_rows as _register_draws_rows  # noqa: E402

_register_draws_rows()
