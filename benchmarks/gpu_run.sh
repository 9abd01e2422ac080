#!/usr/bin/env bash
# Every check that needs a GPU, in one run (a machine with CUDA, torch, mpmath, numpy, pytest and
# hypothesis installed; this checkout on PYTHONPATH). Optional: FlashInfer wheels in .whl/ (they are
# installed into /tmp/site with --no-deps; without them the FlashInfer rows say why they did not run).
#
#   bash benchmarks/gpu_run.sh OUTDIR
#
# Writes into OUTDIR: the CUDA tests' log, the engine matrix rows of the kernels on the GPU in
# float32/float16/bfloat16 (engines-*.jsonl), FlashInfer's rows, the token-level GPU rows
# (draws-*.json), the kernel benchmarks on the GPU (torch-cuda.md) and against FlashInfer
# (torch-cuda-peers.md). Independent checks run side by side (the judging is CPU work); the
# timings run last, alone on the GPU.
set -u
OUT=${1:?usage: gpu_run.sh OUTDIR}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
{ nvidia-smi -L; $PY -c "import torch, sys; print(sys.version.split()[0], torch.__version__, torch.cuda.get_device_name(0))"; } >"$OUT/machine.txt" 2>&1

if ls .whl/*.whl >/dev/null 2>&1; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >"$OUT/flashinfer-install.log" 2>&1 \
    && export PYTHONPATH=$PYTHONPATH:/tmp/site
  # compile FlashInfer's sampling kernels once (JIT) before the rows that use them
  ( timeout 150 $PY -c "
import torch, flashinfer, flashinfer.sampling as fs
z = torch.randn(2, 1000, device='cuda'); p = torch.softmax(z, -1)
fs.top_k_mask_logits(z, 5); fs.top_p_renorm_probs(p, 0.5); fs.top_k_sampling_from_probs(p, 5)
fs.top_p_sampling_from_probs(p, 0.5); fs.min_p_sampling_from_probs(p, 0.1); torch.cuda.synchronize()
print('flashinfer', flashinfer.__version__, 'ready')" >"$OUT/flashinfer-warmup.log" 2>&1 ) &
  WARM=$!
else
  echo "no .whl/: FlashInfer not installed" >"$OUT/flashinfer-install.log"; WARM=
fi

# checks side by side: one CPU thread each (the judging is Python and mpmath work)
export OMP_NUM_THREADS=1
# the CUDA tests
timeout 240 $PY -m pytest -q -p no:cacheprovider -rs tests/test_torch_ees.py -k cuda >"$OUT/pytest-cuda.log" 2>&1 &
# the kernels on the GPU, judged like any engine, one dtype per process
for d in float32 float16 bfloat16; do
  timeout 320 $PY -m ees_theory engines --engine ees_theory.kernels.cuda --dtype $d --examples 30 --json "$OUT/engines-kernels-$d.jsonl" >"$OUT/engines-kernels-$d.log" 2>&1 &
done
# torch.multinomial on the GPU: token-level rows, one method per process
for m in top-k top-p min-p ees:float32 ees:float16 ees:bfloat16; do
  timeout 320 $PY benchmarks/draws_engines.py "$OUT/draws-cuda-${m/:/-}.json" 6 "torch.multinomial.cuda:$m" >"$OUT/draws-cuda-${m/:/-}.log" 2>&1 &
done
if [ -n "$WARM" ]; then
  wait $WARM
  timeout 170 $PY -m ees_theory engines --engine flashinfer --examples 30 --json "$OUT/engines-flashinfer.jsonl" >"$OUT/engines-flashinfer.log" 2>&1 &
  timeout 170 $PY benchmarks/draws_engines.py "$OUT/draws-flashinfer.json" 6 flashinfer >"$OUT/draws-flashinfer.log" 2>&1 &
fi
wait
unset OMP_NUM_THREADS
# timings last, alone on the GPU
timeout 110 $PY benchmarks/bench_torch.py --device cuda --repeats 15 --out "$OUT/torch-cuda.md" >"$OUT/bench-torch.log" 2>&1
timeout 80 $PY benchmarks/bench_cuda_peers.py --out "$OUT/torch-cuda-peers.md" >"$OUT/bench-peers.log" 2>&1
timeout 60 $PY benchmarks/profile_cuda.py >"$OUT/profile.txt" 2>&1
echo done >"$OUT/finished"
