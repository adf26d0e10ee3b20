"""A trained concept bank: one q_o per contrast pair, saved as a file or a shareable folder."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

FORMAT_VERSION = 1
METADATA_KEY = "l2vkit_concepts"


@dataclasses.dataclass
class ConceptBank:
    """Trained concept vectors q_o (L, E) by pair name, their pairs, provenance and training history.

    ``bank.pairs`` lists the names (``"red->blue"``, …); ``bank["red->blue"]`` is q; ``bank.spec(name)`` the pair.
    """

    vectors: dict
    specs: dict
    meta: dict
    history: list = dataclasses.field(default_factory=list)

    @property
    def pairs(self) -> list[str]:
        return list(self.vectors)

    def __getitem__(self, name: str):
        if name not in self.vectors:
            raise KeyError(f"no concept {name!r} in this bank; it has {', '.join(self.pairs)}")
        return self.vectors[name]

    def __contains__(self, name) -> bool:
        return name in self.vectors

    def without(self, names) -> "ConceptBank":
        """The bank less the pairs ``names`` (e.g. to judge a concept network on pairs the bank has)."""
        drop = set(names)
        keep = [n for n in self.pairs if n not in drop]
        return dataclasses.replace(self, vectors={n: self.vectors[n] for n in keep},
                                   specs={n: self.specs[n] for n in keep})

    def spec(self, name: str):
        self[name]
        return self.specs[name]

    def strength_range(self, name: str) -> dict | None:
        """The φ range measured to keep the pair's other attributes (``low``, ``high``: ``None`` when no φ did;
        ``kept_at_least``, ``seeds``), or ``None`` when the bank records none (see
        :mod:`l2vkit.toyworld.strength_range`)."""
        self[name]
        return (self.meta.get("strength_range") or {}).get(name)

    def references(self, name: str) -> list | None:
        """Captions of the layouts the pair's q was trained on (:mod:`l2vkit.concepts.placement`), or ``None`` when
        the bank records none (q is then added as trained, position by position)."""
        self[name]
        return (self.meta.get("reference_captions") or {}).get(name)

    def header(self) -> dict:
        from .validate import digest

        pairs = {n: dataclasses.asdict(p) for n, p in self.specs.items()}
        pairs = json.loads(json.dumps(pairs))  # as the file will hold it (tuples become lists)
        return {"format_version": FORMAT_VERSION, "pairs": pairs, "meta": self.meta, "history": self.history,
                "digest": digest(pairs, self.vectors)}

    def save(self, path) -> Path:
        """``path`` (.safetensors) with the JSON header in its metadata, atomically; a readable .json copy beside."""
        from ..io import save_safetensors, write_sidecar

        path = Path(path).with_suffix(".safetensors")
        header = self.header()
        save_safetensors(path, self.vectors, {METADATA_KEY: json.dumps(header)})
        write_sidecar(path, header)
        return path

    def save_pretrained(self, folder) -> Path:
        """Write a shareable folder like a Hugging Face model's, atomically.

        The folder holds ``model.safetensors``, ``config.json`` (pairs, provenance, the generator and VLM it was
        trained for) and a ``README.md`` model card. Everything is written beside it and then takes its place, so an
        interrupted save keeps the previous folder; other files in an existing artifact folder (a Hub clone's
        ``.git``) are kept.

        Parameters
        ----------
        folder : str or pathlib.Path
            The folder to write (created, or replaced when it already holds an l2vkit artifact).

        Returns
        -------
        pathlib.Path
            ``folder``; load it with :meth:`from_pretrained`.

        Raises
        ------
        FileExistsError
            When ``folder`` exists and is not an l2vkit artifact folder (it is refused, not overwritten).
        """
        from ..artifacts import save_folder

        model = (self.meta.get("generator") or {}).get("model_id")
        summary = (f"Concept vectors q_o trained by l2vkit for the generator `{model}`: one direction in its text "
                   f"condition space per contrast pair ({', '.join(f'`{n}`' for n in self.pairs)}).")
        return save_folder(folder, "concept_bank", self.vectors, self.header(), summary=summary)

    @classmethod
    def from_pretrained(cls, dir_or_hub_id, *, generator=None, vlm=None, revision: str | None = None) -> "ConceptBank":
        """Load a bank saved by :meth:`save_pretrained` (or a single ``.safetensors`` file of :meth:`save`).

        Parameters
        ----------
        dir_or_hub_id : str or pathlib.Path
            A local folder, or a Hub repository id (downloaded at ``revision``); a single ``.safetensors`` file of
            :meth:`save` is read as before.
        generator, vlm : VideoGenerator, VideoVLM, optional
            When given, refuse a bank trained for other models (the error names both).
        revision : str, optional
            Branch, tag or commit of a Hub repository.

        Returns
        -------
        ConceptBank
            The vectors q by pair name, the pairs, provenance and training history.

        Raises
        ------
        ValueError
            When the bank was trained for another generator (or a condition of another width) or another VLM.
        """
        from ..artifacts import check_identity, load_folder, single_file

        file = single_file(dir_or_hub_id)
        if file is not None:
            bank = cls.load(file, generator=generator)
        else:
            tensors, header, _ = load_folder(dir_or_hub_id, "concept_bank", FORMAT_VERSION, revision=revision)
            bank = cls._from_parts(tensors, header, generator, where=str(dir_or_hub_id))
        check_identity(bank.meta, vlm=vlm, what="concept_bank")
        return bank

    @classmethod
    def load(cls, path, *, generator=None, verify_digest: bool = True) -> "ConceptBank":
        """Load a bank (a :meth:`save` file, or a :meth:`save_pretrained` folder); with ``generator`` given,
        refuse one trained for another generator (the error names both). A bank whose words or vectors differ from
        what was saved is refused; ``verify_digest=False`` reads one saved before banks carried a digest (re-save
        it to add one)."""
        from ..io import load_artifact

        path = Path(path)
        if path.is_dir():
            return cls.from_pretrained(path, generator=generator)
        if path.suffix != ".safetensors":
            if path.is_file():
                raise ValueError(f"{path} is not a concept bank: banks are .safetensors files (or saved folders)")
            path = path.with_suffix(".safetensors")
        tensors, header = load_artifact(path, "concept bank", METADATA_KEY, FORMAT_VERSION,
                                        "retrain with `l2vkit concepts`")
        return cls._from_parts(tensors, header, generator, where=str(path), verify_digest=verify_digest)

    @classmethod
    def _from_parts(cls, tensors, header, generator, *, where: str, verify_digest: bool = True) -> "ConceptBank":
        from .validate import checked_pairs

        specs = checked_pairs(tensors, header, where, verify_digest=verify_digest)
        bank = cls({n: tensors[n] for n in specs}, specs, header.get("meta", {}), header.get("history", []))
        if generator is not None:
            bank.check_generator(generator)
        return bank

    def check_generator(self, generator) -> None:
        """Raise ``ValueError`` naming both generators when ``generator`` is not the one this bank was trained for."""
        from ..artifacts import check_identity

        check_identity(self.meta, generator=generator, what="concept_bank")
        vector = next(iter(self.vectors.values()))
        width = int(vector.shape[-1])
        if width != generator.text_dim:
            raise ValueError(f"concept vectors have width {width}, the generator's condition {generator.text_dim}")
        if vector.ndim == 2 and vector.shape[0] != generator.text_len:
            raise ValueError(f"concept vectors are {vector.shape[0]} caption tokens long, but the generator encodes "
                             f"captions to text_len={generator.text_len}; load it with text_len={vector.shape[0]} "
                             f"(on the command line --text-len {vector.shape[0]})")


# ---------------------------------------------------------------------------------------------- training
