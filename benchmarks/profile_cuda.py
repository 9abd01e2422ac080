"""Where the GPU time of the kernels goes: torch.profiler tables for ``ees_mask`` (sort and auto)
and ``edt_temperature`` on CUDA, and ``ees_mask`` with and without its row chunking.

    python benchmarks/profile_cuda.py
"""

from __future__ import annotations

import os
import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import ees_theory as et  # noqa: E402
from ees_theory.kernels import ees as kernel_ees  # noqa: E402


def timed(fn, n=20):
    fn()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / n * 1e3


def main() -> None:
    if not torch.cuda.is_available():
        print("CUDA is not available: nothing to profile")
        return
    z8 = torch.randn(8, 131072, device="cuda") * 2
    z64 = torch.randn(64, 131072, device="cuda") * 2
    for name, fn in (("ees sort 8x131072", lambda: et.torch.ees_mask(z8, method="sort")),
                     ("ees auto 8x131072", lambda: et.torch.ees_mask(z8)),
                     ("edt 8x131072", lambda: et.torch.edt_temperature(z8, T0=1.0, theta=0.5))):
        fn()
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            for _ in range(5):
                fn()
            torch.cuda.synchronize()
        print(f"\n### {name}: {timed(fn):.3f} ms per call")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=22, max_name_column_width=60))
        print(prof.key_averages().table(sort_by="self_cuda_time_total", row_limit=12, max_name_column_width=60))
    for m in ("sort", "auto"):
        chunked = timed(lambda: et.torch.ees_mask(z64, method=m))
        old = kernel_ees.CHUNK_ELEMENTS
        kernel_ees.CHUNK_ELEMENTS = 1 << 40
        whole = timed(lambda: et.torch.ees_mask(z64, method=m))
        kernel_ees.CHUNK_ELEMENTS = old
        print(f"ees {m} 64x131072: chunked {chunked:.3f} ms, whole batch {whole:.3f} ms")


if __name__ == "__main__":
    main()
