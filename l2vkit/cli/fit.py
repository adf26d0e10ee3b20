"""`l2vkit fit`: fit the coupling Φ — on a preset's own videos (the toy world's), or on a folder of videos with
captions."""
from __future__ import annotations

import time
from pathlib import Path

from .common import (EXIT_CODES, add_video_options, forget_checkpoint, one_line_warnings, open_generator, open_vlm,
                     positive, safetensors_out, video_settings)


def add_parser(sub) -> None:
    fit = sub.add_parser(
        "fit", help="fit the coupling Φ (generator latents → VLM visual tokens)", epilog=EXIT_CODES,
        description="Fit the coupling Φ that lets the VLM read the generator's latents: the global branch, the local "
                    "branch and the ρ-OT merge, in that order. With the toy world's models (the default) the "
                    "training videos are drawn from the toy world and a held-out set is scored; with other models "
                    "give --data, a folder of video files (.mp4, .webm, .mkv, .mov, .avi; any size, rate and codec "
                    "PyAV decodes) plus a captions.json. A resumable "
                    "state is saved beside OUT while fitting: rerun the same command after an interruption.")
    fit.add_argument("--vlm", default="toy", help="VLM: 'toy' or a Hugging Face id / local folder (default: toy)")
    fit.add_argument("--generator", default="toy",
                     help="generator: 'toy' or a diffusers id / local folder (default: toy)")
    fit.add_argument("--data", metavar="FOLDER", default=None,
                     help="folder of video files (.mp4, .webm, .mkv, .mov, .avi; conformed to the generator's "
                          "frames, rate and size) and a captions.json mapping each file name to its caption; "
                          "required for models other than the toy world's")
    fit.add_argument("--out", metavar="FILE", default="outputs/coupling.safetensors",
                     help="coupling file to write (.safetensors, with a readable .json beside it; "
                          "default: outputs/coupling.safetensors)")
    fit.add_argument("--videos", type=int, default=None, metavar="N",
                     help="training videos: toy world, how many to draw (default: 3000, ~10+ min on a CPU); "
                          "with --data, use only the first N files (default: all)")
    fit.add_argument("--eval-videos", type=int, default=None, metavar="N",
                     help="toy world only: held-out videos the fitted Φ is scored on (default: 300)")
    fit.add_argument("--steps-global", type=int, default=None, metavar="N",
                     help="training steps of the global branch Φ_Ω1 (default: 2000; 0 skips the stage)")
    fit.add_argument("--steps-local", type=int, default=None, metavar="N",
                     help="training steps of the local branch Φ_Ω2 (default: 600; 0 skips the stage)")
    fit.add_argument("--steps-rho", type=int, default=None, metavar="N",
                     help="training steps of the ρ-OT merge (default: 200; 0 skips the stage)")
    fit.add_argument("--seed", type=int, default=0, metavar="N", help="seed for the data and the fit (default: 0)")
    fit.add_argument("--cache", metavar="DIR", default="outputs/cache",
                     help="toy world only: folder for the cached coupling data, reused by a rerun "
                          "(default: outputs/cache)")
    fit.add_argument("--table", action="store_true",
                     help="toy world only: print the full ablation table (refits ρ-OT for P=50 and 200; slower)")
    fit.add_argument("--phi-width", type=int, default=None, metavar="N",
                     help="with --data: Φ's channel width (default: 512, as python -m l2vkit.coupling.plan plans)")
    fit.add_argument("--mixer-depth", type=int, default=None, metavar="N",
                     help="with --data: Φ_Ω1's mixer blocks (default: 24, the paper's)")
    fit.add_argument("--local-depth", type=int, default=None, metavar="N",
                     help="with --data: Φ_Ω2's transformer layers (default: 12, the paper's)")
    fit.add_argument("--batch-size", type=int, default=None, metavar="N",
                     help="with --data: samples per training step (default: 8; the ρ-OT stage takes half)")
    fit.add_argument("--quiet", action="store_true", help="no progress bars")
    add_video_options(fit, sampling=False)
    fit.set_defaults(func=run)


def run(args) -> int:
    """`l2vkit fit`: fit the coupling Φ — on the toy world's own videos, or on a folder of videos with captions."""
    with one_line_warnings("fit"):
        return fit(args)


def fit(args) -> int:
    from ..presets import preset_for
    from ..quiet import quiet_loading

    positive(args.videos, "--videos")
    positive(args.eval_videos, "--eval-videos")
    for value, flag in ((args.phi_width, "--phi-width"), (args.mixer_depth, "--mixer-depth"),
                        (args.local_depth, "--local-depth"), (args.batch_size, "--batch-size")):
        positive(value, flag)
    steps = {}
    for stage, value in (("global", args.steps_global), ("local", args.steps_local), ("rho", args.steps_rho)):
        if positive(value, f"--steps-{stage}", zero=True) is not None:
            steps[stage] = value
    out = safetensors_out(args.out)
    progress = not args.quiet
    preset = preset_for(vlm=args.vlm, generator=args.generator)
    if args.data is None:
        if preset.fit_coupling is None:
            raise ValueError("--data FOLDER is needed to fit a coupling for models other than a preset's such as the "
                             "toy world's (a folder of video files with a captions.json)")
        with quiet_loading():
            preset.fit_coupling(out, videos=args.videos or 3000, eval_videos=args.eval_videos or 300,
                                seed=args.seed, cache=args.cache, steps=steps or None, table=args.table,
                                progress=progress)
        forget_checkpoint(out.with_name(out.stem + ".train_state.pt"))
        return 0
    if args.table or args.eval_videos is not None:
        raise ValueError("--table and --eval-videos use the toy world's held-out videos; leave them out with --data")
    files, captions = video_folder(Path(args.data), args.videos)
    vlm = open_vlm(args.vlm)
    generator = open_generator(args.generator, "fit", **video_settings(args))
    videos = read_videos(files, generator)
    from ..coupling import build_coupling_data, fit_coupling

    started = time.perf_counter()
    # shard by shard on disk beside the output (a rerun resumes it), read row by row while fitting
    store = out.with_name(out.stem + ".data")
    data = build_coupling_data(vlm, generator, videos, captions, seed=args.seed, progress=progress, out=store)
    data.meta["videos_folder"] = str(Path(args.data).resolve())
    built = time.perf_counter()
    checkpoint = out.with_name(out.stem + ".train_state.pt")
    from ..coupling.plan import REAL_BATCHES, REAL_SIZES

    sizes = {**REAL_SIZES, **{key: value for key, value in (("width", args.phi_width), ("mixer_depth", args.mixer_depth),
                                                            ("local_depth", args.local_depth)) if value}}
    batch = args.batch_size or REAL_BATCHES["batch_size"]
    result = fit_coupling(vlm, generator, data, steps=steps or None, seed=args.seed, checkpoint=checkpoint,
                          progress=progress, batch_size=batch, rho_batch_size=max(1, batch // 2), **sizes)
    result.meta["data_seconds"] = round(built - started, 1)
    saved = result.save(out)
    forget_checkpoint(checkpoint)
    last = {}
    for row in result.history:
        last[row["stage"]] = {k: v for k, v in row.items() if k not in ("stage", "step")}
    losses = "; ".join(f"{stage} " + ", ".join(f"{k} {v:.4g}" for k, v in values.items())
                       for stage, values in last.items())
    print(f"final losses: {losses}" if losses else "no training steps run")
    print(f"wrote {saved} ({len(videos)} videos, {len(data)} samples; data {result.meta['data_seconds']} s, "
          f"fit {result.meta['fit_seconds']} s)")
    return 0


def video_folder(folder: Path, limit: int | None):
    """The video files of ``folder`` (:data:`l2vkit.video.VIDEO_SUFFIXES`; sorted, at most ``limit``) and their
    captions from ``folder/captions.json``."""
    from ..io import read_json
    from ..video import VIDEO_SUFFIXES

    if not folder.is_dir():
        raise FileNotFoundError(f"--data folder {folder} does not exist")
    index = folder / "captions.json"
    if not index.is_file():
        raise FileNotFoundError(f"{index} does not exist; write one mapping each video's file name to its caption, "
                                'e.g. {"clip1.mp4": "a red car drives left"}')
    captions = read_json(index)
    if not isinstance(captions, dict) or not all(isinstance(c, str) and c.strip() for c in captions.values()):
        raise ValueError(f'{index} must map file names to non-empty captions, e.g. {{"clip1.mp4": "a red car"}}')
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"--data folder {folder} has no video files ({', '.join(VIDEO_SUFFIXES)})")
    missing = [p.name for p in files if p.name not in captions]
    if missing:
        raise ValueError(f"{index} has no caption for {len(missing)} video(s): {', '.join(missing[:5])}"
                         + ("…" if len(missing) > 5 else ""))
    unknown = sorted(set(captions) - {p.name for p in files})
    if unknown:
        raise ValueError(f"{index} names {len(unknown)} file(s) that are not video files in {folder}: "
                         f"{', '.join(unknown[:5])}" + ("…" if len(unknown) > 5 else ""))
    files = files[:limit] if limit else files
    return files, [captions[p.name] for p in files]


def read_videos(files, generator):
    """Decode every video and bring it to the generator's size (:func:`l2vkit.video.conform_video`: its frame rate
    when the file and the generator declare one, then resize and centre-crop); one line says what was changed."""
    import sys

    import numpy as np

    from ..video import conform_video, read_video, video_fps

    want = (generator.frames, generator.height, generator.width)
    videos, changed = [], 0
    for path in files:
        video = read_video(path)
        rate = video_fps(path)
        videos.append(conform_video(video, frames=want[0], height=want[1], width=want[2], fps=rate,
                                    target_fps=generator.fps, name=str(path)))
        changed += video.shape[:3] != want or bool(rate and generator.fps and rate != generator.fps)
    if changed:
        rate = f" at {generator.fps:g} fps" if generator.fps else ""
        print(f"l2vkit fit: note: {changed} of {len(files)} videos conformed to {want[0]} frames{rate}, "
              f"{want[1]}×{want[2]} (resized to cover, centre-cropped)", file=sys.stderr)
    return np.stack(videos)
