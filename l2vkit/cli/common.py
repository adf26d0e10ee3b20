"""What every command shares: one-line errors and warnings, checked options and files, and loading the models
named on the command line (``toy``, a hub id or a local folder)."""
from __future__ import annotations

import contextlib
import sys
import warnings
from pathlib import Path

EXIT_CODES = ("Exit status: 0 done; 2 bad input, a missing or damaged file, or models that do not match "
              "(one line on stderr; set L2VKIT_DEBUG=1 for a traceback); 130 interrupted.")


@contextlib.contextmanager
def one_line_warnings(command: str):
    """Show every warning raised inside as one line ``l2vkit CMD: warning: …`` on stderr."""

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"l2vkit {command}: warning: {one_line(message)}", file=sys.stderr)

    with warnings.catch_warnings():  # restores showwarning (and the filters) afterwards
        warnings.showwarning = show
        yield


def one_line(message) -> str:
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


def existing_file(path, what: str) -> Path:
    path = Path(path)
    if path.is_dir():  # an artifact saved as a folder (save_pretrained)
        return path
    if not path.is_file():
        if path.suffix != ".safetensors" and path.with_suffix(".safetensors").is_file():
            return path.with_suffix(".safetensors")
        raise FileNotFoundError(f"{what} file {path} does not exist")
    return path


def positive(value, option: str, *, zero: bool = False):
    if value is not None and (value < 0 or (value == 0 and not zero)):
        raise ValueError(f"{option} {value}: expected {'0 or more' if zero else 'a positive number'}")
    return value


def safetensors_out(path) -> Path:
    path = Path(path)
    return path if path.suffix == ".safetensors" else path.with_suffix(".safetensors")


def cpu_note(model_id: str, command: str, adapter, settings: dict | None = None) -> None:
    """Tell the user a real generator is about to run on the CPU, with the memory plan."""
    from ..env import ram_gib
    from ..generator.memory import plan_memory

    lines = [f"l2vkit {command}: note: no CUDA GPU found, so {model_id} will run on the CPU in float32; a real "
             "video generator takes minutes to hours per video there (use a GPU, e.g. Colab, for real models)."]
    try:
        size = {k: (settings or {}).get(k) or getattr(adapter, f"default_{k}") for k in ("frames", "height", "width")}
        plan = plan_memory(model_id, size["frames"], size["height"], size["width"], "float32", verbose=False)
    except (ValueError, TypeError, OSError, ImportError):
        plan = None
    if plan is None:
        lines.append("  (no memory plan: the model is not in l2vkit's table and not a local pipeline folder)")
    else:
        available, _ = ram_gib()
        ram = "" if available is None else f"; this machine has {available:.1f} GB available"
        if available is not None and plan.total_weights_gb > available:
            ram += " — not enough: loading will likely be killed for lack of memory"
        lines.append(f"  on the CPU the weights alone take ~{plan.total_weights_gb:.1f} GB of RAM{ram}.")
        lines.append(plan.summary())
    print("\n".join(lines), file=sys.stderr)


def add_video_options(parser, *, sampling: bool = True) -> None:
    """``--num-frames --height --width`` (and with ``sampling`` ``--sampling-steps --guidance``): the generator's
    settings, defaulting to the model's own (or its preset's)."""
    from ..tiers import TIERS

    parser.add_argument("--tier", default=None, choices=list(TIERS),
                        help="models, video size and steps of a hardware tier (toy, colab-t4, …; `l2vkit plan` shows "
                             "its memory); options given explicitly win")
    parser.add_argument("--num-frames", type=int, default=None, metavar="N",
                        help="video frames (default: the generator's own; each family accepts only some counts)")
    parser.add_argument("--height", type=int, default=None, metavar="PX", help="video height (default: the model's)")
    parser.add_argument("--width", type=int, default=None, metavar="PX", help="video width (default: the model's)")
    parser.add_argument("--text-len", type=int, default=None, metavar="N",
                        help="caption tokens of the condition π (default: the model's; concepts must be used at the "
                             "length they were trained at)")
    if sampling:
        parser.add_argument("--sampling-steps", type=int, default=None, metavar="N",
                            help="sampling steps of the generator (default: the model's)")
        parser.add_argument("--guidance", type=float, default=None, metavar="SCALE",
                            help="classifier-free guidance scale (default: the model's)")


def video_settings(args) -> dict:
    """The generator settings given on the command line (``add_video_options``), for ``open_generator``."""
    return {"frames": getattr(args, "num_frames", None), "height": getattr(args, "height", None),
            "width": getattr(args, "width", None), "text_len": getattr(args, "text_len", None),
            "steps": getattr(args, "sampling_steps", None),
            "guidance": getattr(args, "guidance", None)}


def open_generator(model: str, command: str, **settings):
    """The generator named on the command line (a preset such as ``toy``, a hub id or a local folder), with one-line
    load errors and a memory-plan note when a real generator would run on the CPU; ``settings`` (frames, height,
    width, steps, guidance; ``None`` keeps the model's) are checked against what the model accepts."""
    generator = _load_generator(model, command, settings)
    try:
        return generator.configure(**settings)
    except ValueError as err:
        raise ValueError(f"generator {model!r}: {one_line(err)}") from None


def _load_generator(model: str, command: str, settings: dict):
    from ..generator import VideoGenerator
    from ..generator.loading import pipeline_class_name
    from ..presets import HUB, preset_for
    from ..quiet import quiet_loading

    if preset_for(generator=model) is not HUB:
        with quiet_loading():
            return VideoGenerator.from_pretrained(model)
    import torch

    try:
        adapter = VideoGenerator.adapter_for(pipeline_class_name(model, None))
    except OSError as err:
        raise OSError(f"could not load generator {model!r}: {one_line(err)}") from None
    cuda = torch.cuda.is_available()
    if not cuda:
        cpu_note(model, command, adapter, settings)
    given = {k: v for k, v in settings.items() if v is not None}
    try:
        return VideoGenerator.from_pretrained(model, verbose=cuda, **given)
    except OSError as err:
        raise OSError(f"could not load generator {model!r}: {one_line(err)}") from None


def open_vlm(model: str):
    """The VLM named on the command line (a preset such as ``toy``, a hub id or a local folder), with one-line load
    errors."""
    from ..presets import HUB, preset_for
    from ..quiet import quiet_loading
    from ..vlm import VideoVLM

    quiet = preset_for(vlm=model) is not HUB
    try:
        with quiet_loading() if quiet else contextlib.nullcontext():
            return VideoVLM.from_pretrained(model)
    except (OSError, ValueError) as err:
        raise type(err)(f"could not load VLM {model!r}: {one_line(err)}") from None


def default_file(given, preset_file, option: str, what: str, how: str) -> Path:
    """``given`` (checked to exist), else the preset's shipped file, else a one-line error saying what to pass."""
    if given:
        return existing_file(given, what)
    if preset_file is not None:
        return preset_file()
    raise ValueError(f"{option} FILE is needed for models other than a preset's such as the toy world's ({how})")


def resolve_pair_name(name: str, specs, where: str, what: str = "concept") -> str:
    """A pair's name as the bank or spec file has it; ``source:target`` (no shell quoting needed) works too.

    ``specs``: ``{name: ContrastPair}``. Unknown names raise ``KeyError`` listing the known ones.
    """
    if name in specs:
        return name
    source, sep, target = name.partition(":")
    if sep:
        for key, spec in specs.items():
            if (spec.source, spec.target) == (source.strip(), target.strip()):
                return key
    raise KeyError(f"{where}: no {what} {name!r}; {'it has' if specs else 'it is empty'} {', '.join(specs)} "
                   "(write a name as 'red->blue' in quotes, or red:blue)")


def forget_checkpoint(path: Path) -> None:
    """A finished run's resumable state is not needed; a later run with other settings must not resume from it."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
