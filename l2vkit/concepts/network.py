"""An amortised concept network h(π⁻, π⁺) → q: the concept vector of any word swap in one forward pass.

A bank holds one trained q_o per pair, so a new pair costs a training run. The network is trained once, with the
bank's objective, over many pairs and captions at once:

    ‖sg[G(z_t, π⁻, t) + Δω·Δv] − G(z_t, π⁻ + Δω·h(π⁻, π⁺), t)‖²

and then gives q for a pair it never saw from the two captions alone. It reads them token by token, as the
generator's text encoder gives them: q = (π⁺ − π⁻) + r(π⁻, π⁺), where r is a small transformer over the caption's
tokens, reading π⁻ and π⁺ − π⁻, whose last layer starts at zero. Untrained, q is the prompt embeddings' difference
(at φ = 1 the prompt swap); training is to learn what the per-pair vectors learn beyond it (their cosine with
π⁺ − π⁻ is only 0.44–0.65 on the toy bank; on the toy world it learns little that transfers, see
docs/concept-network.md). Because q is computed for the caption being steered, its rows are in place whatever the
word order. h runs on the device its weights are on (the CPU unless moved); q is returned where π⁻ is.

The network knows its words by slot (``vocabulary``): a pair of two words of one slot is any pair it can give, held
out in training or not; a word it does not know, or two words of different slots, are refused.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

if TYPE_CHECKING:
    import torch

FORMAT_VERSION = 1
METADATA_KEY = "l2vkit_concept_network"
#: the residual transformer's size: ~0.4M parameters over MiniLM's 384-wide tokens
ARCHITECTURE = {"hidden": 128, "heads": 4, "layers": 2, "ffn": 256}


def build_module(width: int, *, hidden: int = 128, heads: int = 4, layers: int = 2, ffn: int = 256, seed: int = 0):
    """h as a ``torch.nn.Module``: ``module(minus, plus)`` maps two (B, L, width) captions to q (B, L, width). Its
    weights are drawn from a CPU generator seeded with ``seed``; the output layer starts at zero (q = π⁺ − π⁻)."""
    import torch

    class ConceptHyperNetwork(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = torch.nn.Linear(2 * width, hidden)
            layer = torch.nn.TransformerEncoderLayer(hidden, heads, ffn, dropout=0.0, batch_first=True,
                                                     norm_first=True)
            self.encoder = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.out = torch.nn.Linear(hidden, width)

        def forward(self, minus, plus):
            difference = plus - minus
            return difference + self.out(self.encoder(self.inp(torch.cat([minus, difference], dim=-1))))

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = ConceptHyperNetwork()
    torch.nn.init.zeros_(module.out.weight)
    torch.nn.init.zeros_(module.out.bias)
    return module


@dataclasses.dataclass
class ConceptNetwork:
    """A trained h with the words it knows (``vocabulary``: slot → words; ``families``: slot → family), its
    ``config`` (width and :data:`ARCHITECTURE`), ``meta`` (provenance, training settings, the pairs it trained on and
    those held out) and loss ``history``."""

    module: "torch.nn.Module"
    config: dict
    vocabulary: dict
    families: dict
    meta: dict
    history: list = dataclasses.field(default_factory=list)

    # ------------------------------------------------------------------------------------------- pairs
    def slot_of(self, word: str) -> str:
        """The slot ``word`` fills; ``KeyError`` naming the known words when the network does not know it."""
        for slot, words in self.vocabulary.items():
            if word in words:
                return slot
        known = "; ".join(f"{slot}: {', '.join(words)}" for slot, words in self.vocabulary.items())
        raise KeyError(f"the concept network does not know the word {word!r}; it knows {known}")

    def pair(self, name: str):
        """The :class:`~l2vkit.pairs.ContrastPair` for ``"<source>-><target>"``: two known words of one slot;
        ``KeyError`` naming the problem otherwise."""
        from ..pairs import ContrastPair

        source, arrow, target = name.partition("->")
        if not arrow or not source or not target:
            raise KeyError(f"{name!r} is not a pair name; write it '<source>-><target>', e.g. 'yellow->purple'")
        slots = self.slot_of(source), self.slot_of(target)
        if slots[0] != slots[1]:
            raise KeyError(f"{name!r} swaps words of two slots ({source!r} is a {slots[0]}, {target!r} a {slots[1]}); "
                           "a concept edits one slot: pick two words of the same slot")
        if source == target:
            raise KeyError(f"{name!r} swaps a word for itself")
        return ContrastPair(source, target, slots[0], self.families.get(slots[0], slots[0]))

    def knows(self, name: str) -> bool:
        try:
            self.pair(name)
        except KeyError:
            return False
        return True

    # ----------------------------------------------------------------------------------------- vectors
    def vectors(self, generator, captions: Sequence[str], pair) -> "torch.Tensor":
        """q (B, L, E) for each caption steered by ``pair``: h(π⁻, π⁺) on the caption and the caption with the pair's
        source word swapped for its target word. A caption that holds the target word instead (steering back) gets
        −h(π⁺, π⁻), so that φ < 0 steers it towards the source word as a bank's q does.

        Raises ``ValueError`` when a caption holds neither word, or when the generator's tokenizer splits the two
        words into different numbers of tokens (h pairs the captions' tokens position by position)."""
        import torch

        from ..pairs import held_word, slot_word_count
        from .cache import swap_word

        minus, plus, signs = [], [], []
        for caption in captions:
            forward = held_word(pair, caption) == pair.source
            step = pair if forward else dataclasses.replace(pair, source=pair.target, target=pair.source, name="")
            if slot_word_count(step.target, caption):
                raise ValueError(f"caption {caption!r} holds both {pair.source!r} and {pair.target!r}; the swap would "
                                 f"leave {step.target!r} twice")
            other = swap_word(step, caption)
            _check_split(generator, step, caption, other)
            minus.append(caption)
            plus.append(other)
            signs.append(1.0 if forward else -1.0)
        cond_m, cond_p = generator.encode_prompt(minus), generator.encode_prompt(plus)
        if cond_m.mask is not None and cond_p.mask is not None and not torch.equal(cond_m.mask, cond_p.mask):
            raise ValueError(f"the generator encodes {pair.source!r} and {pair.target!r} into different numbers of "
                             "tokens: the concept network pairs the two captions' tokens position by position, so it "
                             "cannot give this pair; train a vector for it (l2vkit.concepts.train_concepts)")
        return self.forward(cond_m.embeds, cond_p.embeds, torch.tensor(signs))

    def forward(self, minus, plus, signs=None):
        """h on encoded captions (B, L, E) without gradients, computed on the module's device and in its dtype and
        returned on ``minus``'s device in its dtype; ``signs`` (B,) scales the rows."""
        import torch

        param = next(self.module.parameters())
        with torch.no_grad():
            q = self.module(minus.to(param.device, param.dtype), plus.to(param.device, param.dtype))
        if signs is not None:
            q = q * signs.to(q.device, q.dtype).view(-1, 1, 1)
        return q.to(minus.device, minus.dtype)

    # ----------------------------------------------------------------------------------------- saving
    def header(self) -> dict:
        return {"format_version": FORMAT_VERSION, "config": self.config, "vocabulary": self.vocabulary,
                "families": self.families, "meta": self.meta, "history": self.history}

    def save(self, path) -> Path:
        """``path`` (.safetensors) with the JSON header in its metadata, atomically; a readable .json copy beside."""
        from ..io import save_safetensors, write_sidecar

        path = Path(path).with_suffix(".safetensors")
        header = json.loads(json.dumps(self.header()))
        tensors = {k: v.detach().contiguous() for k, v in self.module.state_dict().items()}
        save_safetensors(path, tensors, {METADATA_KEY: json.dumps(header)})
        write_sidecar(path, header)
        return path

    def save_pretrained(self, folder) -> Path:
        """A shareable folder like a bank's (``model.safetensors``, ``config.json``, ``README.md``), atomically."""
        from ..artifacts import save_folder

        model = (self.meta.get("generator") or {}).get("model_id")
        summary = (f"A concept network trained by l2vkit for the generator `{model}`: h(π⁻, π⁺) → q for any swap "
                   "of two words of one slot.")
        return save_folder(folder, "concept_network", self.module.state_dict(), json.loads(json.dumps(self.header())),
                           summary=summary)

    @classmethod
    def load(cls, path, *, generator=None, revision: str | None = None) -> "ConceptNetwork":
        """Load a network saved by :meth:`save` (a file) or :meth:`save_pretrained` (a folder, or a Hub id); with
        ``generator`` given, refuse one trained for another."""
        from ..artifacts import load_folder
        from ..io import load_artifact

        path = Path(path)
        if path.is_dir() or (not path.suffix and not path.with_suffix(".safetensors").exists()):
            tensors, header, _ = load_folder(path, "concept_network", FORMAT_VERSION, revision=revision)
        else:
            tensors, header = load_artifact(path.with_suffix(".safetensors"), "concept network", METADATA_KEY,
                                            FORMAT_VERSION, "retrain it (l2vkit.concepts.train_concept_network)")
        config = header["config"]
        module = build_module(config["width"], **{k: config[k] for k in ARCHITECTURE})
        missing = set(module.state_dict()) ^ set(tensors)
        if missing:
            raise ValueError(f"{path} does not hold a concept network of its recorded size (differing weights: "
                             f"{', '.join(sorted(missing)[:4])}); retrain it")
        module.load_state_dict(tensors)  # safetensors: nothing is unpickled
        module.eval()
        network = cls(module, config, {k: list(v) for k, v in header["vocabulary"].items()}, header["families"],
                      header.get("meta", {}), header.get("history", []))
        if generator is not None:
            network.check_generator(generator)
        return network

    def check_generator(self, generator) -> None:
        """Raise ``ValueError`` naming both generators when ``generator`` is not the one this network was trained
        for."""
        from ..artifacts import check_identity

        check_identity(self.meta, generator=generator, what="concept_network")
        if self.config["width"] != generator.text_dim:
            raise ValueError(f"the concept network reads {self.config['width']}-wide tokens, the generator's condition "
                             f"is {generator.text_dim} wide")


def _check_split(generator, pair, minus: str, plus: str) -> None:
    """Both slot words must take as many tokens in the generator's tokenizer (h pairs tokens by position)."""
    from .placement import generator_tokenizer, token_layout

    tokenizer = generator_tokenizer(generator)
    if tokenizer is None:
        return
    a = token_layout(tokenizer, minus, pair.source, generator.text_len)
    b = token_layout(tokenizer, plus, pair.target, generator.text_len)
    if len(a.keys) != len(b.keys) or a.slot != b.slot:
        raise ValueError(f"the generator's tokenizer splits {pair.source!r} into {len(a.slot)} token(s) and "
                         f"{pair.target!r} into {len(b.slot)} (the captions take {len(a.keys)} and {len(b.keys)} "
                         "tokens): the concept network pairs the two captions' tokens "
                         "position by position, so it cannot give this pair; train a vector for it "
                         "(l2vkit.concepts.train_concepts)")


def vocabulary_of(pairs, vocabulary: Mapping[str, Sequence[str]] | None = None) -> dict:
    """The words by slot a network trained on ``pairs`` may swap: ``vocabulary`` when given (e.g. the toy world's
    every attribute value, including words held out of training), else the pairs' own words."""
    if vocabulary is not None:
        return {slot: list(words) for slot, words in vocabulary.items()}
    out: dict = {}
    for p in pairs:
        for word in (p.source, p.target):
            if word not in out.setdefault(p.slot, []):
                out[p.slot].append(word)
    return out
