"""The benchmark scripts run (smoke tests of their code paths; their figures come from real runs, see README)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.mark.integration
def test_gpu_benchmark_code_path_runs_with_tiny_models():
    import gpu_bench

    r = gpu_bench.run(tiny=True, repeats=1)
    assert set(r["sampling_s"]) == {"plain", "K=1", "K=4"} and all(v > 0 for v in r["sampling_s"].values())
    assert r["read_s"]["phi"] > 0 and r["read_s"]["decode_encode"] > 0 and r["tiny"]


@pytest.mark.integration
def test_coupling_speed_benchmark_reports_ratios():
    import coupling_speed

    r = coupling_speed.run(batch=4, repeats=1)
    assert 0 < r["ratio_phi_over_decode"] and r["ratio_rho_ot_over_decode"] > 0
