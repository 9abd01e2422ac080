"""Speed of the batched kernels against peers measured in the same run.

Every ratio is measured in one run: the peer is timed in the same rounds as the kernel,
interleaved, and each is summarised by its median (``benchmarks/_common.py``).

EES (``ees_mask``, float32) against a warper with the structure of transformers' ``TopPLogitsWarper``
(ascending sort, softmax, cumsum, threshold, scatter back, masked fill), with each search path:
``sort`` (full sort), ``topk`` (top-K window, doubling), ``auto`` (the default). Row shapes:

* ``peaked``: normal logits x 4 (crossing near the top);
* ``mid``: normal x 2 (crossing at about a quarter of the vocabulary);
* ``flat``: normal x 0.5 (crossing deep in the vocabulary);
* ``head``: head over tail, normal x 0.5 with one token raised by 10 (``k* = 1``);
* ``llm``: LLM-like, Zipf logits ``-1.2 ln(rank)`` plus normal noise x 0.3, ids shuffled.

Entropy kernels (``edt_temperature``, ``dynatemp_temperature``, and the entropy the typical and
eta samplers take from the sorted softmax they hold) against a plain ``log_softmax`` entropy
``-(exp(l) * l).sum()`` at the same dtype (float32, accumulated in float32).

Also, optionally, the EES authors' incremental algorithm as a per-row Python loop (``--loop-rows``).

The sync-free and fused variants (``--variants``, on by default; ``--only-variants`` skips the
tables above): each kernel's default path against its ``sync_free=True`` path (checked: one host
read; unchecked: ``check_inputs=False``, none), the EDT/dynatemp temperatures with the one-pass
entropy (``fused=True``), and the entropy primitives (``row_entropy``, ``fused_entropy``, and with
``--compiled`` the inductor-compiled ``fused_entropy``), each against the default path and against
the plain ``log_softmax`` entropy timed in the same rounds; on CUDA also the unchecked
sync-free calls captured in a CUDA graph and replayed.

Usage::

    python benchmarks/bench_torch.py --out benchmarks/results/torch-cpu.md
    python benchmarks/bench_torch.py --device cuda --out benchmarks/results/torch-cuda.md
    python benchmarks/bench_torch.py --only-variants --batch 4 --vocab 32768 --out benchmarks/results/sync-free-cpu.md
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
import ees_theory as et  # noqa: E402
import statistics  # noqa: E402

from _common import interleaved_medians, interleaved_times, machine, stamp  # noqa: E402
from ees_theory.kernels import truncation as kernel_truncation  # noqa: E402
from ees_theory.kernels import _core as kernel_core, _fused as kernel_fused  # noqa: E402

SHAPES = ("peaked", "mid", "flat", "head", "llm")


def top_p_mask(scores: torch.Tensor, top_p: float = 0.9, min_tokens_to_keep: int = 1) -> torch.Tensor:
    """Kept mask with the sort + cumsum + scatter structure of transformers' top-p warper."""
    sorted_logits, sorted_indices = torch.sort(scores, descending=False)
    cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    remove_sorted = cumulative <= (1 - top_p)
    remove_sorted[..., -min_tokens_to_keep:] = False
    remove = remove_sorted.scatter(-1, sorted_indices, remove_sorted)
    return ~scores.masked_fill(remove, float("-inf")).isneginf()


def authors_loop_keep(scores: torch.Tensor, min_tokens_to_keep: int = 1) -> list[int]:
    """Kept counts, row by row, with the authors' incremental entropy update in a Python loop."""
    out = []
    for row in scores:
        probs = torch.softmax(row, dim=-1)
        sorted_probs, _ = torch.sort(probs, descending=True)
        mass = torch.cumsum(sorted_probs, dim=-1)
        n = int((sorted_probs > 0).sum())
        keep = n
        if n > min_tokens_to_keep:
            k = min_tokens_to_keep
            q = sorted_probs[:k] / mass[k - 1]
            H = -(q * torch.log(q + 1e-10)).sum()
            for i in range(k + 1, n + 1):
                prev, cur, p = mass[i - 2], mass[i - 1], sorted_probs[i - 1]
                H = (prev / cur) * H + (prev / cur) * torch.log(cur / prev + 1e-10) - (p / cur) * torch.log(p / cur + 1e-10)
                if (H / math.log(i)).item() < cur.item():
                    keep = i - 1
                    break
        out.append(keep)
    return out


def logits(shape: str, B: int, V: int, gen: torch.Generator) -> torch.Tensor:
    """A batch of rows of the named shape (see the module docstring)."""
    if shape in ("peaked", "mid", "flat"):
        return torch.randn(B, V, generator=gen) * {"peaked": 4.0, "mid": 2.0, "flat": 0.5}[shape]
    if shape == "head":
        z = torch.randn(B, V, generator=gen) * 0.5
        z[torch.arange(B), torch.randint(V, (B,), generator=gen)] += 10.0
        return z
    if shape == "llm":
        rank = torch.arange(1, V + 1, dtype=torch.float32)
        z = -1.2 * torch.log(rank) + 0.3 * torch.randn(B, V, generator=gen)
        return z[:, torch.randperm(V, generator=gen)]
    raise ValueError(f"unknown shape {shape!r}")


def plain_entropy(z: torch.Tensor) -> torch.Tensor:
    """The plain log_softmax entropy, the peer of the entropy kernels."""
    logp = torch.log_softmax(z, dim=-1)
    return -(logp.exp() * logp).sum(dim=-1)


class PreallocatedPlainEntropy:
    """The plain entropy with its intermediates in buffers kept between calls: the peer without
    the cost of fresh memory (large on virtual machines, where first touches fault to the host)."""

    def __init__(self, z: torch.Tensor):
        self.logp, self.terms = torch.empty_like(z), torch.empty_like(z)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        logp = torch.log_softmax(z, dim=-1, out=self.logp)
        return -torch.exp(logp, out=self.terms).mul_(logp).sum(dim=-1)


def ees_row(shape, B, V, z, repeats, sync):
    """The table row from medians, and the row of ratios from minima (the least disturbed runs)."""
    times = interleaved_times(
        {
            "top-p": lambda: top_p_mask(z),
            "sort": lambda: et.torch.ees_mask(z, method="sort"),
            "topk": lambda: et.torch.ees_mask(z, method="topk"),
            "auto": lambda: et.torch.ees_mask(z),
        },
        repeats,
        sync,
    )
    masks = [et.torch.ees_mask(z, method=m) for m in ("sort", "topk", "auto")]
    same = all(torch.equal(masks[0], m) for m in masks[1:])
    k = et.torch.ees_keep_count(z).float()
    rows = []
    for stat in (statistics.median, min):
        t = {name: stat(ts) for name, ts in times.items()}
        best = min(t["sort"], t["topk"])
        rows.append(
            f"| {shape} | {B} | {V} | {int(k.median())} | {t['top-p']*1e3:.1f} | {t['sort']*1e3:.1f} | {t['topk']*1e3:.1f} | "
            f"{t['auto']*1e3:.1f} | {t['sort']/t['top-p']:.2f} | {t['auto']/t['sort']:.2f} | {t['auto']/best:.2f} | "
            f"{t['auto']/t['top-p']:.2f} | {'yes' if same else 'NO'} |"
        )
    return rows


def entropy_row(B, V, z, repeats, sync):
    """The table row from medians, and the row from minima."""
    sx = torch.sort(z, dim=-1, descending=True).values
    sp = torch.softmax(sx, dim=-1)
    prealloc = PreallocatedPlainEntropy(z)
    times = interleaved_times(
        {
            "plain": lambda: plain_entropy(z),
            "plain-prealloc": lambda: prealloc(z),
            "edt": lambda: et.torch.edt_temperature(z, T0=1.0, theta=0.5),
            "dynatemp": lambda: et.torch.dynatemp_temperature(z, temp=1.0, delta=0.5, exponent=1.0),
            "typical/eta": lambda: kernel_truncation._entropy(sp, torch.log_softmax(sx, dim=-1)),
        },
        repeats,
        sync,
    )
    rows = []
    for stat in (statistics.median, min):
        t = {name: stat(ts) for name, ts in times.items()}
        p, q = t["plain"], t["plain-prealloc"]
        rows.append(
            f"| {B} | {V} | {p*1e3:.2f} | {q*1e3:.2f} | {t['edt']*1e3:.2f} | {t['dynatemp']*1e3:.2f} | {t['typical/eta']*1e3:.2f} | "
            f"{t['edt']/p:.2f} | {t['dynatemp']/p:.2f} | {t['typical/eta']/p:.2f} | {t['edt']/q:.2f} | {t['dynatemp']/q:.2f} | {t['typical/eta']/q:.2f} |"
        )
    return rows


def variant_fns(z: torch.Tensor, compiled: bool) -> dict[str, dict[str, object]]:
    """Per kernel, its variants (the first is the default path, the ratios' base)."""
    free = dict(sync_free=True, check_inputs=False)
    H = lambda **kw: et.torch.edt_temperature(z, T0=1.0, theta=0.5, **kw)  # noqa: E731
    D = lambda **kw: et.torch.dynatemp_temperature(z, temp=1.0, delta=0.5, exponent=1.0, **kw)  # noqa: E731
    table = {
        "ees_mask": {"default": lambda: et.torch.ees_mask(z), "sort": lambda: et.torch.ees_mask(z, method="sort"),
                     "sync-free checked": lambda: et.torch.ees_mask(z, sync_free=True), "sync-free": lambda: et.torch.ees_mask(z, **free)},
        "edt_temperature": {"default": H, "sync-free": lambda: H(**free), "fused": lambda: H(fused=True),
                            "fused sync-free": lambda: H(fused=True, **free)},
        "dynatemp_temperature": {"default": D, "sync-free": lambda: D(**free), "fused": lambda: D(fused=True),
                                 "fused sync-free": lambda: D(fused=True, **free)},
        "entropy": {"row_entropy": lambda: kernel_core.row_entropy(z), "fused_entropy": lambda: kernel_fused.fused_entropy(z)},
    }
    if compiled:
        table["entropy"]["fused_entropy compiled"] = lambda: kernel_fused.compiled_fused_entropy(z)
    if z.is_cuda:  # the unchecked sync-free calls captured once in a CUDA graph, then replayed
        table["ees_mask"]["sync-free CUDA graph"] = cuda_graphed(lambda: et.torch.ees_mask(z, **free))
        table["edt_temperature"]["sync-free CUDA graph"] = cuda_graphed(lambda: H(**free))
        table["edt_temperature"]["fused sync-free CUDA graph"] = cuda_graphed(lambda: H(fused=True, **free))
        table["dynatemp_temperature"]["sync-free CUDA graph"] = cuda_graphed(lambda: D(**free))
    return table


def cuda_graphed(fn):
    """``fn`` captured in a CUDA graph (after a warm-up on a side stream): its replay."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        fn()
        fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return graph.replay


def variant_rows(B, V, z, repeats, sync, compiled):
    """Rows ``| kernel | variant | ms | /default | /plain |`` from the medians of one interleaved run
    per kernel (the plain log_softmax entropy in every run)."""
    rows = []
    for kernel, fns in variant_fns(z, compiled).items():
        if compiled:  # compile outside the timed rounds
            for fn in fns.values():
                fn()
        times = interleaved_medians({"plain": lambda: plain_entropy(z), **fns}, repeats, sync)
        base = next(iter(fns))
        for name in fns:
            rows.append(f"| {B} | {V} | {kernel} | {name} | {times[name]*1e3:.3f} | {times[name]/times[base]:.2f} | {times[name]/times['plain']:.2f} |")
        rows.append(f"| {B} | {V} | {kernel} | plain log_softmax entropy | {times['plain']*1e3:.3f} | {times['plain']/times[base]:.2f} | 1.00 |")
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=8, help="batch of the headline tables")
    ap.add_argument("--vocab", type=int, default=131072, help="vocabulary of the headline tables")
    ap.add_argument("--growth-batches", default="1,8,64")
    ap.add_argument("--growth-vocabs", default="32768,131072,262144")
    ap.add_argument("--growth-shapes", default="peaked,mid", help="shapes of the growth tables")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--loop-rows", type=int, default=0, help="time the authors' Python loop on this many rows (0: skip)")
    ap.add_argument("--out", default=None, help="write the tables (markdown) here as well")
    ap.add_argument("--variants", action=argparse.BooleanOptionalAction, default=True, help="time the sync-free and fused variants")
    ap.add_argument("--only-variants", action="store_true", help="only the sync-free and fused variants (at --batch and --vocab)")
    ap.add_argument("--compiled", action="store_true", help="also the inductor-compiled fused entropy (compiles once per shape)")
    args = ap.parse_args(argv)
    device = args.device
    lines: list[str] = []

    def emit(*text):
        for line in text:
            print(line, flush=True)
            lines.append(line)

    def write():
        if args.out:
            with open(args.out, "w") as fh:
                fh.write("\n".join(lines) + "\n")

    emit(f"# Kernel timings ({device}, float32)", "", f"{stamp()}. Machine: {machine(f'torch {torch.__version__}')}", "")
    if device.startswith("cuda") and not torch.cuda.is_available():
        emit("CUDA was asked for but is not available on this machine (torch built without CUDA, no GPU): nothing was run, "
             "so there are no GPU ratios against top-p, and FlashInfer's sampling ops (CUDA only) were not installed or compared.")
        write()
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    emit(f"torch threads {torch.get_num_threads()}" + (f"; GPU {torch.cuda.get_device_name(0)}" if device.startswith("cuda") else ""), "")
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    gen = torch.Generator().manual_seed(0)
    B, V = args.batch, args.vocab
    var_head = [
        f"Median of {args.repeats} interleaved rounds per kernel, milliseconds. `/default`: to the kernel's first row (its default "
        "path; for `entropy`, `row_entropy`); `/plain`: to the plain `log_softmax` entropy timed in the same rounds. `sync-free`: "
        "`sync_free=True, check_inputs=False` (no host read); `sync-free checked`: one host read; `fused`: the one-pass entropy. "
        "Rows: normal x 2.",
        "",
        "| batch | V | kernel | variant | ms | /default | /plain |",
        "|---|---|---|---|---|---|---|",
    ]
    if args.only_variants:
        emit("## Sync-free and fused variants", "", *var_head)
        emit(*variant_rows(B, V, logits("mid", B, V, gen).to(device), args.repeats, sync, args.compiled))
        write()
        return 0
    ees_head = [
        f"Median of {args.repeats} interleaved rounds, milliseconds. `sort`/`topk`/`auto`: `ees_mask(method=...)`; `top-p`: the "
        "transformers-structured top-p warper; `k*`: median kept count; `best`: the faster of sort and topk; `same`: the three "
        "masks are identical.",
        "",
        "| rows | batch | V | k* | top-p | sort | topk | auto | sort/top-p | auto/sort | auto/best | auto/top-p | same |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    minima_note = ("The same runs summarised by their minima (the least disturbed call of each function): on a loaded machine "
                   "a median can still carry stalls that hit one peer more than another.")
    emit(f"## EES, every row shape (batch {B}, V {V})", "", *ees_head)
    mins = []
    for shape in SHAPES:
        med_row, min_row = ees_row(shape, B, V, logits(shape, B, V, gen).to(device), args.repeats, sync)
        emit(med_row)
        mins.append(min_row)
    emit("", minima_note, "", *ees_head[2:], *mins)
    ent_head = [
        f"Median of {args.repeats} interleaved rounds, milliseconds; ratios to the plain `log_softmax` entropy (`plain`) and to the "
        "same with its two intermediates in buffers kept between calls (`pre`: no fresh memory per call). Rows: normal x 2.",
        "",
        "| batch | V | plain | pre | edt | dynatemp | typical/eta | edt/plain | dynatemp/plain | typical-eta/plain | edt/pre | dynatemp/pre | typical-eta/pre |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    emit("", f"## Entropy kernels (batch {B}, V {V})", "", *ent_head)
    med_row, min_row = entropy_row(B, V, logits("mid", B, V, gen).to(device), args.repeats, sync)
    emit(med_row, "", minima_note, "", *ent_head[2:], min_row)
    growth = [(b, V) for b in map(int, args.growth_batches.split(",")) if b != B] + [(B, v) for v in map(int, args.growth_vocabs.split(",")) if v != V]
    growth.sort()
    emit("", "## Growth with the batch and the vocabulary (EES)", "", *ees_head[2:])
    mins = []
    for shape in args.growth_shapes.split(","):
        for b, v in growth:
            med_row, min_row = ees_row(shape, b, v, logits(shape, b, v, gen).to(device), args.repeats, sync)
            emit(med_row)
            mins.append(min_row)
    emit("", minima_note, "", *ees_head[2:], *mins)
    emit("", "## Growth with the batch and the vocabulary (entropy)", "", *ent_head[2:])
    mins = []
    for b, v in growth:
        med_row, min_row = entropy_row(b, v, logits("mid", b, v, gen).to(device), args.repeats, sync)
        emit(med_row)
        mins.append(min_row)
    emit("", minima_note, "", *ent_head[2:], *mins)
    if args.variants:
        emit("", "## Sync-free and fused variants", "", *var_head)
        emit(*variant_rows(B, V, logits("mid", B, V, gen).to(device), args.repeats, sync, args.compiled))
    if args.loop_rows:
        emit("", f"## The authors' per-row Python loop ({args.loop_rows} rows, scaled to the batch)", "",
             "| rows | batch | V | loop (scaled) ms | EES sort ms | loop/sort | loop k | kernel k |", "|---|---|---|---|---|---|---|---|")
        for shape in SHAPES:
            z = logits(shape, B, V, gen)
            rows = min(B, args.loop_rows)
            t0 = time.perf_counter()
            loop_k = authors_loop_keep(z[:rows])
            t_loop = (time.perf_counter() - t0) * B / rows
            t_sort = interleaved_medians({"sort": lambda: et.torch.ees_mask(z.to(device), method="sort")}, 3, sync)["sort"]
            ours = et.torch.ees_keep_count(z[:rows]).tolist()
            emit(f"| {shape} | {B} | {V} | {t_loop*1e3:.0f} | {t_sort*1e3:.1f} | {t_loop/t_sort:.0f} | {loop_k} | {ours} |")
    write()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
