#!/usr/bin/env bash
# Full-size GPU figures with random weights (no downloads); see benchmarks/gpu_bench.py. Needs torch with CUDA,
# transformers, diffusers and POT (pip install -e . on the GPU machine).
set -euo pipefail
cd "$(dirname "$0")/.."
python benchmarks/gpu_bench.py --out "${1:-outputs/benchmarks/gpu.json}"
