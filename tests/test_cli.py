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
def test_demo_writes_gallery_summary_and_videos(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "9/9 pairs measured correctly" in printed
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert summary["pair_count"] == summary["measured_correct"] == len(summary["pairs"]) == 9
    assert summary["provenance"]["seed"] == 0 and summary["provenance"]["l2vkit"]
    red_blue = next(p for p in summary["pairs"] if p["pair"] == "red->blue")
    assert red_blue["measured"]["source"]["colour"] == "red"
    assert red_blue["measured"]["target"]["colour"] == "blue"
    for pair in summary["pairs"]:
        assert len(pair["files"]) == 2
        for path in pair["files"]:
            assert (tmp_path / path.split(str(tmp_path) + "/")[1]).stat().st_size > 0
    assert (tmp_path / "demo" / "contact_sheet.png").stat().st_size > 10_000


@pytest.mark.integration
def test_demo_is_reproducible(tmp_path):
    for run in ("a", "b"):
        assert main(["demo", "--out", str(tmp_path / run), "--quiet", "--no-videos", "--seed", "7"]) == 0
    strip = lambda d: [{k: v for k, v in p.items() if k != "files"} for d_ in [d] for p in d_["pairs"]]  # noqa: E731
    a, b = (json.loads((tmp_path / r / "demo" / "summary.json").read_text()) for r in ("a", "b"))
    assert strip(a) == strip(b)


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
