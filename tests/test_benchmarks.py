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
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="peak RSS is read from Linux's /proc")
def test_memory_planner_matches_measured_cpu_peaks_of_mid_size_models():
    """Planned vs measured peak of every kind of work the stage planner adds up (about a minute)."""
    import stage_memory_cpu

    rows = stage_memory_cpu.run("mid")
    assert [r["stage"] for r in rows] == list(stage_memory_cpu.STAGES)
    for row in rows:
        assert row["measured_gib"] > 0.03, row  # big enough to be read above the page-level noise
        assert row["within"], f"{row['stage']}: measured {row['measured_gib']:.3f} GiB, planned {row['planned_gib']:.3f}"


@pytest.mark.integration
def test_every_stage_benchmark_runs_with_tiny_models():
    """benchmarks/stages_gpu.py --tiny: the GPU script's code path, every planner stage, on the CPU."""
    import stages_gpu

    from l2vkit.stage_memory import STAGES

    result = stages_gpu.run_tier("colab-t4", tiny=True)
    assert set(result["stages"]) == set(STAGES)
    assert all(row["planned_gib"] > 0 and row["seconds"] >= 0 for row in result["stages"].values())
    assert stages_gpu.run_tier("multi-gpu", tiny=True)["skipped"].startswith("needs 8 GPUs")


@pytest.mark.integration
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="RSS is read from Linux's /proc")
def test_repeated_steering_does_not_grow_memory():
    import steer_memory

    result = steer_memory.run(steers=8, sweeps=3)  # the benchmark itself runs 30 and 10
    assert len(result["rss_mib_after_each"]["steer"]) == 8 and result["growth_percent"] < 5, result


@pytest.mark.integration
def test_coupling_speed_benchmark_reports_ratios():
    import coupling_speed

    r = coupling_speed.run(batch=4, repeats=1)
    assert 0 < r["ratio_phi_over_decode"] and r["ratio_rho_ot_over_decode"] > 0


@pytest.mark.unit
def test_run_all_writes_its_table_between_the_page_markers(tmp_path):
    import run_all

    page = tmp_path / "benchmarks.md"
    page.write_text(f"# Benchmarks\n\nprose before\n\n{run_all.BEGIN}\nold table\n{run_all.END}\n\nprose after\n")
    run_all._write_between_markers(page, "| benchmark | figure |\n|---|---|\n| x | 1.0× |\n")
    text = page.read_text()
    assert "old table" not in text and "| x | 1.0× |" in text
    assert text.startswith("# Benchmarks\n\nprose before") and text.endswith("prose after\n")
    page.write_text("no markers\n")
    with pytest.raises(ValueError, match="markers"):
        run_all._write_between_markers(page, "table")


@pytest.mark.unit
def test_the_benchmarks_page_has_the_markers():
    import run_all

    text = (Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md").read_text()
    assert text.count(run_all.BEGIN) == 1 and text.count(run_all.END) == 1
