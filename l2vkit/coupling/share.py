"""Sharing a fitted Φ with a VLM that has the same vision tower (e.g. one fine-tuned with its vision tower frozen).

Φ maps generator latents to the VLM's *visual tokens*. When a second VLM encodes every video to the same tokens, Φ
fitted for the first is Φ for the second too: refitting it on the same data and seed would give the same map. What
changes is which VLM reads the tokens, so the coupling is re-labelled for the new VLM, after a check.
"""
from __future__ import annotations

import dataclasses


def vision_token_difference(vlm, reference_vlm, videos) -> float:
    """The largest absolute difference between the two VLMs' visual tokens for ``videos`` (B, T, H, W, 3)."""
    import torch

    with torch.no_grad():
        mine = vlm.encode_inputs(vlm.pixel_inputs(videos)).float()
        theirs = reference_vlm.encode_inputs(reference_vlm.pixel_inputs(videos)).float()
    if mine.shape != theirs.shape:
        raise ValueError(f"the two VLMs give visual tokens of shapes {tuple(mine.shape)} and {tuple(theirs.shape)}; "
                         "a coupling cannot be shared between them")
    return float((mine - theirs).abs().max())


def share_coupling(coupling, vlm, *, reference_vlm, videos, atol: float = 0.0):
    """``coupling`` (fitted for ``reference_vlm``) re-labelled for ``vlm``, after checking that both VLMs encode
    ``videos`` to the same visual tokens (within ``atol``). The result records where it came from and the check.

    Raises ``ValueError`` naming the difference when the vision towers differ: fit a coupling for ``vlm`` then.
    """
    from ..provenance import vlm_identity

    coupling.check_models(vlm=reference_vlm)
    difference = vision_token_difference(vlm, reference_vlm, videos)
    if not difference <= atol:
        raise ValueError(f"{vlm.model_id} encodes videos to other visual tokens than {reference_vlm.model_id} "
                         f"(largest difference {difference:.3g} > atol {atol}); Φ cannot be shared: fit a coupling "
                         "for it (`l2vkit fit`)")
    shared = {"vlm": coupling.meta.get("vlm"), "largest_token_difference": difference, "videos": len(videos)}
    meta = {**coupling.meta, "vlm": vlm_identity(vlm), "shared_from": shared}
    return dataclasses.replace(coupling, meta=meta)
