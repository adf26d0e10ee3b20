"""The coupling Φ: generator latents (with their condition) → the VLM's visual-token space (docs/method.md).

``build_coupling_data`` makes training pairs, ``fit_coupling`` fits Φ_Ω1, Φ_Ω2 and ρ-OT and returns a
``CouplingResult`` (read, token_probs, save, load; in ``result``); ``ot_plans`` and ``transport`` hold the OT solvers;
``variants`` the ablation's variants of a fitted Φ; ``mixers`` Φ_Ω1's architectures; ``store`` coupling data on disk
(``open_coupling_data``); ``share`` Φ for a VLM with the same vision tower (``share_coupling``); ``plan`` Φ's size and
training memory at real sizes. Importing this package does not import torch.
"""
from __future__ import annotations

__all__ = ["CouplingConfig", "CouplingData", "CouplingResult", "build_coupling_data", "fit_coupling",
           "load_coupling", "open_coupling_data", "share_coupling"]

_LAZY = {
    "CouplingConfig": ".networks",
    "CouplingData": ".data",
    "build_coupling_data": ".data",
    "CouplingResult": ".result",
    "fit_coupling": ".fit",
    "open_coupling_data": ".data",
    "share_coupling": ".share",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    from .._deprecated import moved_attribute

    return moved_attribute(__name__, name)


def load_coupling(path, *, vlm=None, generator=None, device=None, revision=None):
    """Load a saved :class:`CouplingResult` — a ``.safetensors`` file, a folder written by ``save_pretrained`` or
    a Hub repository id (at ``revision``) — checked against ``vlm`` / ``generator`` when given."""
    from .result import CouplingResult

    return CouplingResult.from_pretrained(path, vlm=vlm, generator=generator, device=device, revision=revision)
