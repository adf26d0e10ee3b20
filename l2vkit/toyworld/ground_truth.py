"""Ground-truth scores on the toy world: did steering change the target attribute, and only it, and monotonically?

Inputs are plain :class:`~l2vkit.toyworld.Attributes` (what :func:`l2vkit.toyworld.measure` reads from pixels), so
the scores do not depend on how the videos were made: steering sweeps, baselines, hand-edited renders.

For a contrast pair editing ``slot`` to ``target_word``, seeds s (each a source video with attributes a_s) and
strengths φ, with m_{s,φ} the attributes measured on the video steered with strength φ:

- **accuracy** ``[f][φ]``: share of seeds whose measured attribute f equals the *intended* one — the target word for
  the slot, the source value for every other attribute (so the slot's accuracy is the flip rate);
- **flip rate[φ]**: share of seeds with m_{s,φ}[slot] = target word;
- **preservation rate[φ]**: share of seeds whose every non-target attribute equals the source's;
- **monotonicity**: Spearman's ρ between φ and the per-seed flip indicator (or the target word's probability, when
  given), averaged over seeds. A seed whose sequence is constant has no rank correlation; it is left out and
  ``monotonicity_defined`` counts the seeds that entered (``nan`` when none did).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Sequence

import numpy as np

from ..metrics.monotonicity import monotonicity
from ..plots import PlotMixin


def _attributes(item, where: str):
    from .attributes import Attributes

    if isinstance(item, Attributes):
        return item
    attrs = getattr(item, "attributes", None)  # a toyworld.Measurement
    if isinstance(attrs, Attributes):
        return attrs
    raise TypeError(f"{where} is {type(item).__name__}; expected toyworld.Attributes (or a Measurement)")


@dataclasses.dataclass
class GroundTruthScores(PlotMixin):
    """Ground-truth scores of one contrast pair over a φ sweep (see the module docstring). Lists run over ``phis``
    (ascending). ``.plot()`` draws them over φ; ``.summary()`` gives the values at the largest φ."""

    slot: str
    target_word: str
    phis: list
    seeds: int
    accuracy: dict
    flip_rate: list
    preservation_rate: list
    monotonicity: float
    monotonicity_per_seed: list
    monotonicity_of: str
    target_probability: list | None = None

    @property
    def monotonicity_defined(self) -> int:
        return int(sum(not math.isnan(v) for v in self.monotonicity_per_seed))

    def summary(self) -> dict:
        """Scores at the largest φ, plus monotonicity: a flat dict for tables."""
        out = {"slot": self.slot, "target": self.target_word, "phi": self.phis[-1], "seeds": self.seeds,
               "flip_rate": self.flip_rate[-1], "preservation_rate": self.preservation_rate[-1],
               "monotonicity": self.monotonicity}
        out.update({f"accuracy.{f}": v[-1] for f, v in self.accuracy.items()})
        return out

    def as_dict(self) -> dict:
        """Everything, JSON-ready (NaN becomes ``None``)."""
        def clean(x):
            if isinstance(x, float) and math.isnan(x):
                return None
            if isinstance(x, list):
                return [clean(v) for v in x]
            if isinstance(x, dict):
                return {k: clean(v) for k, v in x.items()}
            return x

        return clean({**dataclasses.asdict(self), "monotonicity_defined": self.monotonicity_defined})

    def _curves(self) -> dict:
        curves = {f"flip rate ({self.slot} = {self.target_word})": self.flip_rate,
                  "preservation rate": self.preservation_rate}
        if self.target_probability is not None:
            curves[f"p({self.target_word})"] = self.target_probability
        curves.update({f"accuracy: {f}": v for f, v in self.accuracy.items() if f != self.slot})
        return curves

    def _title(self) -> str:
        mono = "n/a" if math.isnan(self.monotonicity) else f"{self.monotonicity:.2f}"
        return f"{self.slot} → {self.target_word}: {self.seeds} seeds, monotonicity {mono}"

    def _plot(self, ax=None, **kwargs):
        from ..plots import curves_over_phi

        return curves_over_phi(self.phis, self._curves(), ylabel="share of seeds", title=self._title(),
                               ylim=(-0.03, 1.03), ax=ax, emphasis=2 + (self.target_probability is not None),
                               **kwargs)

    def _plotly(self, **kwargs):
        from ..plots import curves_over_phi_plotly

        return curves_over_phi_plotly(self.phis, self._curves(), ylabel="share of seeds", title=self._title(),
                                      ylim=(-0.03, 1.03), **kwargs)


def ground_truth_scores(source, slot: str, target_word: str, measured_by_phi: Mapping[float, Sequence], *,
                        target_probs: Mapping[float, Sequence[float]] | None = None) -> GroundTruthScores:
    """Ground-truth scores of a φ sweep (see the module docstring for the definitions).

    Parameters
    ----------
    source : Attributes or list of Attributes
        The source attributes of each seed (one value is used for all seeds).
    slot, target_word : str
        The edited attribute (``"colour"``) and the word steering aims for (``"blue"``).
    measured_by_phi : mapping φ -> list of Attributes (or Measurement)
        What :func:`l2vkit.toyworld.measure` read from each seed's video at strength φ; one entry per seed.
    target_probs : mapping φ -> list of float, optional
        The VLM's probability of ``target_word`` per seed; monotonicity then uses it instead of the flip indicator.

    Examples
    --------
    >>> from l2vkit.toyworld import Attributes
    >>> red = Attributes("red", "circle", "small", "quickly", "left", "desert")
    >>> blue, blue_square = red.replace(colour="blue"), red.replace(colour="blue", shape="square")
    >>> scores = ground_truth_scores([red, red], "colour", "blue",
    ...                              {0.0: [red, red], 0.5: [red, blue], 1.0: [blue, blue_square]})
    >>> scores.flip_rate, scores.preservation_rate, round(scores.monotonicity, 3)
    ([0.0, 0.5, 1.0], [1.0, 1.0, 0.5], 0.866)
    """
    from .attributes import ATTRIBUTE_VALUES

    if slot not in ATTRIBUTE_VALUES:
        raise ValueError(f"slot={slot!r} is not a toy-world attribute; choose one of {', '.join(ATTRIBUTE_VALUES)}")
    if target_word not in ATTRIBUTE_VALUES[slot]:
        raise ValueError(f"target_word={target_word!r} is not a {slot}; choose one of "
                         f"{', '.join(ATTRIBUTE_VALUES[slot])}")
    if not isinstance(measured_by_phi, Mapping) or not measured_by_phi:
        raise ValueError("measured_by_phi must be a non-empty mapping {phi: [Attributes per seed]}")
    phis = sorted(float(p) for p in measured_by_phi)
    if not all(math.isfinite(p) for p in phis):
        raise ValueError(f"phis {phis} must be finite numbers")
    if len(set(phis)) != len(phis):
        raise ValueError("two keys of measured_by_phi are the same φ")
    by_phi = {float(k): list(v) for k, v in measured_by_phi.items()}
    seeds = len(by_phi[phis[0]])
    if seeds == 0:
        raise ValueError(f"measured_by_phi[{phis[0]}] is empty; give one measurement per seed")
    for p in phis:
        if len(by_phi[p]) != seeds:
            raise ValueError(f"measured_by_phi[{p}] has {len(by_phi[p])} entries but measured_by_phi[{phis[0]}] has "
                             f"{seeds}; give one measurement per seed at every φ")
    sources = [source] * seeds if not isinstance(source, (list, tuple)) else list(source)
    if len(sources) != seeds:
        raise ValueError(f"{len(sources)} source attributes for {seeds} seeds")
    sources = [_attributes(s, f"source[{i}]") for i, s in enumerate(sources)]
    measured = [[_attributes(m, f"measured_by_phi[{p}][{i}]") for i, m in enumerate(by_phi[p])] for p in phis]
    fields = list(ATTRIBUTE_VALUES)
    intended = [s.replace(**{slot: target_word}) for s in sources]

    # (phi, seed, field) boolean: measured == intended
    hits = np.array([[[getattr(m, f) == getattr(t, f) for f in fields] for m, t in zip(row, intended)]
                     for row in measured])
    slot_index = fields.index(slot)
    others = [i for i in range(len(fields)) if i != slot_index]
    flipped = hits[:, :, slot_index]
    accuracy = {f: hits[:, :, i].mean(axis=1).tolist() for i, f in enumerate(fields)}
    preservation = hits[:, :, others].all(axis=2).mean(axis=1).tolist()

    probs = None
    if target_probs is not None:
        tp = {float(k): np.asarray(v, dtype=np.float64) for k, v in target_probs.items()}
        if sorted(tp) != phis:
            raise ValueError(f"target_probs has φ {sorted(tp)} but measured_by_phi has {phis}")
        probs = np.stack([tp[p] for p in phis])
        if probs.shape != (len(phis), seeds):
            raise ValueError(f"target_probs has {probs.shape[1] if probs.ndim == 2 else '?'} values per φ for {seeds} "
                             "seeds")
        if not np.all(np.isfinite(probs)):
            raise ValueError("target_probs contains NaN or infinite values")
    series = (probs if probs is not None else flipped.astype(np.float64)).T  # (seed, phi)
    mean_rho, per_seed = monotonicity(phis, series)
    return GroundTruthScores(
        slot=slot, target_word=target_word, phis=phis, seeds=seeds, accuracy=accuracy,
        flip_rate=flipped.mean(axis=1).tolist(), preservation_rate=preservation,
        monotonicity=mean_rho, monotonicity_per_seed=per_seed,
        monotonicity_of="target probability" if probs is not None else "flip indicator",
        target_probability=probs.mean(axis=1).tolist() if probs is not None else None)
