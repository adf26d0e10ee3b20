"""The evaluation suite: video metrics, text–video alignment, caption metrics and monotonicity over a sweep.

One concern per module, every function numpy-first and vectorised; heavy libraries (torch, scipy, transformers)
load inside the functions that need them, so ``import l2vkit.metrics`` stays cheap.

===========================  =====================================================================================
module                       what
===========================  =====================================================================================
``metrics.distances``        Fréchet distance (FVD with any feature extractor), embedding similarity to a reference
                             set (cosine, l1, l2, KL of mean encodings), KL divergence
``metrics.video``            feature extractors (the VLM's pooled visual tokens, model-free pixel features),
                             an LPIPS-style perceptual distance, temporal consistency
``metrics.alignment``        text–video alignment (CLIP-score style) from any (text encoder, video encoder) pair;
                             the offline default: MiniLM captions vs a ridge map from VLM features; directional Δ
``metrics.captions``         BLEU-1..4 (corpus and sentence), CIDEr-D, METEOR; SPICE is absent (needs Java +
                             Stanford CoreNLP models, no Java-free implementation exists)
``metrics.monotonicity``     Spearman's ρ over a φ sweep, per seed and averaged
===========================  =====================================================================================

Ground truth (per-attribute accuracy, flip rate, preservation) needs a world whose videos can be measured: the toy
world's is ``l2vkit.toyworld.ground_truth``; its offline alignment map ``l2vkit.toyworld.alignment``.
"""
from __future__ import annotations

from .alignment import (
    AlignmentMap,
    alignment_score,
    directional_delta,
    directional_similarity,
    fit_alignment_map,
    minilm_text_encoder,
    text_video_alignment,
)
from .captions import bleu, caption_metrics, cider_d, meteor, sentence_bleu, tokenize
from .distances import (
    MetricWarning,
    embedding_similarity,
    frechet_distance,
    frechet_distance_from_stats,
    frechet_video_distance,
    gaussian_stats,
    kl_divergence,
)
from .monotonicity import monotonicity
from .video import (
    perceptual_distance,
    pixel_features,
    pixel_frame_features,
    pyramid_features,
    temporal_consistency,
    vlm_pooled_features,
)

__all__ = [
    "AlignmentMap",
    "MetricWarning",
    "alignment_score",
    "bleu",
    "caption_metrics",
    "cider_d",
    "directional_delta",
    "directional_similarity",
    "embedding_similarity",
    "fit_alignment_map",
    "frechet_distance",
    "frechet_distance_from_stats",
    "frechet_video_distance",
    "gaussian_stats",
    "monotonicity",
    "kl_divergence",
    "meteor",
    "minilm_text_encoder",
    "perceptual_distance",
    "pixel_features",
    "pixel_frame_features",
    "pyramid_features",
    "sentence_bleu",
    "temporal_consistency",
    "text_video_alignment",
    "tokenize",
    "vlm_pooled_features",
]


def __getattr__(name):
    from .._deprecated import moved_attribute

    return moved_attribute(__name__, name)
