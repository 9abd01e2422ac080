#!/usr/bin/env bash
# The GPU checks of the sync-free kernels, in one run of under 8 minutes (a CUDA machine with
# torch, numpy, mpmath, pytest and hypothesis; this checkout as the working directory):
#
#   OUT=/some/dir bash benchmarks/gpu_session.sh
#
# Writes under $OUT: machine.txt; pytest-capture.log (the CUDA graph capture of the warpers with
# set_sync_debug_mode("error"), the whole-graph traces, the default path's CUDA tests);
# sync-free-cuda.md (bench_torch.py's sync-free and fused variants on the GPU, with CUDA graph
# replays and the inductor-compiled fused entropy); syncs-cuda.md (launches and host syncs per call,
# profile_syncs.py); finished (the step statuses). Each step has its own time limit, so one that
# hangs leaves the others' files in place.
set -u
OUT=${OUT:?set OUT to the output directory}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
{ nvidia-smi -L; $PY -c "import torch, sys; print(sys.version.split()[0], torch.__version__, torch.cuda.get_device_name(0))"; } >"$OUT/machine.txt" 2>&1
status=()
# 1. tests (about 2 minutes): capture + sync detector, traces, and the CUDA tests of the EES kernels
timeout 150 $PY -m pytest -q -p no:cacheprovider -rs tests/test_capture.py -k "cuda or trace or default_path" \
  tests/test_torch_ees.py >"$OUT/pytest-capture.log" 2>&1
status+=("pytest $?")
# 2. timings (about 3 minutes, alone on the GPU): sync-free and fused variants, CUDA graph replays
timeout 210 $PY benchmarks/bench_torch.py --device cuda --only-variants --compiled --batch 8 --vocab 131072 --repeats 15 \
  --out "$OUT/sync-free-cuda.md" >"$OUT/bench.log" 2>&1
status+=("bench $?")
# 3. launches and host syncs per call (under a minute)
timeout 90 $PY benchmarks/profile_syncs.py --device cuda --batch 8 --vocab 131072 --out "$OUT/syncs-cuda.md" >"$OUT/profile.log" 2>&1
status+=("profile $?")
printf '%s\n' "${status[@]}" >"$OUT/finished"
