"""Provenance recorded with every artifact and result: what produced it, with which versions and seeds."""
from __future__ import annotations

import datetime
import importlib.metadata
import platform
import sys

#: Packages whose versions matter for reproducing a result.
TRACKED_PACKAGES = ("numpy", "torch", "transformers", "diffusers", "pot", "safetensors", "mediapy")


def package_version(name: str) -> str | None:
    """Installed version of a distribution, without importing it; ``None`` when absent."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def provenance(**extra) -> dict:
    """A JSON-ready record of the software that produced a result, plus ``extra`` (seeds, model ids, …)."""
    from . import __version__

    return {
        "l2vkit": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {name: package_version(name) for name in TRACKED_PACKAGES if package_version(name)},
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }


def canonical_model_id(model_id) -> str:
    """A model id that is the same on every machine: shipped toy models as ``toy:<folder>``, others unchanged."""
    from pathlib import Path

    from .paths import data_dir

    text = str(model_id)
    try:
        path = Path(text).resolve()
        if path.parent == data_dir().resolve():
            return f"toy:{path.name}"
    except (OSError, FileNotFoundError):
        pass
    return text
