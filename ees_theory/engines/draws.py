"""Token-level engines: samplers judged on the tokens they draw (form ``draws`` of the matrix).

Each engine gives a draws port ``fn(logits, temperature, draws, seed, /, **params) -> token ids``
(:mod:`ees_theory.running.draws`), called the way the engine calls itself:

* ``torch.multinomial`` (CPU; probabilities in float32, float16 or bfloat16): the kept mask of
  the toolkit's kernels in that dtype, ``softmax((z - max z) / T)`` in that dtype (the maximum
  subtracted before dividing, as a careful engine does: dividing first overflows float16 at a
  tiny ``T``), then one
  ``torch.multinomial(probs, 1)`` per row on ``draws`` copies of the row, as transformers'
  ``generate(do_sample=True)`` draws one token per row and step. What is judged is the sampling
  step in each dtype (the kept set comes from the toolkit's own kernels, checked elsewhere).
* ``exponential-race`` (vLLM's native sampler): ``argmax(probs / Exp(1))`` per row, float32.
* ``transformers``: the sampling step of ``generate`` on processed scores (no model: the warpers
  ``generate`` builds, ``TemperatureLogitsWarper`` first, on float32 scores, then ``softmax`` and
  ``torch.multinomial(probs, 1)`` per row) -- the step ``_sample`` runs after the logits
  processors, on rows we choose.
* ``llama.cpp``: the chain ``temp(T) -> sampler -> dist(seed)`` through llama-cpp-python's C API on
  a hand-built candidate array, refilled for every draw while the chain (and ``dist``'s RNG) lives
  on, as a generation reuses its sampler; mirostat v1/v2 are the chain ``temp(T) -> mirostat``
  (they select the token themselves, ``mu`` starting at ``2 tau`` as llama.cpp does, so cases are
  run without a given ``mu``). Temperature first is the order that matches the toolkit's
  definition (truncation on ``softmax(z / T)``); at ``T = 1`` it is llama.cpp's default chain.

On a GPU (not-run elsewhere, with the reason):

* ``torch.multinomial.cuda``: as ``torch.multinomial`` above, on a CUDA device. The probabilities
  are checked on the host first, raising the CPU's error: on CUDA an invalid row is a device-side
  assert that would leave the process's CUDA context unusable for every later case.
* ``flashinfer``: ``flashinfer.sampling.top_k_`` / ``top_p_`` / ``min_p_sampling_from_probs`` on
  ``softmax(z / T)`` in float32, one draw per row of a batch of copies; cases asking for
  ``min_tokens_to_keep > 1`` or ``p`` outside (0, 1) are not drawn (counted skipped).

XTC is listed but not run: the toolkit has no certified XTC reference to draw against. vLLM's
sampler needs its engine state and vLLM itself (not installable on the GPU machine used).

>>> fn = factory("exponential-race", "top-k", "float32")
>>> sorted(set(fn(np.array([2.0, 1.0, 0.0, -5.0], dtype=np.float32), 1.0, 200, 3, k=2, min_tokens_to_keep=1).tolist()))
[0, 1]
"""

from __future__ import annotations

import ctypes
from typing import Callable

import numpy as np

from . import gpu
from ..judging.outcomes import RowVerdict, Status
from ..core.records import record
from ..core.truncation.registry import SAMPLERS as TRUNCATION_SAMPLERS

__all__ = ["ENGINES", "ROW_NAMES", "REVISIONS", "factory", "available", "version", "register_rows", "run_draws_row", "name_engine_faults", "MATRIX_DRAWS", "MULTINOMIAL_FLOAT16_ZERO"]

#: engine -> (policy, methods, dtypes, what it calls)
ENGINES = {
    "torch.multinomial": ("paper", ("top-k", "top-p", "min-p", "ees"), ("float32", "float16", "bfloat16"), "torch.multinomial(probs, 1) per row"),
    "exponential-race": ("paper", ("top-k", "top-p", "min-p", "ees"), ("float32",), "argmax(probs / Exp(1)) (vLLM's random_sample)"),
    "transformers": ("transformers", ("top-k", "top-p", "min-p", "typical", "epsilon", "eta"), ("float32",),
                     "generate's sampling step: warpers, softmax, torch.multinomial(probs, 1)"),
    "llama.cpp": ("llama.cpp", ("top-k", "top-p", "min-p", "typical", "top-n-sigma", "mirostat-v1", "mirostat-v2"), ("float32",),
                  "llama_sampler chain temp -> sampler -> dist"),
    # on the GPU (not-run without CUDA)
    "torch.multinomial.cuda": ("paper", ("top-k", "top-p", "min-p", "ees"), ("float32", "float16", "bfloat16"),
                               "torch.multinomial(probs, 1) per row, on cuda"),
    "flashinfer": ("transformers", ("top-k", "top-p", "min-p"), ("float32",),
                   "flashinfer.sampling.top_k_ / top_p_ / min_p_sampling_from_probs"),
}
#: engines whose draws need CUDA
_GPU_ENGINES = ("torch.multinomial.cuda", "flashinfer")
#: each engine's adapter revision (:attr:`~.registry.EngineRow.revision`), raised when what the
#: adapter computes changes; 2: the torch samplers subtract the row's maximum before dividing by T
REVISIONS = {"torch.multinomial": 2, "exponential-race": 2, "torch.multinomial.cuda": 2}
#: draws per case in the matrix (the report states the total variation this detects)
MATRIX_DRAWS = 20000
_CHUNK = 8192


def version(engine: str) -> str | None:
    """The version string of the library behind ``engine`` (None: not installed)."""
    try:
        if engine == "llama.cpp":
            import llama_cpp

            return f"llama-cpp-python {llama_cpp.__version__}"
        if engine == "transformers":
            import transformers

            return f"transformers {transformers.__version__}"
        if engine == "flashinfer":
            from .gpu import version_flashinfer

            return f"flashinfer-python {version_flashinfer()}" if version_flashinfer() else None
        import torch

        if engine in _GPU_ENGINES and torch.cuda.is_available():
            return f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}"
        return f"torch {torch.__version__}"
    except ImportError:
        return None


def available(engine: str) -> str | None:
    """None when ``engine`` can run here, else why not."""
    if engine in _GPU_ENGINES:
        from .gpu import cuda_reason

        why = cuda_reason()
        if why:
            return why
    return None if version(engine) else f"{engine}: not installed"


def _torch_dtype(dtype: str):
    import torch

    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64}[dtype]


def _kernel_mask(method: str, logits, temperature: float, params: dict, dtype: str, device: str = "cpu"):
    import torch

    from .. import torch as kernels

    x = torch.from_numpy(np.asarray(logits, dtype=np.float32)).to(device=device, dtype=_torch_dtype(dtype))
    if method in TRUNCATION_SAMPLERS:
        return kernels.truncate_mask(method, x, temperature, accumulate="input", **params)
    return kernels.ees_mask(x, temperature, accumulate="input")


def _per_row(probs, n: int, seed: int, race: bool) -> np.ndarray:
    """``n`` draws, one per row of ``n`` copies of ``probs`` (chunked, on ``probs``' device)."""
    import torch

    if probs.device.type != "cpu" and not bool((torch.isfinite(probs) & (probs >= 0)).all()):
        # what torch.multinomial raises on the CPU; on CUDA it is a device-side assert that
        # would leave the process's CUDA context unusable for every later case
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    g = torch.Generator(device=probs.device).manual_seed(int(seed))
    out = []
    for start in range(0, n, _CHUNK):
        rows = probs.expand(min(_CHUNK, n - start), -1).contiguous()
        if race:
            q = torch.empty_like(rows).exponential_(generator=g)
            out.append(rows.div(q).argmax(dim=-1))
        else:
            out.append(torch.multinomial(rows, 1, generator=g).squeeze(1))
    return torch.cat(out).cpu().numpy().astype(np.int64)


def _softmax_masked(logits, temperature: float, mask, dtype: str):
    """``softmax((z - max z) / T)`` over the kept tokens, every step in ``dtype``, as a careful
    engine computes it: the largest kept logit is subtracted *before* dividing by ``T``, so a tiny
    ``T`` sends the other logits to ``-inf`` (probability 0) and the largest to 0. Dividing first
    overflows: in float16 ``-2 / 2**-20`` is ``-inf`` for every token, and the softmax is NaN.

    >>> import torch
    >>> _softmax_masked([-2.0], 2.0**-20, torch.tensor([True]), "float16").tolist()
    [1.0]
    >>> _softmax_masked([0.0, -1.0, 5.0], 2.0**-20, torch.tensor([True, True, False]), "float16").tolist()
    [1.0, 0.0, 0.0]
    """
    import torch

    x = torch.from_numpy(np.asarray(logits, dtype=np.float32)).to(device=mask.device, dtype=_torch_dtype(dtype))
    x = x.masked_fill(~mask, -torch.inf)
    top = x.max(dim=-1, keepdim=True).values  # a kept token's logit (the mask keeps one at least): finite
    return torch.softmax((x - top) / temperature, dim=-1)


def _row_key(logits, temperature: float) -> bytes:
    return np.asarray(logits, dtype=np.float64).tobytes() + np.float64(temperature).tobytes()


def _torch_engine(method: str, dtype: str, race: bool, device: str = "cpu") -> Callable:
    def draw(logits, temperature, draws, seed, /, **params):
        mask = _kernel_mask(method, logits, temperature, params, dtype, device)
        probs = _softmax_masked(logits, temperature, mask, dtype)
        tokens = _per_row(probs, draws, seed, race)
        handed = probs.float().cpu().numpy()[tokens]  # float32 holds every half-precision value (numpy has no bfloat16)
        if np.any(handed == 0):  # the engine returned an index it was handed with probability exactly 0
            count, seen = draw.zero_draws.get(_row_key(logits, temperature), (0, set()))
            draw.zero_draws[_row_key(logits, temperature)] = (count + int(np.sum(handed == 0)), seen | {int(t) for t in tokens[handed == 0]})
        return tokens

    #: per row (logits and temperature): how many draws returned an index whose probability in the
    #: tensor handed to the engine is exactly 0, and which indices (:func:`_zero_draw_diagnosis`)
    draw.zero_draws = {}
    return draw


#: the cause of a ``torch.multinomial`` draw of an index handed with probability 0 on the CPU in
#: float16 (found by this row, traced to pytorch/pytorch#192812)
MULTINOMIAL_FLOAT16_ZERO = (
    "multinomial-zero-probability",
    "torch.multinomial returned {count} index(es) it was handed with probability exactly 0 in the {dtype} tensor ({tokens}): "
    "on the CPU it takes argmax(p / q) with q ~ Exp(1) drawn in double and cast to {dtype}; a q below the dtype's smallest "
    "positive value becomes 0, p / q = 0 / 0 is NaN and argmax returns that index (pytorch/pytorch#192812). Those indices "
    "had probability 0 in the tensor handed to it: the draw put them there, not the kept set; draw from float32 probabilities",
)


def _zero_draw_diagnosis(fn: Callable, case, dtype: str) -> str | None:
    """The diagnosis of a failing case on which the engine drew indices handed with probability 0."""
    zero = getattr(fn, "zero_draws", {}).get(_row_key(case.logits, case.params.get("temperature", 1.0)))
    if not zero:
        return None
    count, tokens = zero
    name, why = MULTINOMIAL_FLOAT16_ZERO
    return f"{name}: " + why.format(count=count, dtype=dtype, tokens=sorted(tokens)[:8])


#: FlashInfer's sampling operation for each method: its name, the parameter it takes and its type.
_FLASHINFER_SAMPLING = {
    "top-k": ("top_k_sampling_from_probs", "k", int),
    "top-p": ("top_p_sampling_from_probs", "p", float),
    "min-p": ("min_p_sampling_from_probs", "min_p", float),
}


def _flashinfer_engine(method: str, dtype: str) -> Callable:
    """FlashInfer's sampling kernels on ``softmax(z / T)`` in float32, ``draws`` rows per call
    (each row one draw, as a batch of requests draws one token each)."""
    import torch
    import flashinfer.sampling as fs

    op, name, cast = _FLASHINFER_SAMPLING[method]

    def draw(logits, temperature, draws, seed, /, **params):
        z = torch.from_numpy(np.asarray(logits, dtype=np.float32)).to("cuda")
        probs = torch.softmax(z / temperature, dim=-1).reshape(1, -1)
        g = torch.Generator(device="cuda").manual_seed(int(seed))
        out = []
        for start in range(0, draws, _CHUNK):
            rows = probs.expand(min(_CHUNK, draws - start), -1).contiguous()
            out.append(getattr(fs, op)(rows, cast(params[name]), generator=g))
        return torch.cat(out).cpu().numpy().astype(np.int64)

    return draw


def _transformers_engine(method: str, dtype: str) -> Callable:
    import torch
    from transformers import generation
    from transformers.generation import LogitsProcessorList

    from .transformers_engine import WARPERS, warper_chain

    cls_name, args = WARPERS[method]
    cls = getattr(generation, cls_name)

    def draw(logits, temperature, draws, seed, /, **params):
        procs = LogitsProcessorList(warper_chain(temperature, cls(**args(params))))
        row = torch.from_numpy(np.asarray(logits, dtype=np.float32)).reshape(1, -1)
        g = torch.Generator().manual_seed(int(seed))
        out = []
        for start in range(0, draws, _CHUNK):
            m = min(_CHUNK, draws - start)
            scores = procs(torch.zeros((m, 1), dtype=torch.long), row.expand(m, -1).clone())
            probs = torch.softmax(scores, dim=-1)  # generate: softmax of the processed scores, then multinomial
            out.append(torch.multinomial(probs, 1, generator=g).squeeze(1))
        return torch.cat(out).numpy().astype(np.int64)

    return draw


#: llama.cpp's mirostat samplers, built for a row of ``V`` tokens (v1's estimate reads the first ``m``).
_LLAMA_MIROSTAT = {
    "mirostat-v1": lambda L, V, seed, p: L.llama_sampler_init_mirostat(V, seed, float(p["tau"]), float(p["eta"]), int(p.get("m", 100))),
    "mirostat-v2": lambda L, V, seed, p: L.llama_sampler_init_mirostat_v2(seed, float(p["tau"]), float(p["eta"])),
}


def _llama_engine(method: str, dtype: str) -> Callable:
    import llama_cpp as L

    from .llamacpp_engine import SAMPLERS, TOKEN_DTYPE, exact_float32

    def draw(logits, temperature, draws, seed, /, **params):
        row = exact_float32(logits)
        V = len(row)
        template = np.zeros(V, dtype=TOKEN_DTYPE)
        template["id"] = np.arange(V, dtype=np.int32)
        template["logit"] = row
        buf = template.copy()
        base = buf.ctypes.data
        chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
        try:
            if temperature != 1.0:
                L.llama_sampler_chain_add(chain, L.llama_sampler_init_temp(float(temperature)))
            if method in _LLAMA_MIROSTAT:  # mirostat draws the token itself: no dist sampler after it
                L.llama_sampler_chain_add(chain, _LLAMA_MIROSTAT[method](L, V, int(seed), params))
            else:
                ctor, args = SAMPLERS[method]
                L.llama_sampler_chain_add(chain, getattr(L, ctor)(*args(params)))
                L.llama_sampler_chain_add(chain, L.llama_sampler_init_dist(int(seed)))
            out = np.empty(draws, dtype=np.int64)
            for i in range(draws):
                ctypes.memmove(base, template.ctypes.data, template.nbytes)
                arr = L.llama_token_data_array(data=buf.ctypes.data_as(ctypes.POINTER(L.llama_token_data)), size=V, selected=-1, sorted=False)
                L.llama_sampler_apply(chain, ctypes.byref(arr))
                start = (ctypes.cast(arr.data, ctypes.c_void_p).value - base) // TOKEN_DTYPE.itemsize
                sel = start + int(arr.selected)
                if arr.selected < 0 or not 0 <= sel < V:
                    raise RuntimeError(f"llama.cpp selected no token (selected = {arr.selected})")
                out[i] = int(buf["id"][sel])
                tok = L.llama_token(int(out[i]))
                L.llama_sampler_accept(chain, tok)
            return out
        finally:
            L.llama_sampler_free(chain)

    return draw


def factory(engine: str, method: str, dtype: str) -> Callable:
    """The draws port of ``engine`` for ``method`` in ``dtype`` (imports the engine).

    >>> factory("llama.cpp", "edt", "float32")
    Traceback (most recent call last):
    ...
    ValueError: llama.cpp has no token-level row for 'edt'; it has: top-k, top-p, min-p, typical, top-n-sigma, mirostat-v1, mirostat-v2
    """
    if engine not in ENGINES:
        raise ValueError(f"no token-level engine {engine!r}; there are: {', '.join(ENGINES)}")
    _, methods, dtypes, _ = ENGINES[engine]
    if method not in methods:
        raise ValueError(f"{engine} has no token-level row for {method!r}; it has: {', '.join(methods)}")
    if dtype not in dtypes:
        raise ValueError(f"{engine} draws from {', '.join(dtypes)} probabilities, not {dtype}")
    if engine in ("torch.multinomial", "exponential-race"):
        return _torch_engine(method, dtype, race=engine == "exponential-race")
    if engine == "torch.multinomial.cuda":
        return _torch_engine(method, dtype, race=False, device="cuda")
    if engine == "flashinfer":
        return _flashinfer_engine(method, dtype)
    if engine == "transformers":
        return _transformers_engine(method, dtype)
    return _llama_engine(method, dtype)


def _cases(method: str, dtype: str, examples: int, seed: int, engine: str):
    from ..harness import plan
    from ..running.generate import generated_cases

    cases = [c for c in plan(method, dtype, vectors=True) if dtype in c.dtypes and c.vocab <= 4096]
    cases += generated_cases(method, dtype, examples, seed=seed, vocabs=(2, 3, 4, 5, 8, 12, 16, 32, 50, 64, 100, 128, 256, 512, 1000))
    if engine == "llama.cpp" and record(method).stateful:  # llama.cpp starts mu at 2 tau; it takes no mu
        cases = [c.with_params({k: v for k, v in c.params.items() if k not in ("mu", "u")}) for c in cases]
    return cases


def run_draws_row(engine: str, method: str, dtype: str, *, examples: int = 20, seed: int = 0, draws: int | None = None,
                  alpha: float = 1e-6, shrink: bool = True):
    """Judge ``engine``'s draws for ``method`` in ``dtype``: the golden vectors (up to 4096 tokens)
    and ``examples`` generated cases, ``draws`` per case (default ``MATRIX_DRAWS``; mirostat: the
    judge's default steps). Returns the :class:`~ees_theory.running.draws.DrawsReport`."""
    from ..judging.draws import MIROSTAT
    from ..running.draws import InProcessDrawsPort, check_draws
    from ..judging.methods import Options

    policy = ENGINES[engine][0]
    fn = factory(engine, method, dtype)
    if draws is None and method not in MIROSTAT:
        draws = MATRIX_DRAWS
    cases = _cases(method, dtype, examples, seed, engine)
    port = InProcessDrawsPort(fn, f"engine:{engine}:{method}")
    skip = None
    if engine == "flashinfer":
        skip = gpu.flashinfer_skip_case
    report = check_draws(port, method, dtype, cases=cases, draws=draws, seed=seed, alpha=alpha,
                         options=Options(policy=policy), shrink=shrink, skip_case=skip)
    return name_engine_faults(report, fn, cases, dtype)


def name_engine_faults(report, fn: Callable, cases, dtype: str):
    """``report`` with each failure that the engine's own draws explain (``fn``'s record of indices
    it returned though they were handed with probability 0: :data:`MULTINOMIAL_FLOAT16_ZERO`)
    given that cause as its fault and diagnosis."""
    by_id = {c.id: c for c in cases}
    for rec in report.records:
        if rec["status"] == Status.FAILED and rec["case"] in by_id:
            why = _zero_draw_diagnosis(fn, by_id[rec["case"]], dtype)
            if why:
                rec["fault"] = why.split(":")[0]
                rec["message"] += ". Diagnosis: " + why
    return report


def _runner(engine: str):
    def runner(row, dtype, examples=20, seed=0):
        from .registry import RowResult

        report = run_draws_row(engine, row.method, dtype, examples=min(examples, 20), seed=seed)
        c = report.counts()
        fails = [r for r in report.records if r["status"] == Status.FAILED]
        first = None
        if fails:
            f = fails[0]
            first = {"case": f["case"], "family": f["family"], "fault": f["fault"], "message": f["message"],
                     "reproduce": (f.get("shrunk") or {}).get("repro", f.get("repro"))}
        skipped = {}
        for r in report.records:
            if r["status"] == Status.SKIPPED:
                skipped[r["message"]] = skipped.get(r["message"], 0) + 1
        return RowResult(
            engine=ROW_NAMES[engine], engine_version=version(engine), method=row.method, policy=row.policy, dtype=dtype, form="draws",
            verdict=RowVerdict.FAILS if c["failed"] else RowVerdict.CONFORMS if report.ok else RowVerdict.NOT_RUN,
            reason=report.plan["statement"] if c["cases"] else "no case could be judged", passed=c["passed"],
            admissible=c["admissible"], failed=c["failed"], skipped=c["skipped"], cases=len(report.records),
            port=f"engine:{engine}:{row.method}", calls=row.calls, first_failure=first,
            failures=[{"case": f["case"], "family": f["family"], "fault": f["fault"], "message": f["message"],
                       "vocab": (f.get("shrunk") or {}).get("vocab", f["vocab"]), "shrunk_message": (f.get("shrunk") or {}).get("message"),
                       "reproduce": (f.get("shrunk") or {}).get("repro", f.get("repro"))} for f in fails[:5]],
            skipped_reasons=skipped,
        )

    return runner


#: matrix engine names of the token-level rows (distinct from the mask rows of the same library)
ROW_NAMES = {"torch.multinomial": "torch.multinomial", "exponential-race": "exponential-race",
             "transformers": "transformers-generate", "llama.cpp": "llama.cpp-dist",
             "torch.multinomial.cuda": "torch.multinomial.cuda", "flashinfer": "flashinfer-sampler"}


def _vllm_draws_reason() -> str:
    return gpu.available_vllm() or "not wired: vLLM's sampler needs its engine state (a GPU run with vLLM installed)"


def register_rows() -> None:
    """Register every token-level engine as matrix rows of form ``draws``, and vLLM's and
    FlashInfer's sampling ops as rows that cannot run without CUDA."""
    from .registry import EngineRow, register

    for engine, (policy, methods, dtypes, calls) in ENGINES.items():
        for m in methods:
            register(EngineRow(
                ROW_NAMES[engine], m, policy, form="draws", runner=_runner(engine), dtypes=dtypes, supported_dtypes=dtypes,
                version=lambda e=engine: version(e), available=lambda e=engine: available(e), calls=calls,
                observes="the drawn token ids", revision=REVISIONS.get(engine, 1),
            ), replace=True)
    for name, calls in (("vllm-sampler", "vllm random_sample / flashinfer_sample (deterministic=True)"),):
        for m in ("top-k", "top-p"):
            register(EngineRow(name, m, "transformers", form="draws", runner=lambda *a, **k: None, dtypes=("float32",),
                               version=gpu.version_vllm, available=_vllm_draws_reason, calls=calls, observes="the drawn token ids"), replace=True)
