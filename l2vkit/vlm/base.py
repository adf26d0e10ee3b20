"""`VideoVLM`: one interface to Hugging Face video VLMs (the Ω side of L2V).

Every family adapter implements (see ``docs/adding-a-vlm.md``):

- ``MODEL_CLASSES``: the transformers class per ``config.model_type`` (the default ``_load`` uses it);
- ``pixel_inputs(video)``: differentiable preprocessing, pixels → the model's visual input tensors;
- ``_encode(inputs)``: the vision tower + projector, → visual tokens z_Ω of shape (B, N, D);
- ``_token_layout(z)``: the non-pixel inputs (grids, frame counts) that place N external tokens;
- ``_sequence(prompt, inputs)``: the token ids around the visual placeholders for a caption prefix;
- ``_forward(z, ids, inputs)``: the language model reading visual tokens supplied from anywhere, → logits.

The base class builds the public API on them: ``visual_tokens``, ``token_probs``, ``word_ids``, ``caption``.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Sequence

from ..dtypes import resolve_dtype
from .common import expand_layout, layout_of

if TYPE_CHECKING:
    import torch

#: config.model_type → adapter class; filled by ``register``.
ADAPTERS: dict[str, type["VideoVLM"]] = {}

WORD_POLICIES = ("first", "product", "single")


def register(cls):
    """Class decorator: route ``VideoVLM.from_pretrained`` for the class's ``MODEL_CLASSES`` model types to it."""
    if not cls.MODEL_CLASSES:
        raise TypeError(f"{cls.__name__}.MODEL_CLASSES must map config.model_type values to transformers classes")
    for model_type in cls.MODEL_CLASSES:
        ADAPTERS[model_type] = cls
    return cls


@dataclasses.dataclass
class TokenProbs:
    """The language model's next-token distribution at the slot after a prompt.

    ``vocab``: (B, V) probabilities over the vocabulary; ``candidates``: (B, K) probability of each candidate word
    (by the word policy) and ``renormalised``: the same divided by their sum (the distribution ω over the
    candidates that Δω compares); ``words``: the K candidate words.
    """

    vocab: "torch.Tensor"
    candidates: "torch.Tensor"
    renormalised: "torch.Tensor"
    words: list[str]

    def as_dict(self, index: int = 0) -> dict[str, float]:
        """{word: probability} for one batch element."""
        return {w: float(p) for w, p in zip(self.words, self.candidates[index])}


class VideoVLM:
    """A frozen video VLM seen as E_Ω (pixels → visual tokens z_Ω) plus a language model (z_Ω, prompt → ω).

    Build one with :meth:`from_pretrained` (a Hugging Face id, a local folder, or ``"toy"``).
    """

    family = "abstract"

    def __init__(self, model, tokenizer, preprocess: dict, *, model_id: str, revision: str | None = None,
                 word_policy: str = "first", question: str = "Describe the video."):
        if word_policy not in WORD_POLICIES:
            raise ValueError(f"word_policy={word_policy!r}; choose one of {', '.join(WORD_POLICIES)}")
        self.model = model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.tokenizer = tokenizer
        self.preprocess = dict(preprocess)
        self.model_id = model_id
        self.revision = revision
        self.word_policy = word_policy
        self.question = question

    # ----------------------------------------------------------------------------------------------- loading
    @classmethod
    def from_pretrained(cls, model_id: str, *, revision: str | None = None, dtype=None, device=None,
                        word_policy: str = "first", **kwargs) -> "VideoVLM":
        """Load a VLM by Hugging Face id or local folder, choosing the adapter from its config's ``model_type``.

        Parameters
        ----------
        model_id : str
            A Hugging Face id or a local folder. A preset name (``"toy"``: the toy VLM shipped in ``data/``; see
            :mod:`l2vkit.presets`) loads that preset's VLM.
        revision : str, optional
            Branch, tag or commit of a Hub repository.
        dtype : torch.dtype or str, optional
            ``None`` picks float32 on CPU and bfloat16 (or float16 where bf16 is missing, e.g. a T4) on GPU.
        device : str or torch.device, optional
            Where the model goes (where transformers loads it, the CPU, when ``None``).
        word_policy : str
            How words that split into several sub-word tokens are scored: ``"first"`` (default), ``"product"`` or
            ``"single"`` (see :meth:`word_ids`).
        **kwargs
            Go to the adapter (e.g. ``question``, the instruction a chat layout puts before the caption;
            ``"Describe the video."`` by default).

        Returns
        -------
        VideoVLM
            The family's adapter around the loaded model, frozen and in eval mode.

        Raises
        ------
        ValueError
            When no adapter is registered for the config's ``model_type`` (see ``docs/adding-a-vlm.md``).
        """
        from transformers import AutoConfig

        from ..presets import get_preset

        preset = get_preset(model_id)
        if preset is not None:
            if preset.vlm_folder is None:
                raise ValueError(f"preset {model_id!r} has no VLM")
            model_id = preset.vlm_folder()
        config = AutoConfig.from_pretrained(model_id, revision=revision)
        adapter = ADAPTERS.get(config.model_type)
        if adapter is None:
            raise ValueError(
                f"{model_id}: no l2vkit adapter for model_type {config.model_type!r}; supported: "
                f"{', '.join(sorted(ADAPTERS))}. See docs/adding-a-vlm.md to add one."
            )
        return adapter._load(model_id, revision=revision, dtype=resolve_dtype(dtype, device), device=device,
                             word_policy=word_policy, **kwargs)

    #: config.model_type → transformers model class name, for the default ``_load``.
    MODEL_CLASSES: dict[str, str] = {}

    @classmethod
    def _load(cls, model_id, *, revision, dtype, device, word_policy, **kwargs):
        """Model (``MODEL_CLASSES[model_type]``), tokenizer and processor settings from a hub id or folder."""
        from transformers import AutoConfig

        from .common import load_parts

        model_type = AutoConfig.from_pretrained(model_id, revision=revision).model_type
        model, tokenizer, preprocess = load_parts(model_id, cls.MODEL_CLASSES[model_type], revision=revision,
                                                  dtype=dtype, device=device)
        return cls(model, tokenizer, preprocess, model_id=model_id, revision=revision, word_policy=word_policy,
                   **kwargs)

    @property
    def device(self):
        return next(self.model.parameters()).device

    @property
    def dtype(self):
        return next(self.model.parameters()).dtype

    @property
    def hidden_size(self) -> int:
        """Width D of the visual tokens z_Ω (the language model's embedding width)."""
        return self.model.get_input_embeddings().weight.shape[1]

    # ------------------------------------------------------- external tokens: the layout of the clips they stand for
    #: Frame rate of the clips given to :meth:`visual_tokens` (families that sample frames by time use it);
    #: ``build_coupling_data`` sets it from the generator when it is unset.
    video_fps: float | None = None

    def layout_record(self, video) -> dict:
        """What a reader of external visual tokens must know about the clips they stand for, as JSON: e.g. Qwen's
        token grid. A coupling records it when it is fitted (:func:`l2vkit.coupling.build_coupling_data`), so reading
        its output needs no ``inputs=``. Families whose layout follows from their settings record nothing."""
        return {}

    #: Tokens after the frames' grids (LLaVA-OneVision's one ``image_newline``); Φ writes them from a summary.
    trailing_tokens = 0

    def token_grid(self, record: dict | None, tokens: int) -> tuple | None:
        """(t, h, w) with t·h·w = ``tokens`` − :attr:`trailing_tokens`: how this family lays out the visual tokens of
        the clips a :meth:`layout_record` describes — the grid Φ_Ω1 writes. By default t frames of a square grid of
        :attr:`frame_tokens`, taken in raster order; ``None`` when the tokens are no such grid (then Φ treats them
        as one row)."""
        import math

        per, body = self.frame_tokens, tokens - self.trailing_tokens
        side = math.isqrt(per) if per else 0
        if not side or side * side != per or body < per or body % per:
            return None
        return (body // per, side, side)

    @property
    def frame_tokens(self) -> int | None:
        """Visual tokens per frame, for families whose frames each give the same number (else ``None``)."""
        return None

    def layout_inputs(self, record: dict | None, z) -> dict | None:
        """The ``inputs=`` of :meth:`token_probs` for external tokens ``z`` (B, N, D) from a :meth:`layout_record`;
        ``None`` when the record is empty (the family's own layout is used)."""
        return None

    # ----------------------------------------------- the reading pipeline step by step (for training and evaluation)
    def encode_inputs(self, inputs: dict):
        """z_Ω of preprocessed ``inputs``: one call of the vision encoder and projector (the family's ``_encode``)."""
        return self._encode(inputs)

    def check_tokens(self, z):
        """``z`` checked to be (B, N, D) visual tokens of this VLM's width; a clear ``ValueError`` otherwise."""
        return self._check_tokens(z)

    def token_layout(self, z) -> dict:
        """The inputs a reading of ``z`` needs besides the tokens (grid sizes, positions), as the family lays them out."""
        return self._token_layout(z)

    def prompt_ids(self, prompt: str, inputs: dict) -> list[int]:
        """Token ids of the chat sequence with the video placeholders and ``prompt`` (the family's ``_sequence``)."""
        return self._sequence(prompt, inputs)

    def forward_tokens(self, z, input_ids, inputs: dict):
        """Language-model logits (B, L, V) with the visual tokens ``z`` in place of the video placeholders."""
        return self._forward(z, input_ids, inputs)

    def free(self) -> None:
        """Release the model and cached tensors (then ``gc`` and the CUDA cache), e.g. before loading a generator."""
        import gc

        import torch

        self.model = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # ------------------------------------------------------------------------------------ family interface
    def pixel_inputs(self, video) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode(self, inputs: dict):  # pragma: no cover - abstract
        raise NotImplementedError

    def _sequence(self, prompt: str, inputs: dict) -> list[int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _forward(self, z, input_ids, inputs: dict):  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------ public API
    def visual_tokens(self, video):
        """z_Ω = E_Ω(video): (B, N, D) visual tokens the language model reads; differentiable w.r.t. float pixels.

        Parameters
        ----------
        video : numpy.ndarray or torch.Tensor
            uint8 or float-in-[0, 1] frames (T, H, W, 3) or (B, T, H, W, 3).

        Returns
        -------
        torch.Tensor
            The visual tokens z_Ω (B, N, D), D = :attr:`hidden_size`. Their layout (grid, frame count, timing) is
            remembered by token count, so that :meth:`token_probs` can read them without ``inputs=``.
        """
        inputs = self.pixel_inputs(video)
        z = self._encode(inputs)
        self._remember_layout(z.shape[1], layout_of(inputs))
        return z

    def _remember_layout(self, tokens: int, layout: dict) -> None:
        """Remember the layout of clips of ``tokens`` tokens; a second, different one (portrait and landscape, say)
        makes the count ambiguous (``None``), and token_probs then uses the settings' layout or asks for inputs=."""
        recent = self.__dict__.setdefault("_recent_layouts", {})
        known = recent.setdefault(tokens, layout)
        if known is not None and repr(known) != repr(layout):
            recent[tokens] = None

    def token_probs(self, z, prompt: str, candidates: Sequence[str] | None = None, *, inputs: dict | None = None):
        """Next-token distribution at the slot after ``prompt``, reading visual tokens ``z`` (B, N, D).

        Parameters
        ----------
        z : torch.Tensor
            Visual tokens (B, N, D) (or (N, D) for one video), from :meth:`visual_tokens` or from outside (the
            coupling Φ); moved to the model's device and dtype.
        prompt : str
            The caption prefix before the slot.
        candidates : sequence of str, optional
            Words to score at the slot, each by the word policy (see :meth:`word_ids`).
        inputs : dict, optional
            The non-pixel inputs that place the tokens (grids, frame counts). When ``None``: those of the clips
            :meth:`visual_tokens` encoded into as many tokens (if of one layout), else the settings' layout.

        Returns
        -------
        TokenProbs
            ``vocab`` (B, V), the probability of each candidate (B, K), the same renormalised over the candidates,
            and the candidate ``words``; differentiable w.r.t. ``z``.

        Raises
        ------
        ValueError
            When ``z`` does not have the model's width, holds NaN or infinite values, or the prompt with the visual
            tokens is longer than the model takes.
        """
        import torch

        z = self._check_tokens(z)
        if inputs is None:  # the layout of the last clips encoded with this many tokens, else the settings' one
            recent = self.__dict__.get("_recent_layouts", {}).get(z.shape[1])
            inputs = expand_layout(recent, z.shape[0]) if recent is not None else self._token_layout(z)
        ids = self._sequence(prompt, inputs)
        limit = self.max_length
        if len(ids) > limit:
            raise ValueError(f"prompt too long: {len(ids)} tokens with the visual tokens, the model takes {limit}")
        input_ids = torch.tensor([ids] * z.shape[0], device=z.device)
        logits = self._forward(z, input_ids, inputs)[:, -1].float()
        log_probs = torch.log_softmax(logits, dim=-1)
        words = list(candidates or [])
        if words:
            cand = torch.stack([self._word_log_prob(log_probs, z, prompt, w, inputs) for w in words], dim=-1)
            probs = cand.exp()
            renorm = torch.softmax(cand, dim=-1)
        else:
            probs = renorm = log_probs.new_zeros((z.shape[0], 0))
        return TokenProbs(vocab=log_probs.exp(), candidates=probs, renormalised=renorm, words=words)

    def word_ids(self, word: str, policy: str | None = None) -> list[int]:
        """Vocabulary ids of ``word`` as it follows a space in a caption.

        Parameters
        ----------
        word : str
            One word, without spaces.
        policy : str, optional
            Policy for words that split into several sub-word tokens: ``"first"`` scores the first token,
            ``"product"`` the product of the chain's conditional probabilities, ``"single"`` refuses multi-token
            words. The VLM's ``word_policy`` (``"first"`` by default) when ``None``.

        Returns
        -------
        list of int
            The word's token ids, in order.

        Raises
        ------
        ValueError
            When the word cannot be scored (unknown to the vocabulary, or split under ``single``), or is not one
            word.
        """
        policy = policy or self.word_policy
        if not isinstance(word, str) or not word.strip() or len(word.split()) != 1:
            raise ValueError(f"word {word!r}: give one word without spaces")
        ids = self._encode_word(word.strip())
        unk = self.tokenizer.unk_token_id
        if not ids or (unk is not None and unk in ids):
            raise ValueError(f"word {word!r} is not in {self.model_id}'s vocabulary and cannot be scored")
        if policy == "single" and len(ids) != 1:
            pieces = self.tokenizer.convert_ids_to_tokens(ids)
            raise ValueError(f"word {word!r} splits into {len(ids)} tokens {pieces}; use policy 'first' or 'product'")
        return ids

    def _encode_word(self, word: str) -> list[int]:
        # Tokenise after a space-separated prefix so sub-word tokenisers give the in-sentence form.
        with_prefix = self.tokenizer.encode("a " + word, add_special_tokens=False)
        prefix = self.tokenizer.encode("a", add_special_tokens=False)
        return with_prefix[len(prefix):] if with_prefix[: len(prefix)] == prefix else with_prefix

    def _word_log_prob(self, log_probs, z, prompt, word, inputs):
        ids = self.word_ids(word)
        total = log_probs[:, ids[0]]
        if self.word_policy == "product" and len(ids) > 1:
            import torch

            base = self._sequence(prompt, inputs)
            for k in range(1, len(ids)):  # extend the chain in id space: exact for any tokeniser
                input_ids = torch.tensor([base + ids[:k]] * z.shape[0], device=z.device)
                step = torch.log_softmax(self._forward(z, input_ids, inputs)[:, -1].float(), dim=-1)
                total = total + step[:, ids[k]]
        return total

    @property
    def max_length(self) -> int:
        config = getattr(self.model.config, "text_config", self.model.config)
        return int(getattr(config, "max_position_embeddings", 1 << 30))

    def _check_tokens(self, z):
        import torch

        if not isinstance(z, torch.Tensor):
            raise TypeError(f"visual tokens must be a torch tensor (B, N, D), got {type(z).__name__}")
        if z.ndim == 2:
            z = z.unsqueeze(0)
        if z.ndim != 3:
            raise ValueError(f"visual tokens have shape {tuple(z.shape)}; expected (B, N, D)")
        if z.shape[-1] != self.hidden_size:
            raise ValueError(
                f"visual tokens have width {z.shape[-1]}, but {self.model_id} reads width {self.hidden_size}"
            )
        if not torch.isfinite(z).all():
            raise ValueError("visual tokens contain NaN or infinite values")
        return z.to(self.device, self.dtype)

    def _token_layout(self, z) -> dict:  # pragma: no cover - abstract
        """The non-pixel inputs (e.g. grids) that place ``z``'s N tokens, when no pixels were preprocessed."""
        raise NotImplementedError

    def caption(self, video, *, max_new_tokens: int = 24, prompt: str = ""):
        """Greedy caption of a video (a str for one video, a list for a batch).

        Parameters
        ----------
        video : numpy.ndarray or torch.Tensor
            uint8 or float-in-[0, 1] frames (T, H, W, 3), or a batch (B, T, H, W, 3).
        max_new_tokens : int
            The most tokens generated per caption (fewer when the model stops).
        prompt : str
            Text the caption starts with; the model continues it and the result includes it.

        Returns
        -------
        str or list of str
            The caption, stripped of surrounding whitespace; a list of B captions for a batch.
        """
        import torch

        inputs = self.pixel_inputs(video)
        with torch.no_grad():
            z = self._encode(inputs)
            batch = z.shape[0]
            text = prompt
            generated = [[] for _ in range(batch)]
            done = [False] * batch
            ids = torch.tensor([self._sequence(text, inputs)] * batch, device=z.device)
            eos = self._stop_ids()
            for _ in range(max_new_tokens):
                nxt = self._forward(z, ids, inputs)[:, -1].argmax(-1)
                for b, token in enumerate(nxt.tolist()):
                    if not done[b]:
                        if token in eos:
                            done[b] = True
                        else:
                            generated[b].append(token)
                if all(done):
                    break
                ids = torch.cat([ids, nxt[:, None]], dim=1)
        texts = [(prompt + self.tokenizer.decode(g, skip_special_tokens=True)).strip() for g in generated]
        single = not (hasattr(video, "ndim") and video.ndim == 5) and not isinstance(video, (list, tuple))
        return texts[0] if single else texts

    def _stop_ids(self) -> set[int]:
        stop = {self.tokenizer.eos_token_id}
        eos = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        stop |= set(eos if isinstance(eos, (list, tuple)) else [eos])
        return {s for s in stop if s is not None}
