"""Aliases for names that moved (to the toy world, mostly), kept for one release with a DeprecationWarning.

The new home is imported by name only when an old name is used, so the layer rules still hold for the library's
own imports (``python -m l2vkit.dev.layers``).
"""
from __future__ import annotations

import importlib
import warnings

#: old dotted name → new dotted name
MOVED = {
    "l2vkit.concepts.toy_captions": "l2vkit.toyworld.toy_captions",
    "l2vkit.commands.fit": "l2vkit.cli.fit.run",
    "l2vkit.commands.concepts": "l2vkit.cli.concepts.run",
    "l2vkit.commands.steer": "l2vkit.cli.steer.run",
    "l2vkit.commands.load_generator": "l2vkit.cli.common.open_generator",
    "l2vkit.commands.load_vlm": "l2vkit.cli.common.open_vlm",
    "l2vkit.commands.resolve_pair_name": "l2vkit.cli.common.resolve_pair_name",
    "l2vkit.commands.one_line_warnings": "l2vkit.cli.common.one_line_warnings",
    "l2vkit.commands.parse_concept": "l2vkit.cli.steer.parse_concept",
    "l2vkit.commands.parse_phi": "l2vkit.cli.steer.parse_phi",
    "l2vkit.commands.parse_numbers": "l2vkit.cli.steer.parse_numbers",
    "l2vkit.commands.parse_window": "l2vkit.cli.steer.parse_window",
    "l2vkit.commands.parse_frames": "l2vkit.cli.steer.parse_frames",
    "l2vkit.pairs.FAMILIES": "l2vkit.toyworld.attributes.FAMILIES",
    "l2vkit.coupling.toy_coupling_data": "l2vkit.toyworld.toy_coupling_data",
    "l2vkit.metrics.ground_truth_scores": "l2vkit.toyworld.ground_truth.ground_truth_scores",
    "l2vkit.metrics.GroundTruthScores": "l2vkit.toyworld.ground_truth.GroundTruthScores",
    "l2vkit.metrics.fit_toy_alignment_map": "l2vkit.toyworld.alignment.fit_toy_alignment_map",
    "l2vkit.metrics.toy_alignment_encoders": "l2vkit.toyworld.alignment.toy_alignment_encoders",
}


def moved_attribute(module: str, name: str):
    """The object now at the new home of ``module.name``, with a DeprecationWarning; AttributeError if none."""
    new = MOVED.get(f"{module}.{name}")
    if new is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    warnings.warn(f"{module}.{name} moved to {new}; the old name will be removed in l2vkit 0.3", DeprecationWarning,
                  stacklevel=3)
    home, _, attribute = new.rpartition(".")
    return getattr(importlib.import_module(home), attribute)
