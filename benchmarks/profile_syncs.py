"""Operator launches and host reads per call of each kernel and warper, default path against
sync-free, from ``torch.profiler``.

* CUDA (``--device cuda``): *launches* are the CUDA kernels and memsets the profiler sees on the
  device; *host syncs* are the synchronising CUDA runtime calls (``cudaStreamSynchronize``,
  ``cudaDeviceSynchronize``, ``cudaEventSynchronize``, a blocking ``cudaMemcpy``), and, counted
  apart, the calls ``torch.cuda.set_sync_debug_mode("warn")`` reports;
* CPU: *launches* are the ``aten::`` operators the profiler records (every level: an operator
  that calls another counts twice), and *host reads* the operators that read a value back to
  Python (``aten::_local_scalar_dense``, behind ``.item()``, ``bool()``, ``int()``; ``aten::nonzero``),
  each a synchronisation on a GPU. numpy conversions and ``.tolist()`` of a
  CPU tensor record no operator: on the CPU the default path's host reads are undercounted.

    python benchmarks/profile_syncs.py [--device cuda] [--batch 8] [--vocab 131072] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
import ees_theory as et  # noqa: E402
from ees_theory import hf  # noqa: E402
from _common import machine, stamp  # noqa: E402

#: CPU operators that hand a value to the host (a synchronisation on a GPU): ``bool(t)`` records
#: ``aten::is_nonzero`` > ``aten::item`` > ``aten::_local_scalar_dense``, counted once by the last.
HOST_READ_OPS = ("aten::_local_scalar_dense", "aten::nonzero")
#: CUDA runtime calls that block the host until the device catches up.
CUDA_SYNC_CALLS = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaEventSynchronize", "cudaMemcpy")


def calls(z: torch.Tensor) -> dict[str, object]:
    """Each kernel and warper, default path and sync-free (unchecked: no host read at all)."""
    free = dict(sync_free=True, check_inputs=False)
    table = {}
    for label, kw in (("default", dict(sync_free=False)), ("sync-free checked", dict(sync_free=True)), ("sync-free", free)):
        table[f"ees_mask {label}"] = lambda kw=kw: et.torch.ees_mask(z, **kw)
        table[f"ees_logits {label}"] = lambda kw=kw: et.torch.ees_logits(z, 0.8, **kw)
        table[f"edt_logits {label}"] = lambda kw=kw: et.torch.edt_logits(z, 1.0, 0.5, **kw)
        table[f"edt_logits fused {label}"] = lambda kw=kw: et.torch.edt_logits(z, 1.0, 0.5, fused=True, **kw)
        table[f"dynatemp_logits {label}"] = lambda kw=kw: et.torch.dynatemp_logits(z, 1.0, 0.5, 1.0, **kw)
        table[f"EESLogitsWarper {label}"] = lambda w=hf.EESLogitsWarper(0.8, **kw): w(None, z)
        table[f"EDTLogitsWarper {label}"] = lambda w=hf.EDTLogitsWarper(1.0, 0.5, **kw): w(None, z)
        table[f"DynaTempLogitsWarper {label}"] = lambda w=hf.DynaTempLogitsWarper(1.0, 0.5, 1.0, **kw): w(None, z)
    return table


def count(fn, cuda: bool) -> tuple[int, int, int]:
    """``(launches, host syncs, sync-debug warnings)`` of one call (after a warm-up call)."""
    fn()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    if cuda:
        torch.cuda.synchronize()
    with profile(activities=activities) as prof:
        fn()
        if cuda:
            torch.cuda.synchronize()
    events = prof.events()
    if cuda:
        launches = sum(1 for e in events if e.device_type == torch.autograd.DeviceType.CUDA)
        # the profiler's own closing synchronize is one of them: not the kernel's
        syncs = sum(1 for e in events if e.name in CUDA_SYNC_CALLS) - 1
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                fn()
            finally:
                torch.cuda.set_sync_debug_mode("default")
        flagged = sum(1 for w in caught if "synchroniz" in str(w.message))
        return launches, max(syncs, 0), flagged
    launches = sum(1 for e in events if e.name.startswith("aten::"))
    reads = sum(1 for e in events if e.name in HOST_READ_OPS)
    return launches, reads, -1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--vocab", type=int, default=131072)
    ap.add_argument("--out", default=None, help="write the table (markdown) here as well")
    args = ap.parse_args(argv)
    cuda = args.device.startswith("cuda")
    lines = []

    def emit(*text):
        for line in text:
            print(line, flush=True)
            lines.append(line)

    emit(f"# Launches and host syncs per call ({args.device}, float32, batch {args.batch}, V {args.vocab})", "",
         f"{stamp()}. Machine: {machine(f'torch {torch.__version__}')}", "")
    if cuda and not torch.cuda.is_available():
        emit("CUDA was asked for but is not available on this machine: nothing was profiled.")
    else:
        z = (torch.randn(args.batch, args.vocab, generator=torch.Generator().manual_seed(0)) * 2).to(args.device)
        if cuda:
            emit(f"GPU {torch.cuda.get_device_name(0)}", "", "| call | CUDA launches | host syncs (profiler) | sync-debug warnings |",
                 "|---|---|---|---|")
        else:
            emit("| call | aten operators | host reads (scalar reads, nonzero) |", "|---|---|---|")
        for name, fn in calls(z).items():
            launches, syncs, flagged = count(fn, cuda)
            emit(f"| {name} | {launches} | {syncs} | {flagged} |" if cuda else f"| {name} | {launches} | {syncs} |")
    if args.out:
        with open(args.out, "w") as fh:
            fh.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
