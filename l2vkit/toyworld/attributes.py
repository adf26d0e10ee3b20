"""The toy world's vocabulary: attribute values, typed attributes and the caption grammar."""
from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np

#: Every attribute of a toy video and the words it may take, in caption order.
ATTRIBUTE_VALUES: Mapping[str, tuple[str, ...]] = {
    "colour": ("red", "green", "blue", "yellow", "purple"),
    "shape": ("circle", "square", "triangle"),
    "size": ("small", "large"),
    "adverb": ("slowly", "quickly"),
    "direction": ("left", "right", "up", "down"),
    "scene": ("desert", "sea", "grass", "snow"),
}

#: The toy world's families of contrast pairs and the slots each may edit (its pairs file declares the same).
FAMILIES: Mapping[str, tuple[str, ...]] = {
    "attribute": ("colour", "shape", "size"),
    "action": ("adverb", "direction"),
    "scene": ("scene",),
}

_DIRECTION_PHRASE = {"left": "to the left", "right": "to the right", "up": "up", "down": "down"}


@dataclasses.dataclass(frozen=True)
class Attributes:
    """Everything that defines a toy video's content; values are the caption words.

    >>> Attributes("red", "circle", "small", "quickly", "left", "desert")
    Attributes(colour='red', shape='circle', size='small', adverb='quickly', direction='left', scene='desert')
    """

    colour: str
    shape: str
    size: str
    adverb: str
    direction: str
    scene: str

    def __post_init__(self):
        for field, allowed in ATTRIBUTE_VALUES.items():
            value = getattr(self, field)
            if value not in allowed:
                raise ValueError(
                    f"Attributes.{field}={value!r} is not a toy-world {field}; choose one of {', '.join(allowed)}"
                )

    def replace(self, **changes: str) -> "Attributes":
        """A copy with some attributes changed (validated)."""
        unknown = set(changes) - set(ATTRIBUTE_VALUES)
        if unknown:
            raise ValueError(f"unknown attribute(s) {sorted(unknown)}; fields are {', '.join(ATTRIBUTE_VALUES)}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def random_attributes(seed: int) -> Attributes:
    """Attributes drawn uniformly and independently, reproducibly from ``seed``."""
    rng = np.random.default_rng(seed)
    return Attributes(**{field: str(rng.choice(values)) for field, values in ATTRIBUTE_VALUES.items()})


def caption(attrs: Attributes) -> str:
    """The caption that describes a toy video, e.g. "a small red circle moves quickly to the left in the desert".

    Every attribute word appears exactly once, so a contrast pair edits a single token slot.
    """
    return (
        f"a {attrs.size} {attrs.colour} {attrs.shape} moves {attrs.adverb} "
        f"{_DIRECTION_PHRASE[attrs.direction]} in the {attrs.scene}"
    )


def parse_caption(text: str) -> Attributes:
    """Inverse of :func:`caption`; raises ``ValueError`` naming the first word that does not fit the grammar."""
    words = text.strip().lower().split()
    found: dict[str, str] = {}
    for field, allowed in ATTRIBUTE_VALUES.items():
        hits = [w for w in words if w in allowed]
        if len(hits) != 1:
            raise ValueError(f"caption {text!r} names {len(hits)} {field} words {hits}; expected exactly one")
        found[field] = hits[0]
    attrs = Attributes(**found)
    if caption(attrs) != " ".join(words):
        raise ValueError(f"caption {text!r} does not follow the grammar; expected {caption(attrs)!r}")
    return attrs


#: Words that may stand before an adjective or the scene in a caption of another word order; none names an attribute.
FILLERS = ("very", "bright", "sunny", "shiny", "busy", "wide", "calm", "nice")


def reordered_caption(attrs: Attributes, rng) -> str:
    """A caption naming every attribute once in another word order, drawn with ``rng`` (a numpy Generator): the scene
    first or last, colour before or after size, the adverb before or after the direction, "moves" or "that moves",
    and filler words (:data:`FILLERS`) before the adjectives and the scene, each with probability 0.25.

    >>> reordered_caption(Attributes("red", "circle", "small", "quickly", "left", "desert"),
    ...                   np.random.default_rng(2))
    'in the desert, a small red circle that moves quickly to the left'
    """
    def filler():
        return [str(rng.choice(FILLERS))] if rng.random() < 0.25 else []

    first, second = (attrs.size, attrs.colour) if rng.random() < 0.5 else (attrs.colour, attrs.size)
    noun = ["a", *filler(), first, *filler(), second, attrs.shape]
    motion = [attrs.adverb, _DIRECTION_PHRASE[attrs.direction]]
    motion = motion if rng.random() < 0.5 else motion[::-1]
    verb = ["moves"] if rng.random() < 0.5 else ["that", "moves"]
    scene = ["the", *filler(), attrs.scene]
    if rng.random() < 0.5:
        return " ".join(["in", *scene[:-1], scene[-1] + ",", *noun, *verb, *motion])
    return " ".join([*noun, *verb, *motion, "in", *scene])


def toy_captions(pair, count: int, *, seed: int = 0, reordered: float = 0.0) -> list[str]:
    """``count`` random toy captions whose ``pair.slot`` holds the source word (other attributes random): the toy
    world's caption source for :func:`l2vkit.concepts.build_concept_cache`. A share ``reordered`` of them (drawn at
    random) is in other word orders (:func:`reordered_caption`), the rest in the canonical one (:func:`caption`);
    ``reordered=0`` gives the same captions as before the option existed."""
    if not 0.0 <= reordered <= 1.0:
        raise ValueError(f"reordered={reordered!r}; expected a share between 0 and 1")
    rng = np.random.default_rng(seed)
    out = []
    for s in rng.integers(0, 2**31 - 1, size=count):
        attrs = random_attributes(int(s)).replace(**{pair.slot: pair.source})
        if reordered and np.random.default_rng(int(s) + 1).random() < reordered:
            out.append(reordered_caption(attrs, np.random.default_rng(int(s) + 2)))
        else:
            out.append(caption(attrs))
    return out
