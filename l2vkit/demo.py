"""`l2vkit demo`: the main job on the toy world.

First version (foundation): for every shipped contrast pair, render the source and target videos from the same
seed, measure both from pixels, and write side-by-side videos, a contact sheet and a JSON summary.
"""
from __future__ import annotations

import time
from pathlib import Path

from .io import write_json
from .provenance import provenance


def _file_stem(pair_name: str) -> str:
    return pair_name.replace("->", "_to_")


def pair_gallery(seed: int = 0, *, frames: int = 9, size: int = 32) -> list[dict]:
    """Render and measure the source and target video of every shipped pair; one record per pair."""
    from . import toyworld as tw

    records = []
    for i, pair in enumerate(tw.contrast_pairs()):
        base = tw.random_attributes(seed * 1000 + i).replace(**{pair.slot: pair.source})
        target = base.replace(**{pair.slot: pair.target})
        videos = {side: tw.render(attrs, seed=seed * 1000 + i, frames=frames, size=size)
                  for side, attrs in (("source", base), ("target", target))}
        measured = {side: tw.measure(video) for side, video in videos.items()}
        records.append({
            "pair": pair.name,
            "family": pair.family,
            "slot": pair.slot,
            "captions": {"source": tw.caption(base), "target": tw.caption(target)},
            "attributes": {"source": base.as_dict(), "target": target.as_dict()},
            "measured": {side: m.as_dict() for side, m in measured.items()},
            "measured_correct": measured["source"] == base and measured["target"] == target,
            "videos": videos,
        })
    return records


def run_demo(out_dir="outputs", *, seed: int = 0, write_videos: bool = True, progress: bool = True) -> dict:
    """Run the demo and write its files under ``out_dir/demo``; returns the JSON summary (also written)."""
    from tqdm.auto import tqdm

    from .video import contact_sheet, side_by_side, write_video

    started = time.perf_counter()
    out = Path(out_dir) / "demo"
    records = pair_gallery(seed)
    joined = {r["pair"]: side_by_side([r["videos"]["source"], r["videos"]["target"]]) for r in records}
    files = {}
    if write_videos:
        for name, video in tqdm(joined.items(), desc="writing videos", disable=not progress):
            stem = _file_stem(name)
            files[name] = [str(write_video(out / "videos" / f"{stem}.mp4", video)),
                           str(write_video(out / "videos" / f"{stem}.gif", video))]
    sheet = out / "contact_sheet.png"
    contact_sheet({f"{name}\n(source | target)": v for name, v in joined.items()}, sheet, frames=[0, 2, 4, 6, 8],
                  title="Toy world: every contrast pair, source | target, frames 0–8")
    summary = {
        "provenance": provenance(command="l2vkit demo", seed=seed, frames=9, size=32),
        "pairs": [{k: v for k, v in r.items() if k != "videos"} | {"files": files.get(r["pair"], [])}
                  for r in records],
        "measured_correct": sum(r["measured_correct"] for r in records),
        "pair_count": len(records),
        "contact_sheet": str(sheet),
        "seconds": round(time.perf_counter() - started, 2),
    }
    write_json(out / "summary.json", summary)
    return summary
