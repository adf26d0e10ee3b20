"""Contrast pairs o = (π⁻, π⁺): two captions that differ in one word slot, declared in YAML and validated.

A spec file looks like::

    pairs:
      - {source: red, target: blue, slot: colour, family: attribute}
      - {source: slowly, target: quickly, slot: adverb, family: action}

``name`` defaults to ``"<source>-><target>"``; an optional ``template`` holds the caption with ``{slot}``
where the word goes (e.g. ``"a small {colour} circle moves slowly up in the sea"``).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Mapping, Sequence

#: The three families of contrast pairs and the slots each may edit.
FAMILIES: Mapping[str, tuple[str, ...]] = {
    "attribute": ("colour", "shape", "size"),
    "action": ("adverb", "direction"),
    "scene": ("scene",),
}

_FIELDS = ("name", "source", "target", "slot", "family", "template")


@dataclasses.dataclass(frozen=True)
class ContrastPair:
    """One contrast pair: ``source`` → ``target`` in ``slot``; ``name`` is ``"<source>-><target>"`` by default."""

    source: str
    target: str
    slot: str
    family: str
    template: str | None = None
    name: str = ""

    def __post_init__(self):
        if not self.name:
            object.__setattr__(self, "name", f"{self.source}->{self.target}")

    def captions(self, template: str | None = None) -> tuple[str, str]:
        """The (π⁻, π⁺) caption texts from ``template`` (or the pair's own), with ``{slot}`` filled."""
        template = template or self.template
        if not template or "{" + self.slot + "}" not in template:
            raise ValueError(f"pair {self.name!r}: template {template!r} must contain {{{self.slot}}}")
        return template.format(**{self.slot: self.source}), template.format(**{self.slot: self.target})


def validate_pair(raw: Mapping, *, where: str, vocabulary: Mapping[str, Sequence[str]] | None = None) -> ContrastPair:
    """Turn one mapping from a spec file into a :class:`ContrastPair`, with errors that name the field."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a mapping with fields {', '.join(_FIELDS)}, got {raw!r}")
    unknown = set(raw) - set(_FIELDS)
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {', '.join(_FIELDS)}")
    for field in ("source", "target", "slot", "family"):
        if not isinstance(raw.get(field), str) or not raw[field].strip():
            raise ValueError(f"{where}: field {field!r} is missing or not a word (got {raw.get(field)!r})")
    pair = ContrastPair(**{k: (v.strip() if isinstance(v, str) else v) for k, v in raw.items()})
    if pair.family not in FAMILIES:
        raise ValueError(f"{where}: field 'family' is {pair.family!r}; choose one of {', '.join(FAMILIES)}")
    if pair.slot not in FAMILIES[pair.family]:
        raise ValueError(
            f"{where}: field 'slot' is {pair.slot!r}, which is not in family {pair.family!r} "
            f"(its slots: {', '.join(FAMILIES[pair.family])})"
        )
    if pair.source == pair.target:
        raise ValueError(f"{where}: fields 'source' and 'target' are both {pair.source!r}; a pair needs two words")
    for field in ("source", "target"):
        word = getattr(pair, field)
        if len(word.split()) != 1:
            raise ValueError(f"{where}: field {field!r} is {word!r}; a pair edits one word")
        if vocabulary is not None and word not in vocabulary.get(pair.slot, ()):
            raise ValueError(
                f"{where}: field {field!r} is {word!r}, not a {pair.slot} of this world "
                f"(choose from {', '.join(vocabulary.get(pair.slot, ()))})"
            )
    if pair.template is not None:
        pair.captions()  # checks the placeholder
    return pair


def parse_pairs(spec, *, source: str = "<spec>", vocabulary=None) -> list[ContrastPair]:
    """Validate a loaded spec (``{"pairs": [...]}``) into pairs; names must be unique."""
    if not isinstance(spec, Mapping) or not isinstance(spec.get("pairs"), list) or not spec["pairs"]:
        raise ValueError(f"{source}: expected a top-level 'pairs:' list with at least one pair")
    pairs = [validate_pair(raw, where=f"{source}: pairs[{i}]", vocabulary=vocabulary) for i, raw in enumerate(spec["pairs"])]
    seen: set[str] = set()
    for i, pair in enumerate(pairs):
        if pair.name in seen:
            raise ValueError(f"{source}: pairs[{i}]: field 'name' {pair.name!r} is used twice")
        seen.add(pair.name)
    return pairs


def load_pairs(path, *, vocabulary=None) -> list[ContrastPair]:
    """Read and validate a YAML spec file of contrast pairs."""
    import yaml

    path = Path(path)
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML: {err}") from None
    return parse_pairs(spec, source=str(path), vocabulary=vocabulary)
