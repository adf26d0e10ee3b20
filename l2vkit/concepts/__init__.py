"""Concept vectors q_o: one direction in the generator's condition space per contrast pair o = (π⁻, π⁺).

For noisy latents z_t on the generator's own trajectories under π⁻:

- Δv = G(z_t, π⁺, t) − G(z_t, π⁻, t), the velocity change the caption edit asks for;
- Δω = D(ω⁻, ω⁺), how much the VLM's distribution at the edited slot changes when it reads the two clean-latent
  estimates x̂0± = z_t − σ G(z_t, π±, t) through the coupling Φ (D: Hellinger by default, KL or JS);
- q_o minimises ‖sg[G(z_t, π⁻, t) + Δω·Δv] − G(z_t, π⁻ + Δω·q_o, t)‖² with G, Φ and the VLM frozen.

Everything that does not depend on q_o (z_t, t, G(z_t, π⁻, t), Δv, Δω) is computed once (:func:`build_concept_cache`),
so a training step costs one forward and one backward of G for all pairs at once (:func:`train_concepts`). With
``directions="both"`` the cache also holds the mirror samples on π⁺'s trajectories, where −q_o is trained to steer
back towards π⁻ (Δv reversed), so that φ < 0 on a caption with the target word steers back.
"""
from __future__ import annotations

from .bank import FORMAT_VERSION, METADATA_KEY, ConceptBank
from .cache import (DIRECTIONS, DIVERGENCES, OMEGA_READS, ConceptCache, build_concept_cache, check_pair, divergence,
                    mask_of, negligible_pairs, pair_captions, slot_prefix, swap_word, token_probs_by_prompt)
from .network import ConceptNetwork
from .network_training import train_concept_network
from .resolve import ConceptsWithNetwork
from .training import train_concepts

__all__ = ["DIRECTIONS", "DIVERGENCES", "FORMAT_VERSION", "METADATA_KEY", "OMEGA_READS", "ConceptBank", "ConceptCache",
           "ConceptNetwork", "ConceptsWithNetwork", "build_concept_cache", "check_pair", "divergence", "mask_of",
           "negligible_pairs", "pair_captions", "slot_prefix", "swap_word", "token_probs_by_prompt",
           "train_concept_network", "train_concepts"]


def __getattr__(name):
    from .._deprecated import moved_attribute

    return moved_attribute(__name__, name)
