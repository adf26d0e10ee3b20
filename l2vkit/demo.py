"""`l2vkit demo`: the main job, end to end on a preset's models (the toy world's by default).

Load the VLM and the generator, load (or fit, with ``fresh``) the coupling Φ, load (or train) the concept bank,
run φ-sweeps for an attribute, an adverb and a scene pair and one composition over several seeds, score them
(ground truth from pixels, the VLM's probabilities read through Φ, caption metrics of the VLM's captions), and
write videos, figures, ``metrics.json`` and a self-contained ``report.html`` under ``OUT/demo``.
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np

from .io import write_json
from .provenance import provenance

PHIS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: The demo's sweeps: name → the pairs steered together (each at the same φ).
SWEEPS = {
    "attribute": ("red->blue",),
    "adverb": ("slowly->quickly",),
    "scene": ("desert->snow",),
    "composition": ("red->blue", "desert->snow"),
}


def run_sweep(name: str, pairs, *, generator, vlm, coupling, concepts, seeds: int, preset, first_seed: int = 0,
              phis=PHIS, captions: list | None = None) -> dict:
    """Sweep ``pairs`` jointly over ``phis`` for ``seeds`` captions (the preset's, or from ``captions``: those holding
    every pair's source word, in turn), seeds from ``first_seed``; measure with the preset's ground truth where it
    has one, and score the VLM's reading through Φ and its captions."""
    from .concepts import swap_word
    from .metrics import caption_metrics, monotonicity
    from .steering import sweep

    specs = [concepts.spec(p) for p in pairs]
    usable = None if captions is None else captions_for(specs, captions)
    runs, texts, targets = [], [], []
    for s in range(first_seed, first_seed + seeds):
        text = preset.demo_caption(specs, s) if usable is None else usable[(s - first_seed) % len(usable)]
        target = text
        for spec in specs:
            target = swap_word(spec, target)
        runs.append(sweep(generator, text, list(pairs), phis, concepts=concepts, seed=s, vlm=vlm, coupling=coupling))
        texts.append(text)
        targets.append(target)
    per_pair = {spec.name: {"slot": spec.slot, "target": spec.target, "flip_rate": None} for spec in specs}
    all_changed = preserved = None
    if preset.measure is not None:  # ground truth: only presets that can measure their videos have it
        all_changed, preserved = _ground_truth(runs, specs, preset.measure, per_pair)
    probs = np.array([r.target_probability() for r in runs])  # seeds × φ, first pair's target word through Φ
    monotone, _ = monotonicity(phis, probs)
    hyps_end = vlm.caption(np.stack([r.videos[-1] for r in runs]))
    hyps_start = vlm.caption(np.stack([r.videos[0] for r in runs]))
    with warnings.catch_warnings():  # with one seed CIDEr-D is 0 by construction; the metrics JSON says seeds
        warnings.filterwarnings("ignore", message="CIDEr-D of a single caption")
        metrics_end = _rounded(caption_metrics(hyps_end, [[t] for t in targets]))
        metrics_start = _rounded(caption_metrics(hyps_start, [[t] for t in targets]))
    return {
        "name": name, "pairs": list(pairs), "seeds": seeds, "phis": list(phis), "captions": texts,
        "per_pair": per_pair, "all_changed_rate": all_changed, "preservation_rate": preserved,
        "target_probability": probs.mean(0).round(4).tolist(),
        "monotonicity_target_probability": round(monotone, 3),
        "caption_metrics": {
            "phi=1 vs target caption": metrics_end,
            "phi=0 vs target caption": metrics_start,
        },
        "vlm_captions_phi1": hyps_end,
        "_runs": runs,
    }


def _ground_truth(runs, specs, measure, per_pair: dict):
    """Flip rates per pair (into ``per_pair``), and the rates of all pairs changed and of the rest kept, over φ."""
    measured = [r.measure(measure) for r in runs]  # seeds × φ dicts; None: nothing found (counts as wrong)
    for spec in specs:
        changed = np.array([[m is not None and m[spec.slot] == spec.target for m in row] for row in measured])
        per_pair[spec.name]["flip_rate"] = changed.mean(0).round(3).tolist()
    edited = {spec.slot for spec in specs}
    kept = np.array([[m is not None and row[0] is not None and all(m[f] == row[0][f] for f in m if f not in edited)
                      for m in row] for row in measured])
    all_flipped = np.array([[m is not None and all(m[sp.slot] == sp.target for sp in specs) for m in row]
                            for row in measured])
    return all_flipped.mean(0).round(3).tolist(), kept.mean(0).round(3).tolist()


def captions_for(specs, captions: list) -> list:
    """The captions holding every spec's source word (as a word), in order; a clear error when there are none."""
    import re

    usable = [c for c in captions
              if all(re.search(rf"\b{re.escape(spec.source)}\b", c, re.IGNORECASE) for spec in specs)]
    if not usable:
        words = " and ".join(repr(spec.source) for spec in specs)
        raise ValueError(f"none of the {len(captions)} captions holds {words} ({', '.join(sp.name for sp in specs)}); "
                         "add captions with the source words to the captions file")
    return usable


def sweeps_for(concepts) -> dict:
    """Sweeps for a bank of one's own: each of its first three pairs alone, and its first two pairs of different
    slots together."""
    names = list(concepts.pairs)
    sweeps = {name: (name,) for name in names[:3]}
    for i, a in enumerate(names):
        other = next((b for b in names[i + 1:] if concepts.spec(b).slot != concepts.spec(a).slot), None)
        if other:
            sweeps["composition"] = (a, other)
            break
    return sweeps


def _rounded(metrics: dict) -> dict:
    return {k: round(float(v), 4) for k, v in metrics.items() if isinstance(v, (int, float, np.floating))}


def _write_sweep_files(out: Path, sweep: dict, write_videos: bool) -> dict:
    from .plots import curves_over_phi, sweep_grid
    from .video import save_figure, side_by_side, write_video

    folder = out / "sweeps" / sweep["name"]
    first = sweep["_runs"][0]
    by_phi = dict(zip(sweep["phis"], first.videos))
    files = {}
    fig, _ = sweep_grid(by_phi, title=f"{sweep['name']}: {' + '.join(sweep['pairs'])} — {first.caption}")
    files["grid"] = str(save_figure(fig, folder / "sweep_grid_seed0.png"))
    curves = {f"flip rate {n}": v["flip_rate"] for n, v in sweep["per_pair"].items() if v["flip_rate"] is not None}
    if sweep["preservation_rate"] is not None:
        curves["preservation rate"] = sweep["preservation_rate"]
    curves[f"P({sweep['per_pair'][sweep['pairs'][0]]['target']}) through Φ"] = sweep["target_probability"]
    fig, _ = curves_over_phi(sweep["phis"], curves, ylabel="share of seeds / probability",
                             title=f"{sweep['name']} over φ ({sweep['seeds']} seeds)")
    files["curves"] = str(save_figure(fig, folder / "curves.png"))
    if write_videos:
        trio = side_by_side([by_phi[0.0], by_phi[0.5], by_phi[1.0]])
        files["videos"] = [str(write_video(folder / "source_phi0.5_phi1_seed0.mp4", trio)),
                           str(write_video(folder / "source_phi0.5_phi1_seed0.gif", trio))]
    return files


def readme_animation(sweeps: list[dict], path) -> Path:
    """One small GIF: a row per single-pair sweep (seed 0), columns source (φ = 0), φ = 0.5, φ = 1."""
    from .video import side_by_side, write_video

    rows = []
    for s in sweeps:
        if len(s["pairs"]) == 1:
            by_phi = dict(zip(s["phis"], s["_runs"][0].videos))
            rows.append(side_by_side([by_phi[0.0], by_phi[0.5], by_phi[1.0]]))
    gap = np.full((rows[0].shape[0], 1, rows[0].shape[2], 3), 255, np.uint8)
    stacked = np.concatenate([x for r in rows for x in (r, gap)][:-1], axis=1)
    return write_video(path, stacked, scale=3)


def demo_preset(vlm_id: str, generator_id: str):
    """The preset both models belong to; the demo scores with its ground truth, so other models are refused."""
    from .presets import preset_for

    preset = preset_for(vlm=vlm_id, generator=generator_id)
    missing = [field for field in ("measure", "demo_caption", "coupling_file", "concepts_file")
               if getattr(preset, field) is None]
    if missing:
        raise ValueError(f"the demo needs models of a preset with ground truth (e.g. --vlm toy --generator toy); "
                         f"{vlm_id} + {generator_id} have no {', '.join(missing)}. For your own models fit a coupling "
                         "with `l2vkit fit`, train concepts with `l2vkit concepts` and steer with `l2vkit steer`")
    return preset


def own_preset(vlm_id: str, generator_id: str, coupling_path, concepts_path, captions, fresh: bool):
    """The preset of models run with a coupling, concepts and captions of one's own; what is missing is named."""
    from .presets import preset_for

    if fresh:
        raise ValueError("--fresh refits the preset's own coupling and concepts; leave it out with --coupling, "
                         "--concepts and --captions")
    preset = preset_for(vlm=vlm_id, generator=generator_id)
    missing = [flag for flag, given, default in (
        ("--coupling", coupling_path, preset.coupling_file), ("--concepts", concepts_path, preset.concepts_file),
        ("--captions", captions, preset.demo_caption)) if given is None and default is None]
    if missing:
        raise ValueError(f"{vlm_id} + {generator_id} have no preset coupling, concepts or captions: give "
                         f"{', '.join(missing)}")
    return preset


def _last(values):
    return None if values is None else values[-1]


def load_models(vlm_id: str, generator_id: str, *, text_len: int | None = None):
    """The VLM and the generator (with captions encoded to ``text_len`` tokens when given)."""
    from .generator import VideoGenerator
    from .quiet import quiet_loading
    from .vlm import VideoVLM

    with quiet_loading():
        extra = {} if text_len is None else {"text_len": text_len}
        return VideoVLM.from_pretrained(vlm_id), VideoGenerator.from_pretrained(generator_id, **extra)


def load_artifacts(vlm, generator, *, preset, fresh: bool, out: Path, progress: bool):
    """The coupling and concept bank: the preset's shipped ones, or fitted and trained from scratch with ``fresh``."""
    from .concepts import ConceptBank
    from .coupling import load_coupling

    timings = {}
    if not fresh:
        return (load_coupling(preset.coupling_file(), vlm=vlm, generator=generator),
                ConceptBank.load(preset.concepts_file(), generator=generator), timings)
    if preset.fit_coupling is None or preset.train_concepts is None:
        raise ValueError(f"preset {preset.name!r} cannot fit its coupling and concepts from scratch (--fresh); fit "
                         "with `l2vkit fit` and `l2vkit concepts` instead")
    t0 = time.perf_counter()
    coupling_path = out / "fresh" / "coupling.safetensors"
    coupling, _ = preset.fit_coupling(coupling_path, cache=out / "fresh" / "cache", progress=progress)
    timings["fit_coupling_s"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    concepts = preset.train_concepts(out / "fresh" / "concepts.safetensors", progress=progress,
                                     coupling_path=coupling_path)
    timings["train_concepts_s"] = round(time.perf_counter() - t0, 1)
    return coupling, concepts, timings


def run_demo(out_dir="outputs", *, seed: int = 0, seeds: int = 8, fresh: bool = False, vlm_id: str = "toy",
             generator_id: str = "toy", write_videos: bool = True, progress: bool = True, coupling_path=None,
             concepts_path=None, captions: list | None = None, video: dict | None = None) -> dict:
    """Run the demo and write its files under ``out_dir/demo``; returns the summary (also ``metrics.json``).

    With ``coupling_path``, ``concepts_path`` and ``captions`` (a list of captions) it runs on models of your own:
    sweeps of the bank's pairs on captions holding their source words, scored by the VLM's reading through Φ and its
    captions; ground truth (flip and kept rates) only where the models' preset can measure videos. ``video``:
    generator settings (frames, height, width, steps, guidance) for ``VideoGenerator.configure``.
    """
    from tqdm.auto import tqdm

    from .report import write_report

    started = time.perf_counter()
    out = Path(out_dir) / "demo"
    out.mkdir(parents=True, exist_ok=True)  # fail on an unusable folder before loading anything
    own = coupling_path is not None or concepts_path is not None or captions is not None
    preset = own_preset(vlm_id, generator_id, coupling_path, concepts_path, captions, fresh) if own else \
        demo_preset(vlm_id, generator_id)  # before loading anything: other models cannot be scored
    video = dict(video or {})
    vlm, generator = load_models(vlm_id, generator_id, text_len=video.pop("text_len", None))
    if video:
        generator.configure(**video)
    if own:
        from .concepts import ConceptBank
        from .coupling import load_coupling

        coupling = load_coupling(coupling_path or preset.coupling_file(), vlm=vlm, generator=generator)
        concepts = ConceptBank.load(concepts_path or preset.concepts_file(), generator=generator)
        timings = {}
    else:
        coupling, concepts, timings = load_artifacts(vlm, generator, preset=preset, fresh=fresh, out=out,
                                                     progress=progress)
    loaded = time.perf_counter()
    plan = SWEEPS if preset.measure is not None and all(p in concepts.pairs for ps in SWEEPS.values() for p in ps) \
        else sweeps_for(concepts)
    sweeps = []
    for name, pairs in tqdm(plan.items(), desc="demo sweeps", disable=not progress):
        sweeps.append(run_sweep(name, pairs, generator=generator, vlm=vlm, coupling=coupling, concepts=concepts,
                                seeds=seeds, preset=preset, first_seed=seed, captions=captions))
    files = {s["name"]: _write_sweep_files(out, s, write_videos) for s in sweeps}
    animation = readme_animation(sweeps, out / "sweep_source_phi0.5_phi1.gif") if write_videos else None
    table = [{"sweep": s["name"], "pairs": " + ".join(s["pairs"]),
              "flip_rate_phi1": {n: _last(v["flip_rate"]) for n, v in s["per_pair"].items()},
              "all_changed_phi1": _last(s["all_changed_rate"]), "preserved_phi1": _last(s["preservation_rate"]),
              "target_prob_phi0": s["target_probability"][0], "target_prob_phi1": s["target_probability"][-1],
              "monotonicity": s["monotonicity_target_probability"],
              "bleu4_phi1": s["caption_metrics"]["phi=1 vs target caption"].get("BLEU-4"),
              "cider_phi1": s["caption_metrics"]["phi=1 vs target caption"].get("CIDEr-D")}
             for s in sweeps]
    summary = {
        "table": table,
        "sweeps": [{k: v for k, v in s.items() if not k.startswith("_")} for s in sweeps],
        "files": files, "animation": None if animation is None else str(animation),
        "timings": {**timings, "load_s": round(loaded - started, 1)},
        "provenance": provenance(command="l2vkit demo", seeds=list(range(seed, seed + seeds)), phis=list(PHIS),
                                 vlm=coupling.meta.get("vlm"), generator=coupling.meta.get("generator"),
                                 coupling_created=coupling.meta.get("created"),
                                 concepts_created=concepts.meta.get("created")),
    }
    summary["timings"]["sweeps_s"] = round(time.perf_counter() - loaded, 1)
    write_json(out / "metrics.json", summary)
    report = write_report(out, title="l2vkit demo")
    summary["report"] = str(report)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    summary["timings"]["total_s"] = summary["seconds"]
    write_json(out / "metrics.json", summary)
    return summary
