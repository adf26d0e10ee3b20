#!/usr/bin/env bash
# Full-size GPU figures with random weights (no downloads); see benchmarks/gpu_bench.py. Needs torch with CUDA,
# transformers, diffusers and POT (pip install -e . on the GPU machine).
set -euo pipefail
cd "$(dirname "$0")/.."
# An offline GPU machine without diffusers or POT (e.g. the device machines): install them from wheels carried in
# .whl/ (made where there is network: `pip download diffusers pot --no-deps -d .whl`); without them, say so and stop.
for module in diffusers ot; do
  if ! python -c "import $module" 2>/dev/null; then
    if ls .whl/*.whl >/dev/null 2>&1; then
      pip install -q --no-index --no-deps .whl/*.whl
    else
      echo "gpu.sh: python cannot import $module and there is no .whl/ folder to install it from"; exit 2
    fi
  fi
done
python benchmarks/gpu_bench.py --out "${1:-outputs/benchmarks/gpu.json}"
# Φ at real sizes: measured training-step peaks beside the plan (docs/coupling.md).
python benchmarks/coupling_measured.py --out "$(dirname "${1:-outputs/benchmarks/gpu.json}")/coupling_measured.json"
# Every stage of the colab-t4 and a100-80g tiers: measured peak beside the memory planner's row (docs/scaling.md).
python benchmarks/stages_gpu.py --out "$(dirname "${1:-outputs/benchmarks/gpu.json}")/stages_gpu.json"
