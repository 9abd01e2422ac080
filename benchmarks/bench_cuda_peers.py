"""EES on the GPU against the GPU peers a porter would use instead, timed in the same run.

Peers (float32, one CUDA stream, every call synchronised, interleaved medians from
``benchmarks/_common.py``):

* ``top-p``: a warper with the structure of transformers' ``TopPLogitsWarper`` (sort, softmax,
  cumsum, scatter), as in ``bench_torch.py``;
* ``fi-top-p``: FlashInfer's ``top_p_renorm_probs(softmax(z), 0.9)`` (sorting-free pivot search);
* ``fi-top-k``: FlashInfer's ``top_k_mask_logits(z, 50)``;
* ``fi-sample``: FlashInfer's ``top_p_sampling_from_probs(softmax(z), 0.9)`` (one draw per row:
  what an engine runs per decoding step).

and the toolkit's ``ees_mask`` with ``method="sort"`` and the default ``"auto"``. FlashInfer
columns are left out (and the reason printed) where it cannot be imported.

Usage::

    python benchmarks/bench_cuda_peers.py --out benchmarks/results/torch-cuda-peers.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
import ees_theory as et  # noqa: E402

from _common import interleaved_times, machine, stamp  # noqa: E402
from bench_torch import logits, top_p_mask  # noqa: E402


def flashinfer_ops():
    """FlashInfer's sampling module and its version, or ``(None, why)``."""
    try:
        import flashinfer
        import flashinfer.sampling as fs

        return fs, getattr(flashinfer, "__version__", "?")
    except Exception as exc:  # noqa: BLE001 - any failure to import is reported, not raised
        return None, f"{type(exc).__name__}: {exc}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", default="peaked,mid,flat,llm")
    ap.add_argument("--sizes", default="1x131072,64x131072,256x131072,64x32768,64x262144", help="BxV,...")
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    lines: list[str] = []

    def emit(*text):
        for line in text:
            print(line, flush=True)
            lines.append(line)

    emit("# EES on the GPU against GPU peers (float32)", "", f"{stamp()}. Machine: {machine(f'torch {torch.__version__}')}", "")
    if not torch.cuda.is_available():
        emit("CUDA is not available on this machine: nothing was run.")
    else:
        fs, fi_version = flashinfer_ops()
        emit(f"GPU {torch.cuda.get_device_name(0)}; FlashInfer: " + (f"flashinfer-python {fi_version}" if fs else f"not available ({fi_version})"), "")
        head = ["rows", "batch", "V", "top-p", "sort", "auto"] + (["fi-top-p", "fi-top-k", "fi-sample"] if fs else [])
        head += ["auto/top-p"] + (["auto/fi-top-p", "auto/fi-sample"] if fs else []) + ["same"]
        emit(f"Median of {args.repeats} interleaved rounds, microseconds per call; `same`: sort and auto masks identical.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head))
        gen = torch.Generator().manual_seed(0)
        for shape in args.shapes.split(","):
            for size in args.sizes.split(","):
                B, V = map(int, size.split("x"))
                z = logits(shape, B, V, gen).cuda()
                fns = {
                    "top-p": lambda: top_p_mask(z),
                    "sort": lambda: et.torch.ees_mask(z, method="sort"),
                    "auto": lambda: et.torch.ees_mask(z),
                }
                if fs:
                    g = torch.Generator(device="cuda").manual_seed(0)
                    fns["fi-top-p"] = lambda: fs.top_p_renorm_probs(torch.softmax(z, dim=-1), 0.9)
                    fns["fi-top-k"] = lambda: fs.top_k_mask_logits(z, 50)
                    fns["fi-sample"] = lambda: fs.top_p_sampling_from_probs(torch.softmax(z, dim=-1), 0.9, generator=g)
                t = {k: statistics.median(v) * 1e6 for k, v in interleaved_times(fns, args.repeats, torch.cuda.synchronize).items()}
                same = torch.equal(et.torch.ees_mask(z, method="sort"), et.torch.ees_mask(z))
                cells = [shape, B, V] + [f"{t[k]:.0f}" for k in head[3:3 + len(fns)]]
                cells += [f"{t['auto'] / t['top-p']:.2f}"]
                if fs:
                    cells += [f"{t['auto'] / t['fi-top-p']:.2f}", f"{t['auto'] / t['fi-sample']:.2f}"]
                cells += ["yes" if same else "NO"]
                emit("| " + " | ".join(map(str, cells)) + " |")
    if args.out:
        with open(args.out, "w") as fh:
            fh.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
