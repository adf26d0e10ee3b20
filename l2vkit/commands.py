"""What `l2vkit fit`, `l2vkit concepts` and `l2vkit steer` do; their parsers are in :mod:`l2vkit.cli`.

Each command takes the argparse namespace and returns an exit code. Input a user can fix raises ``ValueError``,
``KeyError``, ``FileNotFoundError`` or ``OSError`` with a message that says what to change; ``l2vkit.cli.main``
prints it as one line and exits with status 2. Importing this module is cheap (torch loads inside the commands).
"""
from __future__ import annotations

import contextlib
import math
import sys
import time
import warnings
from pathlib import Path

#: The toy world's shipped artifacts (under data/).
TOY_COUPLING = "toy_coupling.safetensors"
TOY_CONCEPTS = "toy_concepts.safetensors"
TOY_PAIRS = "contrast_pairs.yaml"
REAL_SAMPLES_PER_PAIR = 16  # π⁻ samples per pair for real generators (one sampling batch)
REAL_CONCEPT_STEPS = 1000  # the paper's; the toy bank trains longer (its loss was still falling at 1,000)


# ------------------------------------------------------------------------------------------------- helpers
def _quiet_loading():
    from .toyworld import quiet_loading

    return quiet_loading()


@contextlib.contextmanager
def one_line_warnings(command: str):
    """Show every warning raised inside as one line ``l2vkit CMD: warning: …`` on stderr."""

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"l2vkit {command}: warning: {_one_line(message)}", file=sys.stderr)

    with warnings.catch_warnings():  # restores showwarning (and the filters) afterwards
        warnings.showwarning = show
        yield


def _one_line(message) -> str:
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


def _is_shipped_toy(model: str, kind: str) -> bool:
    """``model`` names the toy world's shipped VLM (``kind="vlm"``) or generator (``kind="generator"``)."""
    from .provenance import canonical_model_id

    return model == "toy" or canonical_model_id(model) == f"toy:toy_{kind}"


def _data_file(name: str) -> Path:
    from .paths import data_path

    return data_path(name)


def _existing_file(path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        if path.suffix != ".safetensors" and path.with_suffix(".safetensors").is_file():
            return path.with_suffix(".safetensors")
        raise FileNotFoundError(f"{what} file {path} does not exist")
    return path


def _positive(value, option: str, *, zero: bool = False):
    if value is not None and (value < 0 or (value == 0 and not zero)):
        raise ValueError(f"{option} {value}: expected {'0 or more' if zero else 'a positive number'}")
    return value


def _safetensors_out(path) -> Path:
    path = Path(path)
    return path if path.suffix == ".safetensors" else path.with_suffix(".safetensors")


def _cpu_note(model_id: str, command: str, adapter) -> None:
    """Tell the user a real generator is about to run on the CPU, with the memory plan."""
    from .env import _ram_gib
    from .generator.memory import plan_memory

    lines = [f"l2vkit {command}: note: no CUDA GPU found, so {model_id} will run on the CPU in float32; a real "
             "video generator takes minutes to hours per video there (use a GPU, e.g. Colab, for real models)."]
    try:
        plan = plan_memory(model_id, adapter.default_frames, adapter.default_height, adapter.default_width,
                           "float32", verbose=False)
    except (ValueError, TypeError, OSError, ImportError):
        plan = None
    if plan is None:
        lines.append("  (no memory plan: the model is not in l2vkit's table and not a local pipeline folder)")
    else:
        available, _ = _ram_gib()
        ram = "" if available is None else f"; this machine has {available:.1f} GB available"
        if available is not None and plan.total_weights_gb > available:
            ram += " — not enough: loading will likely be killed for lack of memory"
        lines.append(f"  on the CPU the weights alone take ~{plan.total_weights_gb:.1f} GB of RAM{ram}.")
        lines.append(plan.summary())
    print("\n".join(lines), file=sys.stderr)


def load_generator(model: str, command: str):
    """The generator named on the command line (``toy``, a hub id or a local folder), with one-line load errors and
    a memory-plan note when a real generator would run on the CPU."""
    from .generator import VideoGenerator

    if model == "toy" or (Path(model) / "l2vkit_generator.json").exists():
        with _quiet_loading():
            return VideoGenerator.from_pretrained(model)
    import torch

    from .generator.base import _pipeline_class_name

    try:
        adapter = VideoGenerator.adapter_for(_pipeline_class_name(model, None))
    except OSError as err:
        raise OSError(f"could not load generator {model!r}: {_one_line(err)}") from None
    cuda = torch.cuda.is_available()
    if not cuda:
        _cpu_note(model, command, adapter)
    try:
        return VideoGenerator.from_pretrained(model, verbose=cuda)
    except OSError as err:
        raise OSError(f"could not load generator {model!r}: {_one_line(err)}") from None


def load_vlm(model: str):
    """The VLM named on the command line (``toy``, a hub id or a local folder), with one-line load errors."""
    from .vlm import VideoVLM

    try:
        if _is_shipped_toy(model, "vlm"):
            with _quiet_loading():
                return VideoVLM.from_pretrained(model)
        return VideoVLM.from_pretrained(model)
    except (OSError, ValueError) as err:
        raise type(err)(f"could not load VLM {model!r}: {_one_line(err)}") from None


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


def _forget_checkpoint(path: Path) -> None:
    """A finished run's resumable state is not needed; a later run with other settings must not resume from it."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


# -------------------------------------------------------------------------------------------------------- fit
def fit(args) -> int:
    """`l2vkit fit`: fit the coupling Φ — on the toy world's own videos, or on a folder of videos with captions."""
    with one_line_warnings("fit"):
        return _fit(args)


def _fit(args) -> int:
    _positive(args.videos, "--videos")
    _positive(args.eval_videos, "--eval-videos")
    steps = {}
    for stage, value in (("global", args.steps_global), ("local", args.steps_local), ("rho", args.steps_rho)):
        if _positive(value, f"--steps-{stage}", zero=True) is not None:
            steps[stage] = value
    out = _safetensors_out(args.out)
    progress = not args.quiet
    toy = _is_shipped_toy(args.vlm, "vlm") and _is_shipped_toy(args.generator, "generator")
    if args.data is None:
        if not toy:
            raise ValueError("--data FOLDER is needed to fit a coupling for models other than the toy world's "
                             "(a folder of .mp4 videos at the generator's size with a captions.json)")
        from .toyworld.train_coupling import fit_toy

        with _quiet_loading():
            fit_toy(out, videos=args.videos or 3000, eval_videos=args.eval_videos or 300, seed=args.seed,
                    cache=args.cache, steps=steps or None, table=args.table, progress=progress)
        _forget_checkpoint(out.with_name(out.stem + ".train_state.pt"))
        return 0
    if args.table or args.eval_videos is not None:
        raise ValueError("--table and --eval-videos use the toy world's held-out videos; leave them out with --data")
    files, captions = _video_folder(Path(args.data), args.videos)
    vlm = load_vlm(args.vlm)
    generator = load_generator(args.generator, "fit")
    videos = _read_videos(files, generator)
    from .coupling import build_coupling_data, fit_coupling

    started = time.perf_counter()
    data = build_coupling_data(vlm, generator, videos, captions, seed=args.seed, progress=progress)
    data.meta["videos_folder"] = str(Path(args.data).resolve())
    built = time.perf_counter()
    checkpoint = out.with_name(out.stem + ".train_state.pt")
    result = fit_coupling(vlm, generator, data, steps=steps or None, seed=args.seed, checkpoint=checkpoint,
                          progress=progress)
    result.meta["data_seconds"] = round(built - started, 1)
    saved = result.save(out)
    _forget_checkpoint(checkpoint)
    last = {}
    for row in result.history:
        last[row["stage"]] = {k: v for k, v in row.items() if k not in ("stage", "step")}
    losses = "; ".join(f"{stage} " + ", ".join(f"{k} {v:.4g}" for k, v in values.items())
                       for stage, values in last.items())
    print(f"final losses: {losses}" if losses else "no training steps run")
    print(f"wrote {saved} ({len(videos)} videos, {len(data)} samples; data {result.meta['data_seconds']} s, "
          f"fit {result.meta['fit_seconds']} s)")
    return 0


def _video_folder(folder: Path, limit: int | None):
    """The .mp4 files of ``folder`` (sorted, at most ``limit``) and their captions from ``folder/captions.json``."""
    from .io import read_json

    if not folder.is_dir():
        raise FileNotFoundError(f"--data folder {folder} does not exist")
    index = folder / "captions.json"
    if not index.is_file():
        raise FileNotFoundError(f"{index} does not exist; write one mapping each video's file name to its caption, "
                                'e.g. {"clip1.mp4": "a red car drives left"}')
    captions = read_json(index)
    if not isinstance(captions, dict) or not all(isinstance(c, str) and c.strip() for c in captions.values()):
        raise ValueError(f'{index} must map file names to non-empty captions, e.g. {{"clip1.mp4": "a red car"}}')
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".mp4")
    if not files:
        raise FileNotFoundError(f"--data folder {folder} has no .mp4 videos")
    missing = [p.name for p in files if p.name not in captions]
    if missing:
        raise ValueError(f"{index} has no caption for {len(missing)} video(s): {', '.join(missing[:5])}"
                         + ("…" if len(missing) > 5 else ""))
    unknown = sorted(set(captions) - {p.name for p in files})
    if unknown:
        raise ValueError(f"{index} names {len(unknown)} file(s) that are not .mp4 videos in {folder}: "
                         f"{', '.join(unknown[:5])}" + ("…" if len(unknown) > 5 else ""))
    files = files[:limit] if limit else files
    return files, [captions[p.name] for p in files]


def _read_videos(files, generator):
    """Decode every video and check it has the generator's size (frames × height × width)."""
    import numpy as np

    from .video import read_video

    want = (generator.frames, generator.height, generator.width)
    videos = []
    for path in files:
        video = read_video(path)
        if video.shape[:3] != want:
            raise ValueError(f"{path} is {video.shape[0]} frames at {video.shape[1]}×{video.shape[2]} "
                             f"(height×width), but generator {generator.model_id} needs videos of exactly {want[0]} "
                             f"frames at {want[1]}×{want[2]}; trim and resize the videos to that size first")
        videos.append(video)
    return np.stack(videos)


# --------------------------------------------------------------------------------------------------- concepts
def concepts(args) -> int:
    """`l2vkit concepts`: train one concept vector q_o per contrast pair with the generator, VLM and Φ frozen."""
    with one_line_warnings("concepts"):
        return _concepts(args)


def _concepts(args) -> int:
    from .pairs import load_pairs
    from .toyworld.train_concepts import DEFAULTS as TOY_CONCEPT_DEFAULTS

    toy_generator = _is_shipped_toy(args.generator, "generator")
    if args.samples_per_pair is None:  # a real generator samples them as one batch: keep it small on a GPU
        args.samples_per_pair = TOY_CONCEPT_DEFAULTS["samples_per_pair"] if toy_generator else REAL_SAMPLES_PER_PAIR
    if args.steps is None:
        args.steps = TOY_CONCEPT_DEFAULTS["steps"] if toy_generator else REAL_CONCEPT_STEPS
    for value, option in ((args.steps, "--steps"), (args.samples_per_pair, "--samples-per-pair"),
                          (args.timesteps_per_sample, "--timesteps-per-sample"),
                          (args.batch_per_pair, "--batch-per-pair")):
        _positive(value, option)
    if not (args.lr > 0 and math.isfinite(args.lr)):
        raise ValueError(f"--lr {args.lr}: expected a positive number")
    toy = _is_shipped_toy(args.vlm, "vlm") and toy_generator
    pairs_file = _existing_file(args.pairs, "pairs") if args.pairs else _data_file(TOY_PAIRS)
    from .toyworld import ATTRIBUTE_VALUES

    pairs = load_pairs(pairs_file, vocabulary=ATTRIBUTE_VALUES if toy_generator else None)
    if args.only:
        by_name = {p.name: p for p in pairs}
        names = [resolve_pair_name(name, by_name, f"--only {name}: {pairs_file}", "pair") for name in args.only]
        pairs = [by_name[name] for name in dict.fromkeys(names)]
    if args.coupling:
        coupling_file = _existing_file(args.coupling, "coupling")
    elif toy:
        coupling_file = _data_file(TOY_COUPLING)
    else:
        raise ValueError("--coupling FILE is needed for models other than the toy world's (fit one with `l2vkit fit`)")
    if toy_generator:  # random toy captions with the source word at the slot
        from .toyworld import toy_captions as captions
    else:  # real captions come from the pairs' templates
        untemplated = [p.name for p in pairs if not p.template]
        if untemplated:
            raise ValueError(f"pairs {', '.join(untemplated)} in {pairs_file} have no 'template' (a caption with "
                             "{slot} where the word goes); real generators need one to make captions")
        captions = {p.name: [p.captions()[0]] * args.samples_per_pair for p in pairs}
    from .concepts import build_concept_cache, train_concepts
    from .coupling import load_coupling

    vlm = load_vlm(args.vlm)
    generator = load_generator(args.generator, "concepts")
    coupling = load_coupling(coupling_file, vlm=vlm, generator=generator)
    progress = not args.quiet
    out = _safetensors_out(args.out)
    started = time.perf_counter()
    cache = build_concept_cache(generator, vlm, coupling, pairs, captions=captions,
                                samples_per_pair=args.samples_per_pair,
                                timesteps_per_sample=args.timesteps_per_sample, divergence_kind=args.divergence,
                                omega_read=args.omega_read, seed=args.seed, progress=progress)
    cached = time.perf_counter()
    checkpoint = out.with_name(out.stem + ".train_state.pt")
    bank = train_concepts(generator, cache, pairs, steps=args.steps, lr=args.lr, batch_per_pair=args.batch_per_pair,
                          seed=args.seed, progress=progress, vlm=vlm, coupling=coupling, checkpoint=checkpoint,
                          checkpoint_every=100)
    bank.meta.update(pairs_file=str(pairs_file), coupling_file=str(coupling_file),
                     cache_seconds=round(cached - started, 1), train_seconds=round(time.perf_counter() - cached, 1))
    saved = bank.save(out)
    _forget_checkpoint(checkpoint)
    final = f", final loss {bank.history[-1]['loss']:.4g}" if bank.history else ""
    print(f"wrote {saved}: {len(bank.pairs)} concept(s) {', '.join(bank.pairs)} (cache {bank.meta['cache_seconds']} s, "
          f"training {bank.meta['train_seconds']} s{final})")
    return 0


# ------------------------------------------------------------------------------------------------------ steer
def steer(args) -> int:
    """`l2vkit steer`: sample a caption steered by concept vectors and write the videos, side by side, and JSON."""
    with one_line_warnings("steer"):
        return _steer(args)


def parse_concept(text: str) -> tuple[str, float]:
    """``"red->blue=0.5"`` → ``("red->blue", 0.5)``; a bare name means φ = 1.

    >>> parse_concept("red->blue=0.5"), parse_concept("desert->snow")
    (('red->blue', 0.5), ('desert->snow', 1.0))
    """
    name, sep, value = text.rpartition("=")
    if not sep:
        name, value = text, "1"
    name = name.strip()
    if not name:
        raise ValueError(f"--concept {text!r}: expected NAME=PHI, e.g. red->blue=1.0")
    return name, parse_phi(value, f"--concept {text}")


def parse_phi(text: str, where: str) -> float:
    try:
        phi = float(text)
    except ValueError:
        raise ValueError(f"{where}: φ {text.strip()!r} is not a number") from None
    if not math.isfinite(phi):
        raise ValueError(f"{where}: φ is {phi}; expected a finite number (|φ| ≤ 2 is where concepts act)")
    return phi


def parse_numbers(text: str, option: str, *, phi: bool = True) -> list[float]:
    """``"0,0.5,1"`` → ``[0.0, 0.5, 1.0]``; errors name ``option`` (values are φ unless ``phi=False``)."""
    parts = [p for p in text.replace(" ", "").split(",") if p]
    if not parts:
        raise ValueError(f"{option} {text!r}: expected comma-separated numbers, e.g. 0,0.5,1")
    if phi:
        return [parse_phi(p, f"{option} {text}") for p in parts]
    out = []
    for p in parts:
        try:
            value = float(p)
        except ValueError:
            raise ValueError(f"{option} {text!r}: {p!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{option} {text!r}: {p!r} is not a finite number")
        out.append(value)
    return out


def parse_window(text: str) -> tuple[float, float]:
    values = parse_numbers(text, "--window", phi=False)
    if len(values) != 2:
        raise ValueError(f"--window {text!r}: expected START,END as fractions of the sampling steps, e.g. 0,0.5")
    return values[0], values[1]


def parse_frames(text: str, frames: int, latent_frames: int) -> list[bool]:
    """``--frames``: indices and ranges of video frames (``"0-4"``, ``"0,2,6-8"``) or a 0/1 mask with one digit per
    video (or latent) frame (``"000011111"``) → a boolean mask.

    >>> parse_frames("0-2,5", 9, 3)
    [True, True, True, False, False, True, False, False, False]
    >>> parse_frames("001", 9, 3)
    [False, False, True]
    """
    text = text.replace(" ", "")
    if set(text) <= {"0", "1"} and len(text) in (frames, latent_frames) and len(text) > 1:
        return [c == "1" for c in text]
    mask = [False] * frames
    for part in text.split(","):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            lo, hi = int(lo), int(hi) if sep else int(lo)
        except ValueError:
            raise ValueError(f"--frames {text!r}: expected frame numbers and ranges like 0-4,7 (counted from 0), "
                             f"or a 0/1 mask of {frames} digits") from None
        if not 0 <= lo <= hi < frames:
            raise ValueError(f"--frames {text!r}: {part} is not a range of frames 0–{frames - 1} (the video has "
                             f"{frames} frames)")
        for i in range(lo, hi + 1):
            mask[i] = True
    if not any(mask):
        raise ValueError(f"--frames {text!r} selects no frame; steer at least one")
    return mask


def _label(setting: dict) -> str:
    if not any(setting.values()):
        return "unsteered"
    return ", ".join(f"{name} φ={phi:g}" for name, phi in setting.items())


def _stem(index: int, setting: dict) -> str:
    if not any(setting.values()):
        return f"{index:02d}_unsteered"
    parts = [f"{name.replace('->', '_to_')}_{phi:g}" for name, phi in setting.items()]
    return f"{index:02d}_" + "+".join(parts).replace("/", "_")


def _steer(args) -> int:
    import numpy as np

    from . import steering
    from .concepts import ConceptBank, swap_word
    from .io import write_json
    from .provenance import canonical_model_id
    from .video import side_by_side, write_video

    caption = " ".join(args.caption.split())
    if not caption:
        raise ValueError("the caption is empty; give one in quotes, e.g. \"a small red circle moves slowly up in the "
                         "desert\"")
    strengths = {}
    for text in args.concept:
        name, phi = parse_concept(text)
        if name in strengths:
            raise ValueError(f"--concept {name} is given twice; give each concept once")
        strengths[name] = phi
    phis = parse_numbers(args.sweep, "--sweep") if args.sweep is not None else None
    window = parse_window(args.window) if args.window is not None else None
    toy_generator = _is_shipped_toy(args.generator, "generator")
    # files and names first (cheap), models afterwards
    if args.concepts:
        concepts_file = _existing_file(args.concepts, "concepts")
    elif toy_generator:
        concepts_file = _data_file(TOY_CONCEPTS)
    else:
        raise ValueError("--concepts FILE is needed for generators other than the toy world's "
                         "(train one with `l2vkit concepts`)")
    bank = ConceptBank.load(concepts_file)
    resolved = {}
    for name, phi in strengths.items():
        key = resolve_pair_name(name, bank.specs, f"--concept {name}: concept bank {concepts_file}")
        if key in resolved:
            raise ValueError(f"--concept {name} is given twice; give each concept once")
        resolved[key] = phi
        swap_word(bank.spec(key), caption)  # ValueError when the caption lacks the source word
    strengths = resolved
    use_vlm = args.vlm.lower() != "none"
    if args.coupling:
        coupling_file = _existing_file(args.coupling, "coupling")
        if not use_vlm:
            raise ValueError("--coupling needs a VLM to read the videos; drop --vlm none")
    elif use_vlm and toy_generator and _is_shipped_toy(args.vlm, "vlm"):
        coupling_file = _data_file(TOY_COUPLING)
    else:
        coupling_file = None  # no probabilities through Φ
    generator = load_generator(args.generator, "steer")
    bank.check_generator(generator)
    latent_frames = generator.latent_shape(generator.frames, generator.height, generator.width)[1]
    frame_mask = None if args.frames is None else parse_frames(args.frames, generator.frames, latent_frames)
    vlm = coupling = None
    if coupling_file is not None:
        from .coupling import load_coupling

        vlm = load_vlm(args.vlm)
        coupling = load_coupling(coupling_file, vlm=vlm, generator=generator)
    common = dict(concepts=bank, seed=args.seed, steps=args.steps, guidance=args.guidance, vlm=vlm,
                  coupling=coupling)
    first = next(iter(strengths))
    started = time.perf_counter()
    if phis is not None:
        others = {k: v for k, v in strengths.items() if k != first}
        result = steering.sweep(generator, caption, first, phis, others=others, window=window, frame_mask=frame_mask,
                                **common)
        parts = [result]
    else:
        result = steering.steer(generator, caption, strengths, window=window, frame_mask=frame_mask, **common)
        parts = [result]
        if any(strengths.values()):  # the unsteered video (same seed) beside it
            parts.insert(0, steering.steer(generator, caption, {k: 0.0 for k in strengths}, **common))
    seconds = round(time.perf_counter() - started, 1)
    settings = [s for part in parts for s in part.settings]
    videos = np.concatenate([part.videos for part in parts])
    probs = [p for part in parts for p in (part.probs or [None] * len(part.settings))]
    targets = [t for part in parts for t in (part.target_probability() or [None] * len(part.settings))]

    out = Path(args.out)
    toy_world = toy_generator
    spec = bank.spec(first)
    scale = max(1, 256 // min(generator.height, generator.width))
    rows = []
    for i, (setting, video, prob, target) in enumerate(zip(settings, videos, probs, targets)):
        path = write_video(out / "videos" / f"{_stem(i, setting)}.mp4", video, scale=scale)
        row = {"label": _label(setting), "setting": setting, "file": str(path), "probs": prob,
               "target_probability": None if target is None else round(float(target), 6)}
        if toy_world:
            from .toyworld import measure

            try:
                row["measured"] = measure(video).as_dict()
            except ValueError as err:
                row["measured"] = None
                row["measure_error"] = str(err)
        rows.append(row)
    joined = side_by_side(list(videos))
    sheet = {suffix: str(write_video(out / f"steer.{suffix}", joined, scale=scale)) for suffix in ("mp4", "gif")}
    record = {
        "caption": caption,
        "concepts": strengths,
        "sweep": None if phis is None else {"concept": first, "phis": phis},
        "seed": args.seed,
        "steps": result.steps,
        "guidance": generator.guidance if args.guidance is None else args.guidance,
        "window": None if result.window is None else list(result.window),
        "frames": None if frame_mask is None else [i for i, on in enumerate(frame_mask) if on],
        "latent_frame_mask": result.frame_mask,
        "generator": canonical_model_id(generator.model_id),
        "vlm": None if vlm is None else canonical_model_id(vlm.model_id),
        "concepts_file": str(concepts_file),
        "coupling_file": None if coupling_file is None else str(coupling_file),
        "words": [spec.source, spec.target],
        "slot": spec.slot,
        "videos": rows,
        "side_by_side": sheet,
        "seconds": seconds,
        "provenance": {**result.provenance, "command": "l2vkit steer"},
    }
    json_path = write_json(out / "steer.json", record)

    p_head = f"P({spec.target} | {spec.source}/{spec.target})"
    print(f"{'setting':34s} {p_head:>24s}  measured {spec.slot if toy_world else ''}".rstrip())
    for row in rows:
        p = "—" if row["target_probability"] is None else f"{row['target_probability']:.3f}"
        measured = ""
        if toy_world:
            measured = row["measured"][spec.slot] if row["measured"] else "(no object found)"
        print(f"{row['label']:34s} {p:>24s}  {measured}".rstrip())
    print(f"wrote {sheet['mp4']}, {sheet['gif']}, {json_path} and {len(rows)} videos in {out / 'videos'}/ "
          f"({seconds} s)")
    return 0
