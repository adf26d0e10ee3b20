"""Provenance recorded with every artifact and result: what produced it, with which versions and seeds."""
from __future__ import annotations

import datetime
import functools
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
    from ._version import __version__

    return {
        "l2vkit": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {name: package_version(name) for name in TRACKED_PACKAGES if package_version(name)},
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }


def weights_fingerprint(model_id) -> str | None:
    """A short hash of a local model folder's weight files (``None`` for hub ids): a model retrained in place keeps
    its folder name, so artifacts fitted to the old weights must be told apart by content."""
    from pathlib import Path

    try:
        folder = Path(str(model_id))
        if not folder.is_dir():
            return None
        files = sorted(p for p in folder.rglob("*") if p.suffix in (".safetensors", ".bin", ".pt") and p.is_file())
    except OSError:
        return None
    if not files:
        return None
    stats = [p.stat() for p in files]
    return _hash_files(tuple((str(p), st.st_size, st.st_mtime_ns) for p, st in zip(files, stats)), str(folder))


_WHOLE_FILE_BYTES = 64 * 2**20  # larger weight files (a local copy of a real model) are hashed by their two ends


@functools.lru_cache(maxsize=16)
def _hash_files(files: tuple, root: str) -> str:
    import hashlib
    from pathlib import Path

    digest = hashlib.sha256()
    for name, size, _ in files:  # mtime only keys the cache; the hash is of names relative to root and bytes
        digest.update(str(Path(name).relative_to(root)).encode())
        with open(name, "rb") as handle:
            if size <= _WHOLE_FILE_BYTES:
                digest.update(handle.read())
            else:  # retraining changes every tensor, so the size and the first and last 16 MiB tell weights apart
                digest.update(str(size).encode())
                digest.update(handle.read(_WHOLE_FILE_BYTES // 4))
                handle.seek(size - _WHOLE_FILE_BYTES // 4)
                digest.update(handle.read())
    return digest.hexdigest()[:16]


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


# Model identity: what an artifact records about the models it was made for, and what loading compares.
def vlm_identity(vlm) -> dict:
    return {"model_id": canonical_model_id(vlm.model_id), "revision": vlm.revision,
            "weights": weights_fingerprint(vlm.model_id), "tokens_width": vlm.hidden_size}


def describe_identity(identity: dict, keys) -> str:
    """``"weights='…', text_dim=384"``: the named fields of an identity, for errors that compare two models."""
    return ", ".join(f"{k}={identity.get(k)!r}" for k in keys)


def generator_identity(generator) -> dict:
    return {"model_id": canonical_model_id(generator.model_id), "revision": generator.revision,
            "weights": weights_fingerprint(generator.model_id), "text_dim": generator.text_dim,
            "latent_channels": generator.latent_channels}
