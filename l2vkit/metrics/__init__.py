"""The evaluation suite: video metrics, caption metrics and toy-world ground truth.

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
``metrics.ground_truth``     toy-world ground truth: per-attribute accuracy, flip rate, preservation, monotonicity
===========================  =====================================================================================
"""
from __future__ import annotations

from .alignment import (
    AlignmentMap,
    alignment_score,
    directional_delta,
    directional_similarity,
    fit_alignment_map,
    fit_toy_alignment_map,
    minilm_text_encoder,
    text_video_alignment,
    toy_alignment_encoders,
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
from .ground_truth import GroundTruthScores, ground_truth_scores, monotonicity
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
    "GroundTruthScores",
    "MetricWarning",
    "alignment_score",
    "bleu",
    "caption_metrics",
    "cider_d",
    "directional_delta",
    "directional_similarity",
    "embedding_similarity",
    "fit_alignment_map",
    "fit_toy_alignment_map",
    "frechet_distance",
    "frechet_distance_from_stats",
    "frechet_video_distance",
    "gaussian_stats",
    "ground_truth_scores",
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
    "toy_alignment_encoders",
    "vlm_pooled_features",
]
