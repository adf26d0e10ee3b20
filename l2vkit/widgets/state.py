"""What the logit editor shows, as a value: :class:`EditorState` (caption, φ per pair, timestep window, seed, steps)
and :func:`editable_pairs` (the pairs whose source word, or else whose target word, a caption holds once)."""
from __future__ import annotations

import dataclasses
from typing import Mapping

#: Slider range for φ (the steering module warns outside ±2, where concepts were not trained to act).
PHI_RANGE = (-2.0, 2.0)
PHI_STEP = 0.05
FULL_WINDOW = (0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class EditorState:
    """Everything that determines what the editor shows.

    ``caption``: π⁻, the caption to edit; ``strengths``: ``{pair name: φ}``; ``window``: ``(start, end)`` fractions
    of the sampling steps in which the concepts are injected (``(0, 1)`` = every step); ``seed`` of the noise;
    ``steps``: sampling steps (``None`` = the generator's default).
    """

    caption: str
    strengths: Mapping[str, float] = dataclasses.field(default_factory=dict)
    window: tuple = FULL_WINDOW
    seed: int = 0
    steps: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "strengths", {str(k): float(v) for k, v in dict(self.strengths).items()})
        object.__setattr__(self, "window", tuple(float(x) for x in self.window))
        if len(self.window) != 2:
            raise ValueError(f"window={self.window!r}; expected (start, end)")

    def edit(self, **changes) -> "EditorState":
        """A copy with some fields changed (the state itself never changes)."""
        return dataclasses.replace(self, **changes)

    def with_strength(self, pair: str, phi: float) -> "EditorState":
        """A copy with ``pair``'s φ set."""
        return self.edit(strengths={**self.strengths, pair: float(phi)})

    def key(self) -> tuple:
        """A hashable summary (for caching and for telling whether two states differ)."""
        return (self.caption, tuple(sorted(self.strengths.items())), self.window, int(self.seed), self.steps)


def editable_pairs(caption: str, concepts, extra=()) -> list[str]:
    """The bank's pairs a slider can move in ``caption``: those whose source word occurs exactly once (φ > 0 steers
    towards the target word), and those whose target word does while the source word does not (steering back:
    φ < 0 steers towards the source word), whatever the case and punctuation — as :func:`l2vkit.steer` reads them.
    ``extra``: more pair names (e.g. those a user typed, given by a concept network), kept when the concepts know
    them and the caption can edit them."""
    names = list(concepts.pairs) + [n for n in extra if n not in concepts.pairs and n in concepts]
    return [name for name in names if slot_spec(concepts.spec(name), caption) is not None]


def origin(concepts, name: str) -> str:
    """Where a pair's vector comes from: ``"bank"`` (trained for it) or ``"network"`` (a concept network's)."""
    return concepts.origin(name) if hasattr(concepts, "origin") else "bank"


def steers_back(spec, caption: str) -> bool:
    """The caption holds the pair's target word (and not its source word): φ < 0 steers back."""
    return slot_spec(spec, caption) is not spec


def slot_spec(spec, caption: str):
    """``spec`` as the caption holds it: itself when the caption holds its source word once, the pair reversed
    (source and target swapped) when it holds the target word instead, ``None`` when it can edit neither way."""
    import dataclasses

    from ..pairs import held_word

    try:
        word = held_word(spec, caption)
    except ValueError:
        return None
    return spec if word == spec.source else dataclasses.replace(spec, source=spec.target, target=spec.source)
