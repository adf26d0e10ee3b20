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
