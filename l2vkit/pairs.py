"""Contrast pairs o = (π⁻, π⁺): two captions that differ in one word slot, declared in YAML and validated.

A spec file looks like::

    families:                 # optional: the slots each family may edit (checked when given)
      attribute: [colour, material]
      action: [adverb]
    pairs:
      - {source: red, target: blue, slot: colour, family: attribute}
      - {source: wood, target: metal, slot: material, family: attribute, template: "a {material} chair"}
      - source: slowly
        target: quickly
        slot: adverb
        family: action
        captions: ["a dog runs slowly", "a car drives slowly down the road"]

The vocabulary is the file's: any slot and family names work, and a ``families:`` section (or ``families=``) makes
them checked. ``name`` defaults to ``"<source>-><target>"``; an optional ``template`` holds the caption with
``{slot}`` where the word goes; optional ``captions`` are π⁻ captions that hold the source word.
"""
from __future__ import annotations

import dataclasses
import string
from pathlib import Path
from typing import Mapping, Sequence

_FIELDS = ("name", "source", "target", "slot", "family", "template", "captions")
_SECTIONS = ("pairs", "families", "vocabulary")


@dataclasses.dataclass(frozen=True)
class ContrastPair:
    """One contrast pair: ``source`` → ``target`` in ``slot``; ``name`` is ``"<source>-><target>"`` by default."""

    source: str
    target: str
    slot: str
    family: str
    template: str | None = None
    name: str = ""
    own_captions: tuple[str, ...] = dataclasses.field(default=(), repr=False)

    def __post_init__(self):
        if not self.name:
            object.__setattr__(self, "name", f"{self.source}->{self.target}")
        object.__setattr__(self, "own_captions", tuple(self.own_captions))

    def as_spec(self) -> dict:
        """The pair as a spec file writes it (``captions`` for its own captions; empty fields left out)."""
        spec = {"name": self.name, "source": self.source, "target": self.target, "slot": self.slot,
                "family": self.family, "template": self.template, "captions": list(self.own_captions)}
        return {k: v for k, v in spec.items() if v not in (None, "", [])}

    def source_captions(self, count: int) -> list[str]:
        """``count`` π⁻ captions: the pair's own ``captions`` in turn, else its template's; ``ValueError`` if none."""
        own = list(self.own_captions) or ([self.captions()[0]] if self.template else [])
        if not own:
            raise ValueError(f"pair {self.name!r} has neither 'captions' nor a 'template' (a caption with "
                             f"{{{self.slot}}} where the word goes) to make its π⁻ captions from")
        return [own[i % len(own)] for i in range(count)]

    def captions(self, template: str | None = None) -> tuple[str, str]:
        """The (π⁻, π⁺) caption texts from ``template`` (or the pair's own), with ``{slot}`` filled."""
        import string

        template = template or self.template
        if not template or "{" + self.slot + "}" not in template:
            raise ValueError(f"pair {self.name!r}: template {template!r} must contain {{{self.slot}}}")
        try:
            fields = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(template) if f is not None]
        except ValueError as err:  # a lone { or }
            raise ValueError(f"pair {self.name!r}: template {template!r}: {err}; write braces only as {{{self.slot}}}")
        for field, spec, conv in fields:
            if field != self.slot or spec or conv:
                raise ValueError(f"pair {self.name!r}: template {template!r} has the placeholder "
                                 f"{{{field}{'!' + conv if conv else ''}{':' + spec if spec else ''}}}; the only "
                                 f"one allowed is {{{self.slot}}}")
        return template.replace("{" + self.slot + "}", self.source), template.replace("{" + self.slot + "}",
                                                                                         self.target)


def bare_word(word: str) -> str:
    """A caption word as a slot word: lower case, without the punctuation around it (``"Red,"`` → ``"red"``)."""
    return word.strip(string.punctuation).lower()


def slot_word_count(word: str, caption: str) -> int:
    """How often ``word`` stands in ``caption`` as a slot word, whatever its case and surrounding punctuation."""
    return sum(bare_word(w) == word.lower() for w in str(caption).split())


def held_word(spec, caption: str) -> str:
    """The pair's word that ``caption`` steers from: its source word when it stands there once (whatever else the
    caption holds), else its target word when that stands there once and the source word not at all (steering back
    with φ < 0)."""
    counts = {w: slot_word_count(w, caption) for w in (spec.source, spec.target)}
    if counts[spec.source] == 1:
        return spec.source
    if counts[spec.source] == 0 and counts[spec.target] == 1:
        return spec.target
    raise ValueError(f"caption {caption!r} must hold {spec.name!r}'s source word {spec.source!r} once (to steer "
                     f"towards {spec.target!r}), or else its target word {spec.target!r} once (to steer back with "
                     "φ < 0); it holds " + ", ".join(f"{w!r} {n}×" for w, n in counts.items()))


def _check_captions(pair: ContrastPair, raw, where: str) -> None:
    if not isinstance(raw, list) or not raw or not all(isinstance(c, str) and c.strip() for c in raw):
        raise ValueError(f"{where}: field 'captions' must be a non-empty list of captions, got {raw!r}")
    for text in raw:
        if slot_word_count(pair.source, text) != 1:
            raise ValueError(f"{where}: caption {text!r} must hold the source word {pair.source!r} exactly once")


def validate_pair(raw: Mapping, *, where: str, vocabulary: Mapping[str, Sequence[str]] | None = None,
                  families: Mapping[str, Sequence[str]] | None = None) -> ContrastPair:
    """Turn one mapping from a spec file into a :class:`ContrastPair`, with errors that name the field.

    ``families`` (family → its slots) and ``vocabulary`` (slot → its words) are checked when given.
    """
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a mapping with fields {', '.join(_FIELDS)}, got {raw!r}")
    unknown = set(raw) - set(_FIELDS)
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {', '.join(_FIELDS)}")
    for field in ("source", "target", "slot", "family"):
        if not isinstance(raw.get(field), str) or not raw[field].strip():
            raise ValueError(f"{where}: field {field!r} is missing or not a word (got {raw.get(field)!r})")
    fields = {k: (v.strip() if isinstance(v, str) else v) for k, v in raw.items() if k != "captions"}
    pair = ContrastPair(**fields)
    if families is not None:
        if pair.family not in families:
            raise ValueError(f"{where}: field 'family' is {pair.family!r}; choose one of {', '.join(families)}")
        if pair.slot not in families[pair.family]:
            raise ValueError(f"{where}: field 'slot' is {pair.slot!r}, which is not in family {pair.family!r} "
                             f"(its slots: {', '.join(families[pair.family])})")
    for field in ("slot", "family"):
        if len(getattr(pair, field).split()) != 1 or "{" in getattr(pair, field):
            raise ValueError(f"{where}: field {field!r} is {getattr(pair, field)!r}; use one word, e.g. material")
    if pair.source == pair.target:
        raise ValueError(f"{where}: fields 'source' and 'target' are both {pair.source!r}; a pair needs two words")
    for field in ("source", "target"):
        word = getattr(pair, field)
        if len(word.split()) != 1:
            raise ValueError(f"{where}: field {field!r} is {word!r}; a pair edits one word")
        if vocabulary is not None and word not in vocabulary.get(pair.slot, ()):
            choices = ", ".join(vocabulary.get(pair.slot, ())) or f"none: this world has no slot {pair.slot!r}"
            raise ValueError(f"{where}: field {field!r} is {word!r}, not a {pair.slot} of this world "
                             f"(choose from {choices})")
    if pair.template is not None:
        pair.captions()  # checks the placeholder
    if "captions" in raw:
        _check_captions(pair, raw["captions"], where)
        pair = dataclasses.replace(pair, own_captions=tuple(" ".join(c.split()) for c in raw["captions"]))
    return pair


def _section(spec: Mapping, key: str, source: str):
    value = spec.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(
            isinstance(v, list) and all(isinstance(w, str) for w in v) for v in value.values()):
        raise ValueError(f"{source}: '{key}:' must map names to lists of words, e.g. {key}: {{attribute: [colour]}}")
    return {str(k): tuple(v) for k, v in value.items()}


def parse_pairs(spec, *, source: str = "<spec>", vocabulary=None, families=None) -> list[ContrastPair]:
    """Validate a loaded spec (``{"pairs": [...]}``, optionally ``families:`` and ``vocabulary:``) into pairs.

    ``vocabulary``/``families`` given here (e.g. a preset's world) take precedence over the file's own sections.
    Pair names must be unique.
    """
    if not isinstance(spec, Mapping) or not isinstance(spec.get("pairs"), list) or not spec["pairs"]:
        raise ValueError(f"{source}: expected a top-level 'pairs:' list with at least one pair")
    unknown = set(spec) - set(_SECTIONS)
    if unknown:
        raise ValueError(f"{source}: unknown section(s) {sorted(unknown)}; allowed: {', '.join(_SECTIONS)}")
    families = families if families is not None else _section(spec, "families", source)
    vocabulary = vocabulary if vocabulary is not None else _section(spec, "vocabulary", source)
    pairs = [validate_pair(raw, where=f"{source}: pairs[{i}]", vocabulary=vocabulary, families=families)
             for i, raw in enumerate(spec["pairs"])]
    seen: set[str] = set()
    for i, pair in enumerate(pairs):
        if pair.name in seen:
            raise ValueError(f"{source}: pairs[{i}]: field 'name' {pair.name!r} is used twice")
        seen.add(pair.name)
    return pairs


def load_pairs(path, *, vocabulary=None, families=None) -> list[ContrastPair]:
    """Read and validate a YAML spec file of contrast pairs (see the module's docstring for its layout)."""
    import yaml

    path = Path(path)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start}); save it as UTF-8") from None
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML: {err}") from None
    except RecursionError:
        raise ValueError(f"{path}: nested too deeply to be a pairs file") from None
    return parse_pairs(spec, source=str(path), vocabulary=vocabulary, families=families)


def __getattr__(name):
    from ._deprecated import moved_attribute

    return moved_attribute(__name__, name)
