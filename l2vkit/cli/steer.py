"""`l2vkit steer`: sample a caption steered by concept vectors; write the videos side by side, each video, and
``steer.json``."""
from __future__ import annotations

import math
import time
from pathlib import Path

from .common import (EXIT_CODES, add_video_options, default_file, existing_file, one_line_warnings, open_generator,
                     open_vlm, resolve_pair_name, video_settings)


def add_parser(sub) -> None:
    steer = sub.add_parser(
        "steer", help="sample a caption steered by concepts; write videos side by side and steer.json",
        epilog=EXIT_CODES,
        description="Sample CAPTION with the condition π⁻ + Σ φ·q of the given concepts and write, under OUT, "
                    "steer.mp4 and steer.gif (the videos side by side: the unsteered one from the same seed, then "
                    "the steered one; or one per φ of --sweep), each video in OUT/videos/, and steer.json "
                    "(settings, the VLM's probabilities of the first concept's words read through Φ, on the toy "
                    "world the attributes measured from the pixels, and provenance).")
    steer.add_argument("caption", metavar="CAPTION",
                       help="the caption to sample, in any word order; it must hold each concept's source word "
                            "once (or its target word, steered back by a negative φ or the reverse name), e.g. "
                            "\"a small red circle moves slowly up in the desert\"")
    steer.add_argument("--concept", action="append", required=True, metavar="NAME=PHI",
                       help="a concept and its strength φ: 'red->blue=1.0' (quoted: > is a shell redirect) or "
                            "red:blue=1.0; blue:red=1.0 steers back (the caption holds 'blue'); φ is 1 when left "
                            "out, φ outside the concept's measured strength range warns; repeat for several concepts")
    steer.add_argument("--sweep", metavar="PHIS", default=None,
                       help="comma-separated φ values for the first --concept, e.g. 0,0.5,1 (its own φ is then "
                            "ignored; other concepts keep theirs)")
    steer.add_argument("--seed", type=int, default=0, metavar="N",
                       help="noise seed, the same for every video (default: 0)")
    steer.add_argument("--steps", type=int, default=None, metavar="N",
                       help="sampling steps (default: the generator's own)")
    steer.add_argument("--guidance", type=float, default=None, metavar="SCALE",
                       help="classifier-free guidance scale (default: the generator's own)")
    steer.add_argument("--window", metavar="START,END", default=None,
                       help="steer only sampling steps i with START ≤ i/steps < END, fractions in [0, 1]; "
                            "0 is the first, noisiest step (e.g. 0,0.5 changes layout, 0.5,1 details; default: all)")
    steer.add_argument("--frames", metavar="FRAMES", default=None,
                       help="steer only these video frames: numbers and ranges counted from 0 (e.g. 0-4 or 0,2,6-8), "
                            "or a 0/1 mask with one digit per frame (e.g. 000011111); the others follow the "
                            "unsteered video (default: all frames)")
    steer.add_argument("--concepts", metavar="FILE", default=None,
                       help="concept bank from `l2vkit concepts` (default: the toy world's shipped one)")
    steer.add_argument("--network", metavar="FILE", default=None,
                       help="a concept network that gives the concepts the bank lacks, e.g. yellow->purple: a file "
                            "or folder saved from l2vkit.concepts.train_concept_network's result, or 'toy' for the "
                            "toy world's shipped one "
                            "(default: none, only the bank's concepts)")
    steer.add_argument("--coupling", metavar="FILE", default=None,
                       help="coupling Φ to read the videos' probabilities with (default: the toy world's shipped one "
                            "with the toy models; without it, for other models, no probabilities are read)")
    steer.add_argument("--vlm", default="toy",
                       help="VLM that reads the probabilities: 'toy', a Hugging Face id / local folder, or 'none' to "
                            "skip reading (default: toy)")
    steer.add_argument("--generator", default="toy",
                       help="generator: 'toy' or a diffusers id / local folder (default: toy)")
    steer.add_argument("--out", metavar="DIR", default="outputs/steer",
                       help="folder for the results (default: outputs/steer)")
    add_video_options(steer, sampling=False)
    steer.set_defaults(func=run)


def run(args) -> int:
    """`l2vkit steer`: sample a caption steered by concept vectors and write the videos, side by side, and JSON."""
    with one_line_warnings("steer"):
        return steer(args)


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
    from ..steering import PHI_MAX

    try:
        phi = float(text)
    except ValueError:
        raise ValueError(f"{where}: φ {text.strip()!r} is not a number") from None
    if not math.isfinite(phi) or abs(phi) > PHI_MAX:  # checked before any model loads
        raise ValueError(f"{where}: φ is {phi:g}; expected a finite number in [−{PHI_MAX:g}, {PHI_MAX:g}] (|φ| ≤ 2 "
                         "is where concepts act)")
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


def parse_frames(text: str, frames: int | None, latent_frames: int | None = None) -> list[bool] | None:
    """``--frames``: indices and ranges of video frames (``"0-4"``, ``"0,2,6-8"``) or a 0/1 mask with one digit per
    video (or latent) frame (``"000011111"``) → a boolean mask.

    >>> parse_frames("0-2,5", 9, 3)
    [True, True, True, False, False, True, False, False, False]
    >>> parse_frames("001", 9, 3)
    [False, False, True]

    With ``frames=None`` only the syntax is checked (before the model, and so the frame count, is known).
    """
    text = text.replace(" ", "")
    if set(text) <= {"0", "1"} and len(text) > 1:  # a 0/1 mask, never frame numbers with leading zeros
        if frames is None:
            return None
        if len(text) not in (frames, latent_frames):
            raise ValueError(f"--frames {text!r} reads as a 0/1 mask of {len(text)} digits; give {frames} (one per "
                             f"video frame) or {latent_frames} (one per latent frame), or frame numbers like 0-4")
        return [c == "1" for c in text]
    mask = [False] * (frames or 0)
    for part in text.split(","):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            if any(len(n) > 1 and n.startswith("0") for n in (lo, hi) if n):
                raise ValueError  # "007": a number with leading zeros is a typo or a mask, not a frame
            lo, hi = int(lo), int(hi) if sep else int(lo)
        except ValueError:
            raise ValueError(f"--frames {text!r}: expected frame numbers and ranges like 0-4,7 (counted from 0), "
                             "or a 0/1 mask with one digit per frame") from None
        if frames is None:
            if lo > hi:
                raise ValueError(f"--frames {text!r}: {part} runs backwards")
            continue
        if not 0 <= lo <= hi < frames:
            raise ValueError(f"--frames {text!r}: {part} is not a range of frames 0–{frames - 1} (the video has "
                             f"{frames} frames)")
        for i in range(lo, hi + 1):
            mask[i] = True
    if frames is None:
        return None
    if not any(mask):
        raise ValueError(f"--frames {text!r} selects no frame; steer at least one")
    return mask


def label(setting: dict) -> str:
    if not any(setting.values()):
        return "unsteered"
    return ", ".join(f"{name} φ={phi:g}" for name, phi in setting.items())


def stem(index: int, setting: dict) -> str:
    if not any(setting.values()):
        return f"{index:02d}_unsteered"
    parts = [f"{name.replace('->', '_to_')}_{phi:g}" for name, phi in setting.items()]
    return f"{index:02d}_" + "+".join(parts).replace("/", "_")


def _pair_or_reverse(name: str, bank, where: str, network=None) -> tuple[str, float]:
    """(the bank's pair, +1), or (the pair, −1) for its reverse name (``blue->red``, ``blue:red``: towards the source
    word, from a caption that holds the target word); else, with a concept ``network``, its pair of the two words."""
    source, sep, target = name.replace("->", ":").partition(":")
    try:
        return resolve_pair_name(name, bank.specs, where), 1.0
    except KeyError:
        if sep:
            for key, spec in bank.specs.items():
                if (spec.target, spec.source) == (source.strip(), target.strip()):
                    return key, -1.0
        if network is None or not sep:
            raise
    try:
        return network.pair(f"{source.strip().lower()}->{target.strip().lower()}").name, 1.0
    except KeyError as err:
        raise KeyError(f"{where} has no {name!r}, and the concept network cannot give it: {err.args[0]}") from None


def _spec(name: str, bank, network):
    return bank.spec(name) if name in bank else network.pair(name)


def _open_network(path):
    """The concept network of ``--network`` (``'toy'``: the shipped toy one), or ``None``."""
    if path is None:
        return None
    from ..concepts.network import ConceptNetwork
    from ..paths import data_path

    file = data_path("toy_concept_network.safetensors") if path == "toy" else existing_file(path, "concept network")
    network = ConceptNetwork.load(file)
    network.meta["file"] = str(file)
    return network


def steer(args) -> int:
    import numpy as np

    from .. import steering
    from ..presets import preset_for
    from ..concepts import ConceptBank
    from ..io import write_json
    from ..provenance import canonical_model_id
    from ..video import side_by_side, write_video

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
    if args.frames is not None:
        parse_frames(args.frames, None)  # the syntax now; the frame numbers once the model is known
    generator_preset = preset_for(generator=args.generator)
    # files and names first (cheap), models afterwards
    concepts_file = default_file(args.concepts, generator_preset.concepts_file, "--concepts", "concepts",
                                 "train one with `l2vkit concepts`")
    bank = ConceptBank.load(concepts_file)
    network = _open_network(args.network)
    resolved, signs, words = {}, {}, set()
    for name, phi in strengths.items():
        key, sign = _pair_or_reverse(name, bank, f"--concept {name}: concept bank {concepts_file}", network)
        spec = _spec(key, bank, network)
        if key in resolved or frozenset((spec.source, spec.target)) in words:
            raise ValueError(f"--concept {name} is given twice (or with its reverse); give each concept once")
        words.add(frozenset((spec.source, spec.target)))
        resolved[key], signs[key] = sign * phi, sign
        steering.held_word(_spec(key, bank, network), caption)  # ValueError unless the caption holds a pair word
    strengths = resolved
    use_vlm = args.vlm.lower() != "none"
    if args.coupling:
        coupling_file = existing_file(args.coupling, "coupling")
        if not use_vlm:
            raise ValueError("--coupling needs a VLM to read the videos; drop --vlm none")
    elif use_vlm:
        shipped = preset_for(generator=args.generator, vlm=args.vlm).coupling_file
        coupling_file = None if shipped is None else shipped()  # None: no probabilities through Φ
    else:
        coupling_file = None
    generator = open_generator(args.generator, "steer", **video_settings(args))
    bank.check_generator(generator)
    concepts = bank
    if network is not None:
        from ..concepts.resolve import ConceptsWithNetwork

        concepts = ConceptsWithNetwork(bank, network, generator)  # refuses a network for another generator
    latent_frames = generator.latent_shape(generator.frames, generator.height, generator.width)[1]
    frame_mask = None if args.frames is None else parse_frames(args.frames, generator.frames, latent_frames)
    vlm = coupling = None
    if coupling_file is not None:
        from ..coupling import load_coupling

        vlm = open_vlm(args.vlm)
        coupling = load_coupling(coupling_file, vlm=vlm, generator=generator)
    common = dict(concepts=concepts, seed=args.seed, steps=args.steps, guidance=args.guidance, vlm=vlm,
                  coupling=coupling)
    first = next(iter(strengths))
    started = time.perf_counter()
    if phis is not None:
        phis = [signs[first] * phi for phi in phis]  # a reverse name sweeps towards the source word
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
    on_pixels = [t for part in parts for t in (part.target_probability("pixels") or [None] * len(part.settings))]
    outside = [o for part in parts for o in (part.outside_range or [False] * len(part.settings))]

    out = Path(args.out)
    measure = generator_preset.measure  # ground truth from the pixels, where the preset has one
    spec = _spec(first, bank, network)
    held = steering.held_word(spec, caption)
    words = (spec.source, spec.target) if held == spec.source else (spec.target, spec.source)
    scale = max(1, 256 // min(generator.height, generator.width))
    rows = []
    for i, (setting, video, prob, target, pixel, off) in enumerate(zip(settings, videos, probs, targets, on_pixels,
                                                                        outside)):
        path = write_video(out / "videos" / f"{stem(i, setting)}.mp4", video, scale=scale)
        row = {"label": label(setting) + (" ⚠" if off else ""), "setting": setting, "file": str(path), "probs": prob,
               "target_probability": None if target is None else round(float(target), 6),
               "target_probability_pixels": None if pixel is None else round(float(pixel), 6),
               "outside_strength_range": bool(off)}
        if measure is not None:
            row["measured"] = measure(video)
            if row["measured"] is None:
                row["measure_error"] = "no object found in the video"
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
        "steered_frames": None if result.steered_frames is None else
        [i for i, on in enumerate(result.steered_frames) if on],
        "generator": canonical_model_id(generator.model_id),
        "vlm": None if vlm is None else canonical_model_id(vlm.model_id),
        "concepts_file": str(concepts_file),
        "network_file": None if network is None else network.meta.get("file"),
        "origins": {k: "bank" if k in bank else "network" for k in strengths},
        "coupling_file": None if coupling_file is None else str(coupling_file),
        "words": list(result.words) if result.words else list(words),  # (target, source) going back
        "slot": spec.slot,
        "videos": rows,
        "side_by_side": sheet,
        "seconds": seconds,
        "provenance": {**result.provenance, "command": "l2vkit steer"},
    }
    json_path = write_json(out / "steer.json", record)

    came, went = record["words"]  # (target, source) when steering back
    p_head = f"P({went} | {came}/{went}) via Φ / pixels"
    print(f"{'setting':34s} {p_head:>36s}  measured {spec.slot if measure else ''}".rstrip())
    for row in rows:
        p = "—" if row["target_probability"] is None else \
            f"{row['target_probability']:.3f} / {row['target_probability_pixels']:.3f}"
        measured = ""
        if measure is not None:
            measured = row["measured"][spec.slot] if row["measured"] else "(no object found)"
        print(f"{row['label']:34s} {p:>36s}  {measured}".rstrip())
    from_network = [k for k, origin in record["origins"].items() if origin == "network"]
    if from_network:
        print(f"{', '.join(from_network)}: from the concept network (the bank has no trained vector)")
    if any(outside):
        print("⚠: a φ outside its pair's measured strength range (the concept bank's strength_range)")
    print(f"wrote {sheet['mp4']}, {sheet['gif']}, {json_path} and {len(rows)} videos in {out / 'videos'}/ "
          f"({seconds} s)")
    return 0
