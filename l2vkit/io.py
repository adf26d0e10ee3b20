"""Safe artifact writing: every file appears whole or not at all, so an interrupted run loses no earlier result."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path`` (same suffix); on success it replaces ``path`` in one step.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp (and some writers) make 0600 files; give the usual permissions
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path, data) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return Path(path)


def read_json(path):
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); it may be truncated — rerun the step that wrote it") from None


def load_safetensors(path, what: str = "artifact"):
    """``(tensors, metadata)`` of a safetensors file, with errors that say what to do when it is missing or damaged."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise ValueError(f"{what} file {path} is corrupted or not a safetensors file ({err}); "
                         "restore it or recreate it") from None
    return tensors, metadata


def load_artifact(path, what: str, metadata_key: str, format_version: int, remedy: str):
    """``(tensors, header)`` of an l2vkit artifact: a safetensors file whose metadata holds a JSON header under
    ``metadata_key`` written at ``format_version``; errors name the file and say what to do (``remedy``)."""
    tensors, metadata = load_safetensors(path, what)
    if metadata_key not in metadata:
        raise ValueError(f"{path} is a safetensors file but not an l2vkit {what} (no '{metadata_key}' header)")
    header = json.loads(metadata[metadata_key])
    if header.get("format_version") != format_version:
        raise ValueError(f"{path} has {what} format {header.get('format_version')}; this l2vkit reads "
                         f"{format_version} — {remedy}")
    return tensors, header
