"""Would ``pip install "l2vkit[colab]"`` replace anything a Colab runtime already has? Asked of pip's own resolver.

    python -m l2vkit.dev.colab_install     # [colab] and [colab,text] vs requirements/colab-runtime*.txt; exit 1 if
                                           # anything is replaced but an old transformers (TRANSFORMERS_UPGRADE)
    python -m l2vkit.dev.colab_install --runtime FILE --requirement ".[colab]" "ipywidgets>=8"
    python -m l2vkit.dev.colab_install --refresh pip-freeze.gpu.txt --source "COMMIT (DATE)" --python 3.13 --out FILE

How: a throw-away virtual environment gets one empty ``.dist-info`` record per package of the runtime (name and
version, nothing importable), so pip sees Colab's versions as installed. A recent pip (≥ 24.1: it accepts
``--python-version`` with ``--dry-run``) then resolves the install for the runtime's Python, wheels only, and writes
``--report``. Every package in that report which the runtime already has is a replacement; the rest are new.
Needs PyPI (pip reads metadata); nothing is installed, and torch's wheels are never downloaded since Colab's torch
counts as installed.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import re
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIMES = sorted((ROOT / "requirements").glob("colab-runtime*.txt"))
#: Colab's stack: none of these may be installed or replaced by l2vkit[colab] (bar TRANSFORMERS_UPGRADE's exception).
COLAB_STACK = ("torch", "torchvision", "numpy", "transformers", "tokenizers", "huggingface-hub", "accelerate",
               "matplotlib", "ipywidgets", "plotly", "pillow")
#: Colab's machines are x86_64 Linux; pip picks wheels for these tags.
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "linux_x86_64", "any")
_NEVER_STUBBED = {"pip", "setuptools", "wheel"}  # the stub environment's own pip must keep working


def pypi_reachable() -> bool:
    """Whether PyPI answers: the dry run and the rehearsal read package metadata from it."""
    import socket

    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


def canonical(name: str) -> str:
    """PEP 503 name: ``huggingface_hub`` and ``Huggingface-Hub`` are the same package."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclasses.dataclass(frozen=True)
class Runtime:
    """A runtime's installed packages (canonical name → version) and its Python (``"3.13"``)."""

    name: str
    python: str
    pins: dict


def read_runtime(path) -> Runtime:
    """Read a constraints file written by ``--refresh``: ``name==version`` lines and a ``# python-version:`` line."""
    path = Path(path)
    pins, python = {}, None
    for line in path.read_text().splitlines():
        if line.startswith("# python-version:"):
            python = line.split(":", 1)[1].strip()
        elif line and not line.startswith("#"):
            name, _, version = line.partition("==")
            if not version:
                raise ValueError(f"{path}: {line!r} is not name==version")
            pins[canonical(name)] = version.strip()
    if python is None:
        raise ValueError(f"{path}: no '# python-version: X.Y' line; the dry run needs the runtime's Python")
    return Runtime(path.name, python, pins)


def refresh(freeze: Path, source: str, python: str, out: Path) -> None:
    """Turn Colab's ``pip freeze`` (googlecolab/backend-info) into a constraints file: local labels dropped, URLs dropped."""
    lines = [line for line in freeze.read_text().splitlines() if re.match(r"^[A-Za-z0-9_.-]+==", line)]
    lines = [re.sub(r"\+[A-Za-z0-9.]+$", "", line) for line in lines]
    header = ["# Google Colab's GPU runtime as pip constraints: what `pip install \"l2vkit[colab]\"` must leave alone.",
              f"# Source: https://github.com/googlecolab/backend-info, pip-freeze.gpu.txt at {source}; "
              f"read on {datetime.date.today()}.",
              "# Local version labels dropped (torch==2.11.0+cu128 -> torch==2.11.0); packages installed from a URL "
              "or a file dropped.", "# Checked by: python -m l2vkit.dev.colab_install", f"# python-version: {python}"]
    out.write_text("\n".join(header + lines) + "\n")


def stub_environment(folder: Path, runtime: Runtime) -> Path:
    """A virtual environment whose pip sees ``runtime``'s packages as installed; returns its python."""
    venv.create(folder, with_pip=True)
    python = folder / "bin" / "python"
    _run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "pip>=24.1"])
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
    for name, version in runtime.pins.items():
        if name in _NEVER_STUBBED:
            continue
        record = purelib / f"{name.replace('-', '_')}-{version}.dist-info"
        record.mkdir(exist_ok=True)
        (record / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (record / "INSTALLER").write_text("l2vkit-colab-stub\n")
        (record / "RECORD").write_text("")
    return python


@dataclasses.dataclass
class DryRun:
    """What ``pip install`` would do on the runtime: ``new`` and ``replaced`` are ``(name, version)`` /
    ``(name, runtime version, new version)``."""

    runtime: str
    requirements: list
    new: list
    replaced: list

    def summary(self) -> str:
        head = f"{self.runtime}: pip install {' '.join(self.requirements)}"
        new = ", ".join(f"{n} {v}" for n, v in self.new) or "nothing"
        out = [head, f"  would install (new): {new}"]
        if self.replaced:
            out += [f"  would REPLACE {n} {old} with {v}" for n, old, v in self.replaced]
        else:
            out.append("  would replace: nothing")
        return "\n".join(out)


def dry_run(python: Path, runtime: Runtime, requirements) -> DryRun:
    """``pip install --dry-run --report`` of ``requirements`` in a stub environment of ``runtime``."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [python, "-m", "pip", "install", "--dry-run", "-q", "--disable-pip-version-check",
                   "--report", report, "--python-version", runtime.python, "--only-binary=:all:"]
        command += [f"--platform={tag}" for tag in PLATFORMS]
        _run(command + list(requirements))
        installs = json.loads(report.read_text())["install"]
    new, replaced = [], []
    for item in installs:
        name, version = canonical(item["metadata"]["name"]), item["metadata"]["version"]
        if name in runtime.pins:
            replaced.append((name, runtime.pins[name], version))
        else:
            new.append((name, version))
    return DryRun(runtime.name, [str(r) for r in requirements], new, replaced)


#: The set-up cells install ``colab``, and ``colab,text`` where the toy generator is used.
EXTRAS = ("colab", "colab,text")
#: What a runtime whose transformers is older than 5.18 gets upgraded: transformers reads the shipped toy VLM wrongly
#: there (5.15–5.17 caption garbage without an error), so l2vkit requires transformers>=5.18, and pip brings the
#: hub and tokenizer packages that version needs along. Nothing else may be replaced, on any runtime.
TRANSFORMERS_UPGRADE = frozenset({"transformers", "huggingface-hub", "tokenizers", "safetensors", "hf-xet", "click",
                                  "idna"})


def unexpected_replacements(result: DryRun, runtime: Runtime) -> list:
    """The replacements that break the promise: all of them, except the transformers upgrade on a runtime whose
    transformers is older than the toy VLM needs."""
    from packaging.version import Version

    from ..toyworld.preset import MIN_TRANSFORMERS

    allowed = TRANSFORMERS_UPGRADE if Version(runtime.pins["transformers"]) < Version(MIN_TRANSFORMERS) else ()
    return [r for r in result.replaced if r[0] not in allowed]


def local_wheel(folder: Path) -> Path:
    """Build l2vkit's wheel from this checkout (``--only-binary`` takes wheels only)."""
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--disable-pip-version-check", str(ROOT),
          "-w", str(folder)])
    (wheel,) = folder.glob("l2vkit-*.whl")
    return wheel


def _run(command) -> str:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    if result.returncode != 0:
        errors = "\n".join(line for line in result.stderr.splitlines() if not line.startswith("WARNING: Location"))
        raise RuntimeError(f"{' '.join(map(str, command[:6]))} … failed (exit {result.returncode}):\n{errors[-3000:]}")
    return result.stdout


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m l2vkit.dev.colab_install", description=__doc__.split("\n")[0])
    parser.add_argument("--runtime", action="append", type=Path, help="constraints file (default: all recorded)")
    parser.add_argument("--requirement", nargs="+", help="what to install (default: this checkout's [colab] wheel)")
    parser.add_argument("--refresh", type=Path, help="write a constraints file from a Colab pip-freeze file")
    parser.add_argument("--source", default="?", help="with --refresh: the backend-info commit and date")
    parser.add_argument("--python", default="3.13", help="with --refresh: the runtime's Python")
    parser.add_argument("--out", type=Path, default=ROOT / "requirements" / "colab-runtime.txt")
    args = parser.parse_args(argv)
    if args.refresh:
        refresh(args.refresh, args.source, args.python, args.out)
        print(f"wrote {args.out}")
        return 0
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        if args.requirement:
            asked = [args.requirement]
        else:
            wheel = local_wheel(Path(tmp) / "wheel")
            asked = [[f"{wheel}[{extras}]"] for extras in EXTRAS]
        for path in args.runtime or RUNTIMES:
            runtime = read_runtime(path)
            python = stub_environment(Path(tmp) / runtime.name, runtime)
            for requirements in asked:
                result = dry_run(python, runtime, requirements)
                print(result.summary())
                failed |= bool(unexpected_replacements(result, runtime))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
