"""The `l2vkit` command line (`l2vkit COMMAND --help` explains each):

- `l2vkit demo`: the main job on the toy world (or real models), results under outputs/demo
- `l2vkit fit`: fit the coupling Φ (generator latents → VLM visual tokens)
- `l2vkit concepts`: train concept vectors q_o, one per contrast pair
- `l2vkit steer`: sample a caption steered by concepts; videos side by side and steer.json
- `l2vkit report`: one self-contained HTML page of a run's videos, figures and tables
- `l2vkit env`: versions, device, memory and video support for bug reports
- `l2vkit plan`: every stage's planned GPU and RAM peak for a hardware tier (`--tier colab-t4`)

`--tier NAME` on demo, fit, concepts and steer fills in the tier's models, video size and steps wherever the command
line does not give them.

Errors a user can act on print one line and exit with status 2; no traceback (L2VKIT_DEBUG=1 shows one).
"""
from __future__ import annotations

import argparse
import os
import sys

#: the commands in the order ``l2vkit --help`` lists them; each module has ``add_parser(sub)`` and ``run(args)``
COMMANDS = ("demo", "report", "env", "plan", "fit", "concepts", "steer")


class OneLineParser(argparse.ArgumentParser):
    """argparse with its usage errors on one line, as every other user error is (its subcommands inherit it)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = OneLineParser(prog="l2vkit", description="Logits-to-video interpretability toolkit.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    return parser


def apply_tier(args, argv) -> None:
    """Fill in ``--tier``'s models, video size and steps wherever the command line leaves them at their defaults."""
    from ..tiers import get_tier

    tier = get_tier(args.tier)
    given = {arg.split("=")[0] for arg in argv if arg.startswith("--")}
    options = [("vlm", tier.vlm), ("generator", tier.generator), ("num_frames", tier.frames), ("height", tier.height),
               ("width", tier.width), ("sampling_steps", tier.steps)]
    if args.command == "steer":  # its --steps are sampling steps (concepts' are training steps)
        options.append(("steps", tier.steps))
    for option, value in options:
        if hasattr(args, option) and "--" + option.replace("_", "-") not in given and value is not None:
            setattr(args, option, value)


def check_arguments(args) -> None:
    """The numbers and the output folder every command takes, checked before any model loads (one line, exit 2)."""
    import math
    from pathlib import Path

    seed = getattr(args, "seed", None)
    if seed is not None and not 0 <= seed < 2 ** 63:
        raise ValueError(f"--seed {seed}: give a whole number from 0 to 2**63 - 1")
    for option in ("steps", "sampling_steps", "num_frames", "height", "width", "text_len", "seeds", "videos"):
        value = getattr(args, option, None)
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            raise ValueError(f"--{option.replace('_', '-')} {value}: expected a positive number")
    guidance = getattr(args, "guidance", None)
    if guidance is not None and not (math.isfinite(guidance) and 0 <= guidance <= 100):
        raise ValueError(f"guidance={guidance}; expected a finite number in [0, 100] (--guidance)")
    out = getattr(args, "out", None)
    if isinstance(out, (str, Path)):
        folder = Path(out).absolute()
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir() and folder != Path(out).absolute():
            raise NotADirectoryError(f"--out {out}: {folder} is a file, not a folder; choose another --out")
        if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(f"--out {out}: cannot write under {folder}; choose a folder you can write to")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "tier", None) and args.command != "plan":
            apply_tier(args, argv)
        check_arguments(args)
        return args.func(args)
    except (ValueError, TypeError, OSError, RuntimeError, KeyError, FloatingPointError, ImportError) as err:
        if os.environ.get("L2VKIT_DEBUG"):
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args else err  # str(KeyError) adds quotes
        message = " ".join(line.strip() for line in str(message).splitlines() if line.strip())  # one line
        print(f"l2vkit {args.command}: error: {message} (set L2VKIT_DEBUG=1 for a traceback)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"l2vkit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
