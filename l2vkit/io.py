"""Safe artifact writing: every file appears whole or not at all, so an interrupted run loses no earlier result."""
from __future__ import annotations

import contextlib
import glob
import json
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path`` (same suffix); on success it replaces ``path`` in one step.

    The temporary file is flushed to disk (fsync) before the rename and the folder after it, so a crash or a kill
    leaves the previous file or the new one, never a part. Its name carries the writing process's id
    (``.NAME.PID-XXXX.SUFFIX``): a save removes what earlier saves of the same file left when their process died.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_debris(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.{os.getpid()}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp (and some writers) make 0600 files; give the usual permissions
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def remove_debris(path) -> list:
    """Delete the temporary files of earlier saves of ``path`` whose process is gone (killed mid-save)."""
    path = Path(path)
    removed = []
    prefix = f".{path.stem}."
    for candidate in path.parent.glob(f".{glob.escape(path.stem)}.*{glob.escape(path.suffix)}"):
        middle = candidate.name[len(prefix):len(candidate.name) - len(path.suffix) or None]
        pid = middle.split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()
            removed.append(candidate)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a folder; the rename is still atomic
        pass
    finally:
        os.close(fd)


def save_safetensors(path, tensors: dict, metadata: dict | None = None) -> Path:
    """Write a safetensors file atomically (the bytes are built in memory, so no writer leaves its own temp file)."""
    from safetensors.torch import save

    data = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, metadata=metadata)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json(path, data) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return Path(path)


def write_sidecar(path, header: dict) -> Path:
    """The readable copy of an artifact's header beside it (``X.json`` for ``X.safetensors``), naming the file and
    its SHA-256: a copy left stale by a save killed between the two writes says so (its SHA-256 is not the file's),
    and the next save rewrites it. Loading reads the artifact alone, never this copy."""
    import hashlib

    path = Path(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return write_json(path.with_suffix(".json"), {**header, "describes": {"file": path.name,
                                                                          "sha256": digest.hexdigest()}})


def read_json(path):
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text ({err.reason} at byte {err.start}); save it as UTF-8") from None
    except RecursionError:
        raise ValueError(f"{path} is nested too deeply to be read") from None
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
    try:
        header = json.loads(metadata[metadata_key])
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: its '{metadata_key}' header is not valid JSON ({err}); {remedy}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: its '{metadata_key}' header is a JSON {type(header).__name__}, not an object; "
                         f"{remedy}")
    if header.get("format_version") != format_version:
        raise ValueError(f"{path} has {what} format {header.get('format_version')}; this l2vkit reads "
                         f"{format_version} — {remedy}")
    return tensors, header
