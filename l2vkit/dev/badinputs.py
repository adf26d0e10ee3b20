"""The bad-input table: what a careless or hostile user may hand l2vkit, and the clear error each must give.

    python -m l2vkit.dev.badinputs            # runs every case on the toy world, prints the table, exit 1 on a miss
    python -m l2vkit.dev.badinputs --area CLI

Four areas: the Python API, artifacts on disk (edited or broken concept banks, couplings, training states), pair
files, and the command line. A case passes when the input is refused with an error of a clear kind (``ValueError``,
``TypeError``, ``KeyError``, ``OSError``, ``FloatingPointError``) whose message matches what the table expects — or,
for the CLI, one line on stderr with exit status 2 and nothing written to ``--out``; a ``warning`` case must warn
and go on. Anything else (an ``IndexError`` from deep inside torch, a traceback, silence) is a miss.
``tests/test_badinputs.py`` runs the same table.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import re
import sys
import warnings
from pathlib import Path

from .badinput_cases import AREAS, CAPTION, Case, table_cases
from .badinput_network import network_cases
from .badinput_sanity import sanity_cases

__all__ = ["AREAS", "Bench", "Case", "Result", "all_cases", "check", "format_table", "main", "run"]


def all_cases() -> list[Case]:
    """Every row of the table: the API, artifacts, pair files, the command line, the concept network and the sanity
    checks."""
    return table_cases() + network_cases() + sanity_cases()


CLEAR_ERRORS = (ValueError, TypeError, KeyError, OSError, FloatingPointError)


@dataclasses.dataclass(frozen=True)
class Result:
    case: Case
    ok: bool
    got: str  #: the message (or what happened instead)


class Bench:
    """The toy world's models, loaded once, and a scratch folder for the files the cases plant."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self._loaded = {}

    def _once(self, key, make):
        if key not in self._loaded:
            self._loaded[key] = make()
        return self._loaded[key]

    @property
    def gen(self):
        from .. import toyworld as tw

        return self._once("gen", tw.load_generator)

    @property
    def vlm(self):
        from .. import toyworld as tw

        return self._once("vlm", tw.load_vlm)

    @property
    def bank(self):
        from .. import toyworld as tw

        return self._once("bank", lambda: tw.load_concepts(generator=self.gen))

    @property
    def coupling(self):
        from .. import toyworld as tw

        return self._once("coupling", lambda: tw.load_coupling(generator=self.gen))

    def latents(self, fill=0.0):
        import torch

        return torch.full((1, *self.gen.latent_shape(self.gen.frames, self.gen.height, self.gen.width)), fill)

    def steer(self, strengths=None, **kwargs):
        from ..steering import steer

        return steer(self.gen, kwargs.pop("caption", CAPTION), strengths or {"red->blue": 1.0}, concepts=self.bank,
                     steps=kwargs.pop("steps", 2), **kwargs)

    def file(self, name: str, content) -> Path:
        path = self.folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return path

    def edited(self, source: Path, name: str, header=None, tensors=None) -> Path:
        """A copy of a safetensors artifact with its l2vkit header and/or tensors changed, as a hand edit would."""
        from safetensors import safe_open
        from safetensors.torch import save_file

        with safe_open(str(source), framework="pt") as f:
            metadata, stored = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
        key = next(k for k in metadata if k.startswith("l2vkit"))
        text = metadata[key]
        if header is not None:
            text = header(json.loads(text))
            text = text if isinstance(text, str) else json.dumps(text)
        path = self.folder / name
        save_file(tensors(stored) if tensors else stored, str(path), metadata={**metadata, key: text})
        return path

    def bank_path(self) -> Path:
        from ..paths import data_path

        return data_path("toy_concepts.safetensors")

    def coupling_path(self) -> Path:
        from ..paths import data_path

        return data_path("toy_coupling.safetensors")


def _run_cli(bench, case: Case) -> Result:
    from ..cli import main

    out = bench.folder / ("out-" + re.sub(r"\W+", "-", case.what))
    blocker = bench.file("a-file", "not a folder\n")
    argv = [a.replace("{file}", str(blocker)) for a in case.action(bench)]
    if argv[:1] in (["steer"], ["demo"], ["fit"], ["concepts"]) and "--out" not in argv:
        argv += ["--out", str(out)]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code
    lines = stderr.getvalue().strip().splitlines()
    got = " / ".join(lines) or "(nothing on stderr)"
    written = sorted(p.name for p in out.rglob("*")) if out.exists() else []
    ok = (code == 2 and len(lines) == 1 and lines[0].startswith("l2vkit") and "Traceback" not in got
          and re.search(case.expect, lines[0]) is not None and not written)
    if written:
        got += f" — but wrote {written}"
    return Result(case, ok, got if code == 2 else f"exit {code}: {got}")


def check(case: Case, bench: Bench) -> Result:
    """Feed one bad input and say whether it got the clear error (or warning) the table expects."""
    if case.outcome == "exit 2":
        return _run_cli(bench, case)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            case.action(bench)
        except CLEAR_ERRORS as err:
            message = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
            ok = case.outcome == "error" and re.search(case.expect, message, re.S) is not None
            return Result(case, ok, f"{type(err).__name__}: {message}")
        except Exception as err:  # noqa: BLE001 - any other kind is the confusing error this table exists to catch
            return Result(case, False, f"unclear {type(err).__name__}: {err}")
    said = [str(w.message) for w in caught]
    if case.outcome == "warning":
        return Result(case, any(re.search(case.expect, text) for text in said), " / ".join(said) or "no warning")
    return Result(case, False, "accepted without an error" + (f" (warned: {said[0]})" if said else ""))


def run(area: str | None = None, folder=None) -> list[Result]:
    import tempfile

    with contextlib.ExitStack() as stack:
        folder = folder or stack.enter_context(tempfile.TemporaryDirectory(prefix="l2vkit-badinputs-"))
        bench = Bench(folder)
        return [check(case, bench) for case in all_cases() if area in (None, case.area)]


def format_table(results: list[Result]) -> str:
    lines = ["| area | bad input | outcome | message |", "|---|---|---|---|"]
    for r in results:
        message = r.got.replace("|", "\\|").replace("\n", " ")
        message = message if len(message) <= 160 else message[:157] + "…"
        lines.append(f"| {r.case.area} | {r.case.what} | {'ok' if r.ok else 'MISS'} | {message} |")
    missed = sum(not r.ok for r in results)
    lines += ["", f"{len(results)} bad inputs, {len(results) - missed} refused clearly, {missed} missed"]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m l2vkit.dev.badinputs", description=__doc__.splitlines()[0])
    parser.add_argument("--area", choices=AREAS, help="only this area's cases")
    args = parser.parse_args(argv)
    results = run(args.area)
    print(format_table(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
