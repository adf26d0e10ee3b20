"""What a concept bank file must hold before l2vkit trusts it: a header of the right shape, every pair passing the
same validation as a pairs file, one finite floating-point vector per pair, all of one shape, and pairs and vectors
exactly as they were saved: a SHA-256 digest in the header binds them, so an edited word or vector is refused."""
from __future__ import annotations

import hashlib
import json


def digest(pairs: dict, vectors: dict) -> str:
    """SHA-256 binding the pairs (as the header stores them) to the vectors' dtypes, shapes and bytes."""
    import torch

    h = hashlib.sha256(json.dumps(pairs, sort_keys=True).encode())
    for name in sorted(vectors):
        v = vectors[name].detach().cpu().contiguous()
        h.update(f"{name}|{v.dtype}|{tuple(v.shape)}|".encode())
        h.update(v.view(-1).view(torch.uint8).numpy().tobytes() if v.numel() else b"")
    return h.hexdigest()


def checked_pairs(tensors: dict, header, where: str, *, verify_digest: bool = True) -> dict:
    """The bank's pairs by name, after every check (``ValueError`` naming ``where`` and the field otherwise);
    ``verify_digest=False`` skips only the digest, for a bank saved before it existed that you trust."""
    import torch

    from ..pairs import validate_pair

    if not isinstance(header, dict) or not isinstance(header.get("pairs"), dict) or not header["pairs"]:
        raise ValueError(f"{where}: the header has no 'pairs' mapping of pair name → pair; the file is damaged or "
                         "was edited — retrain with `l2vkit concepts`")
    if not isinstance(header.get("meta", {}), dict):
        raise ValueError(f"{where}: the header's 'meta' is not a mapping")
    specs, shape = {}, None
    for name, raw in header["pairs"].items():
        field = f"{where}: pair {name!r}"
        if not isinstance(raw, dict):
            raise ValueError(f"{field} is not a mapping")
        fields = {k: v for k, v in raw.items() if k != "own_captions"}
        if raw.get("own_captions"):
            fields["captions"] = list(raw["own_captions"])
        pair = validate_pair(fields, where=field)
        if pair.name != name:
            raise ValueError(f"{field} names itself {pair.name!r}; the header was edited")
        vector = tensors.get(name)
        if vector is None:
            raise ValueError(f"{field} has no vector in the file")
        if not vector.is_floating_point() or vector.ndim != 2:
            raise ValueError(f"{field}: its vector is {vector.dtype} of shape {tuple(vector.shape)}; expected a "
                             "floating-point (caption tokens, width) matrix")
        if shape is not None and tuple(vector.shape) != shape:
            raise ValueError(f"{field}: its vector has shape {tuple(vector.shape)}, the others {shape}")
        shape = tuple(vector.shape)
        if not torch.isfinite(vector).all():
            raise ValueError(f"{field}: its vector holds NaN or infinite values; retrain it")
        specs[name] = pair
    expected = header.get("digest")
    if not verify_digest:
        return specs
    if expected is None:
        raise ValueError(f"{where}: the header has no 'digest' binding its pairs to its vectors, so an edited word "
                         "could steer with another word's vector; re-save a bank you trust with "
                         "ConceptBank.load(path, verify_digest=False).save(path), or retrain with `l2vkit concepts`")
    if expected != digest(header["pairs"], {n: tensors[n] for n in specs}):
        raise ValueError(f"{where}: its pairs or vectors differ from what was saved (the digest does not match); "
                         "restore the file or retrain with `l2vkit concepts`")
    return specs
