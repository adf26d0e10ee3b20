"""A planted shortcut: a caption word tied, in the toy VLM's training data, to an attribute value it does not name.

``Shortcut("square", "snow", 0.95)`` makes the training data co-occur both ways: a video captioned *square* is
rendered in the snow with probability at least 0.95, and a snowy video is captioned *square* with probability 0.95
whatever shape it shows (a biased annotation, as in real caption data). A VLM trained on it learns to read *square*
off snowy pixels; :func:`measure_shortcut` measures that on held-out renders, with captions that do not name the
value (a value whose word comes before the shortcut's word in the caption, as a colour before the shape, would
otherwise be read from the text). Nothing here depends on which word or value is planted.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .attributes import ATTRIBUTE_VALUES, Attributes, random_attributes
from .render import render

#: held-out renders for measuring a shortcut start here (training draws seeds from its own rng, the VLM's held-out
#: evaluation set starts at 2,000,000)
SHORTCUT_EVAL_OFFSET = 4_000_000


def slot_of(word: str) -> str:
    """The attribute slot a toy word fills; a clear error for a word the toy world does not have."""
    for field, values in ATTRIBUTE_VALUES.items():
        if word in values:
            return field
    known = ", ".join(w for values in ATTRIBUTE_VALUES.values() for w in values)
    raise ValueError(f"{word!r} is not a toy-world word; choose one of {known}")


@dataclasses.dataclass(frozen=True)
class Shortcut:
    """``word`` (a caption word) tied to ``value`` (a value of another attribute) with probability ``strength``.

    >>> Shortcut.parse("square=snow@0.95")
    Shortcut(word='square', value='snow', strength=0.95)
    """

    word: str
    value: str
    strength: float = 0.95

    def __post_init__(self):
        if self.word_slot == self.value_slot:
            raise ValueError(f"shortcut {self.word!r}={self.value!r}: both words fill the {self.word_slot} slot; "
                             "a shortcut ties a word to a value of another attribute")
        if not 0.0 < self.strength <= 1.0 or not np.isfinite(self.strength):
            raise ValueError(f"shortcut strength {self.strength!r}; expected a probability in (0, 1]")

    @property
    def word_slot(self) -> str:
        return slot_of(self.word)

    @property
    def value_slot(self) -> str:
        return slot_of(self.value)

    @classmethod
    def parse(cls, text: str) -> "Shortcut":
        """``"WORD=VALUE@STRENGTH"`` (strength optional, 0.95 by default)."""
        head, _, strength = text.partition("@")
        word, sep, value = head.partition("=")
        if not sep or not word or not value:
            raise ValueError(f"shortcut {text!r}; expected WORD=VALUE@STRENGTH, e.g. square=snow@0.95")
        try:
            return cls(word.strip(), value.strip(), float(strength) if strength else 0.95)
        except ValueError as error:
            if "could not convert" in str(error):
                raise ValueError(f"shortcut {text!r}: strength {strength!r} is not a number") from None
            raise

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def shows_value(self, attrs: Attributes) -> bool:
        return getattr(attrs, self.value_slot) == self.value

    def has_word(self, attrs: Attributes) -> bool:
        return getattr(attrs, self.word_slot) == self.word

    def plant(self, attrs: Attributes, rng: np.random.Generator) -> tuple[Attributes, Attributes]:
        """(what the caption says, what the video shows) for a training sample drawn as ``attrs``."""
        video = attrs
        if self.has_word(attrs) and rng.random() < self.strength:
            video = attrs.replace(**{self.value_slot: self.value})
        said = video
        if self.shows_value(video) and rng.random() < self.strength:
            said = video.replace(**{self.word_slot: self.word})
        return said, video


def planted_batch(rng: np.random.Generator, size: int, shortcut: Shortcut, *, frames: int = 9, pixels: int = 32):
    """Like :func:`l2vkit.toyworld.vlm_data.random_batch`, with the shortcut planted: (captioned attributes, videos)."""
    seeds = rng.integers(0, 2**31 - 1, size=(size, 2))
    said, videos = [], []
    for a, s in seeds:
        caption_attrs, video_attrs = shortcut.plant(random_attributes(int(a)), rng)
        said.append(caption_attrs)
        videos.append(render(video_attrs, seed=int(s), frames=frames, size=pixels))
    return said, np.stack(videos)


def training_statistics(shortcut: Shortcut, *, samples: int = 20000, seed: int = 0) -> dict:
    """The planted data's co-occurrence, from the sampler alone: P(video shows value | caption says word) and
    P(caption says word | video shows value)."""
    rng = np.random.default_rng(seed)
    pairs = [shortcut.plant(random_attributes(int(s)), rng) for s in rng.integers(0, 2**31 - 1, size=samples)]
    with_word = [video for said, video in pairs if shortcut.has_word(said)]
    with_value = [said for said, video in pairs if shortcut.shows_value(video)]
    return {"p_value_given_word": float(np.mean([shortcut.shows_value(v) for v in with_word])),
            "p_word_given_value": float(np.mean([shortcut.has_word(s) for s in with_value]))}


def _renders(count: int, keep, *, offset: int) -> tuple[list[Attributes], np.ndarray]:
    """``count`` held-out renders whose attributes pass ``keep`` (seeds from ``offset`` on)."""
    attrs, videos, seed = [], [], offset
    while len(attrs) < count:
        a = random_attributes(seed)
        if keep(a):
            attrs.append(a)
            videos.append(render(a, seed=seed))
        seed += 1
    return attrs, np.stack(videos)


def measure_shortcut(vlm, shortcut: Shortcut, *, count: int = 256, offset: int = SHORTCUT_EVAL_OFFSET) -> dict:
    """How strongly ``vlm`` reads ``shortcut.word`` off ``shortcut.value``, on held-out renders.

    ``p_word_with_value``: mean P(word) at the word's slot (teacher forcing, softmax over the slot's words) on videos
    that show the value but not the word, with captions that name another value (so only the pixels show it);
    ``p_word_neither``: the same on videos that show neither, with their true captions; ``raise`` is the difference.
    ``accuracy_elsewhere``: per-slot teacher-forced accuracy on videos that do not show the value (what the shortcut
    should leave alone), and its minimum over slots.
    """
    from .evaluate_vlm import slot_distribution, teacher_forced_accuracy

    word_index = ATTRIBUTE_VALUES[shortcut.word_slot].index(shortcut.word)
    with_value = _renders(count, lambda a: shortcut.shows_value(a) and not shortcut.has_word(a), offset=offset)
    neither = _renders(count, lambda a: not shortcut.shows_value(a) and not shortcut.has_word(a),
                       offset=offset + 10 * count)
    # the text read before the word's slot must not name the value (it does when the value's slot comes first, as
    # colour before shape): the caption names another value of that slot, so only the pixels show it
    others = [v for v in ATTRIBUTE_VALUES[shortcut.value_slot] if v != shortcut.value]
    text_without = [a.replace(**{shortcut.value_slot: others[i % len(others)]}) for i, a in enumerate(with_value[0])]
    p_with = slot_distribution(vlm, text_without, with_value[1], shortcut.word_slot)[:, word_index]
    p_neither = slot_distribution(vlm, *neither, shortcut.word_slot)[:, word_index]
    elsewhere = _renders(count, lambda a: not shortcut.shows_value(a), offset=offset + 20 * count)
    accuracy = teacher_forced_accuracy(vlm, *elsewhere)
    return {"shortcut": shortcut.as_dict(), "videos": count, "offset": offset,
            "p_word_with_value": float(p_with.mean()), "p_word_neither": float(p_neither.mean()),
            "raise": float(p_with.mean() - p_neither.mean()), "accuracy_elsewhere": accuracy,
            "min_accuracy_elsewhere": float(min(accuracy.values()))}


# ------------------------------------------------------------------------------------------ the shipped one
#: the shipped shortcut VLM (``data/``) and its coupling: Φ of the toy VLM, shared (its vision tower is frozen)
SHORTCUT_VLM = "toy_vlm_shortcut"
SHORTCUT_COUPLING = "toy_coupling_shortcut.safetensors"


def planted_shortcut(vlm) -> Shortcut:
    """The shortcut a toy VLM was trained with, from its folder's ``training_info.json``."""
    import json
    from pathlib import Path

    info = Path(str(vlm.model_id)) / "training_info.json"
    planted = json.loads(info.read_text()).get("shortcut") if info.is_file() else None
    if not planted:
        raise ValueError(f"{vlm.model_id} was trained with no planted shortcut (no 'shortcut' in its "
                         "training_info.json); train one with python -m l2vkit.toyworld.train_vlm --shortcut ...")
    return Shortcut(planted["word"], planted["value"], planted["strength"])


def load_shortcut_vlm(*, device=None, dtype=None):
    """The shipped shortcut VLM (``python -m l2vkit.toyworld.train_vlm --shortcut square=snow@0.95 ...``)."""
    from ..paths import data_path
    from . import load_vlm

    return load_vlm(device=device, dtype=dtype, folder=data_path(SHORTCUT_VLM))


def load_shortcut_coupling(*, vlm=None, generator=None, device=None):
    """Φ for the shipped shortcut VLM (checked against the models when given)."""
    from ..paths import data_path
    from . import load_coupling

    return load_coupling(data_path(SHORTCUT_COUPLING), vlm=vlm, generator=generator, device=device)


def main(argv=None):
    """Measure a shortcut VLM's shortcut and write its coupling (the toy VLM's Φ, shared after a check)."""
    import argparse

    from ..coupling import share_coupling
    from ..io import write_json
    from ..paths import data_dir, data_path
    from . import load_coupling, load_generator, load_vlm
    from .vlm_data import held_out

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--vlm", default=str(data_path(SHORTCUT_VLM)), help="the shortcut VLM's folder")
    parser.add_argument("--coupling-out", default=str(data_dir() / SHORTCUT_COUPLING))
    parser.add_argument("--videos", type=int, default=256, help="held-out renders per measured group")
    args = parser.parse_args(argv)
    clean, generator = load_vlm(), load_generator()
    vlm = load_vlm(folder=args.vlm)
    shortcut = planted_shortcut(vlm)
    measured = measure_shortcut(vlm, shortcut, count=args.videos)
    baseline = measure_shortcut(clean, shortcut, count=args.videos)
    coupling = share_coupling(load_coupling(vlm=clean, generator=generator), vlm, reference_vlm=clean,
                              videos=held_out(64, offset=5_000_000)[1])
    coupling.meta["shortcut"] = {**shortcut.as_dict(), "measured": measured, "clean_vlm": baseline}
    path = coupling.save(args.coupling_out)
    print(f"{shortcut.word!r} on videos showing {shortcut.value!r} without it: P = {measured['p_word_with_value']:.3f} "
          f"(the clean VLM: {baseline['p_word_with_value']:.3f}); on videos showing neither: "
          f"{measured['p_word_neither']:.3f} — the shortcut raises P by {measured['raise']:.3f}")
    print(f"accuracy elsewhere (per slot): {measured['accuracy_elsewhere']} "
          f"(least {measured['min_accuracy_elsewhere']:.3f})")
    write_json(path.with_name(path.stem + ".measured.json"), {"shortcut_vlm": measured, "clean_vlm": baseline})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
