import json
import subprocess
import sys

import pytest

from l2vkit.cli import main
from l2vkit.env import collect_env, format_env


@pytest.mark.unit
def test_env_reports_what_a_bug_report_needs():
    facts = collect_env()
    for key in ("python", "platform", "device", "bf16", "fp16", "ram_available_gib", "packages", "video_encoding"):
        assert key in facts, key
    assert facts["packages"]["numpy"] != "not installed"
    assert facts["video_encoding"].startswith("ok")
    assert "video_encoding: ok" in format_env(facts)


@pytest.mark.unit
def test_python_m_l2vkit_env_json():
    out = subprocess.run([sys.executable, "-m", "l2vkit", "env", "--json"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["device"] in ("cpu", "cuda", "mps")


@pytest.mark.integration
def test_demo_runs_the_sweeps_and_writes_the_report(demo_run):
    out, summary, printed = demo_run
    assert "report.html" in printed and "composition" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert [s["name"] for s in metrics["sweeps"]] == ["attribute", "adverb", "scene", "composition"]
    for sweep in metrics["sweeps"]:
        assert sweep["phis"] == [0.0, 0.25, 0.5, 0.75, 1.0] and len(sweep["captions"]) == sweep["seeds"] == 3
        for name in ("sweep_grid_seed0.png", "curves.png"):
            assert (out / "sweeps" / sweep["name"] / name).stat().st_size > 1000
        assert (out / "sweeps" / sweep["name"] / "source_phi0.5_phi1_seed0.gif").stat().st_size > 1000
        assert set(sweep["caption_metrics"]["phi=1 vs target caption"]) >= {"BLEU-4", "CIDEr-D", "METEOR"}
    by_name = {s["name"]: s for s in metrics["sweeps"]}
    # steering moves what the VLM reads through Φ towards the target word
    for name in ("attribute", "scene"):
        p = by_name[name]["target_probability"]
        assert p[-1] > p[0] + 0.3, (name, p)
    assert metrics["provenance"]["command"] == "l2vkit demo"
    page = (out / "report.html").read_text()
    assert page.count("<video") >= 4 and "data:image/png;base64" in page
    assert (out / "sweep_source_phi0.5_phi1.gif").exists()


@pytest.mark.integration
def test_demo_is_reproducible(tmp_path):
    for run in ("a", "b"):
        assert main(["demo", "--out", str(tmp_path / run), "--quiet", "--no-videos", "--seeds", "1", "--seed", "7"]) == 0
    a, b = (json.loads((tmp_path / r / "demo" / "metrics.json").read_text()) for r in ("a", "b"))
    assert a["table"] == b["table"]
    assert [s["vlm_captions_phi1"] for s in a["sweeps"]] == [s["vlm_captions_phi1"] for s in b["sweeps"]]


@pytest.mark.integration
def test_demo_with_a_real_generator_says_what_to_run_instead():
    result = subprocess.run([sys.executable, "-m", "l2vkit", "demo", "--generator", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers",
                             "--no-videos"], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "the demo needs models of a preset with ground truth" in lines[0]
    assert "`l2vkit steer`" in lines[0]


@pytest.mark.unit
def test_cli_errors_are_one_line_with_nonzero_exit(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = subprocess.run([sys.executable, "-m", "l2vkit", "demo", "--out", str(blocker), "--no-videos"],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("l2vkit demo: error:") and len(result.stderr.strip().splitlines()) == 1
    bad = subprocess.run([sys.executable, "-m", "l2vkit", "demo", "--seed", "x"], capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid int value" in bad.stderr
