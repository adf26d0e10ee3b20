"""A fitted coupling Φ (``CouplingResult``): reading latents through it, and saving and loading it as a file or a
shareable folder."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

from .networks import MERGES, NEEDS_LOCAL, CouplingConfig

if TYPE_CHECKING:
    import torch

    from .networks import Coupling

FORMAT_VERSION = 1
METADATA_KEY = "l2vkit_coupling"


@dataclasses.dataclass
class CouplingResult:
    """A fitted coupling Φ: ``model`` (a :class:`~l2vkit.coupling.networks.Coupling`), its ``config``, ``meta``
    (model identities, seeds, versions, data settings) and the training ``history`` (one dict per logged step)."""

    model: "Coupling"
    config: CouplingConfig
    meta: dict
    history: list

    # ------------------------------------------------------------------------------------------------- reading
    def read(self, z, condition, *, merge: str = "global", local_tokens=None, vlm=None, generator=None):
        """z̃_Ω = Φ(z, π): (B, N, D) visual tokens the VLM can read, from latents z and their condition π.

        Parameters
        ----------
        z : torch.Tensor
            Latents (B, C, F, h, w): x̂0 estimates or clean latents (one latent (C, F, h, w) is read as a batch
            of one).
        condition : Condition or torch.Tensor
            Their condition: a generator ``Condition`` or a (B, L, E) tensor.
        merge : str
            How Φ's branches are merged. ``"global"`` (default) uses Φ_Ω1 alone and needs no decode — the fast
            path used inside sampling loops. The merges that use the local branch ({local}) need E_Ω(D_Ξ(z)).
        local_tokens : torch.Tensor, optional
            E_Ω(D_Ξ(z)) for the local branch, when you have it.
        vlm, generator : VideoVLM, VideoGenerator, optional
            Without ``local_tokens``, a merge that uses the local branch computes E_Ω(D_Ξ(z)) with these (a decode
            and a VLM encode per read).

        Returns
        -------
        torch.Tensor
            z̃_Ω, (B, N, D) visual tokens the VLM can read, on Φ's device.

        Raises
        ------
        ValueError
            For an unknown ``merge``, or a merge that uses the local branch with neither ``local_tokens`` nor
            ``vlm`` and ``generator``.
        """
        import torch

        if merge not in MERGES:
            raise ValueError(f"merge={merge!r}; choose one of {', '.join(MERGES)}")
        embeds, mask = _condition_parts(condition)
        if not torch.isfinite(embeds).all():
            raise ValueError("the condition π holds NaN or infinite values; check the concept vectors and strengths")
        z = _check_latents(z, self.config)
        model_device = next(self.model.parameters()).device
        if merge in NEEDS_LOCAL and local_tokens is None:
            if vlm is None or generator is None:
                raise ValueError(f"merge={merge!r} reads the local branch from E_Ω(D_Ξ(z)); pass vlm= and generator= "
                                 "(or local_tokens=), or use merge='global'")
            with torch.no_grad():
                local_tokens = vlm.visual_tokens(generator.decode(z)).float()
        if local_tokens is not None:
            local_tokens = local_tokens.to(model_device, torch.float32)
        return self.model(z.to(model_device, torch.float32), embeds.to(model_device, torch.float32),
                          None if mask is None else mask.to(model_device), local_tokens, merge=merge)

    read.__doc__ = read.__doc__.format(local=", ".join(repr(m) for m in NEEDS_LOCAL))

    def token_probs(self, vlm, z, condition, prompt: str, candidates=None, *, merge: str = "global", generator=None):
        """The VLM's next-token probabilities after ``prompt``, reading latents through Φ (see :meth:`read`).

        Parameters
        ----------
        vlm : VideoVLM
            The VLM Ω that reads the tokens z̃_Ω (moved to its device and dtype).
        z : torch.Tensor
            Latents (B, C, F, h, w), as in :meth:`read`.
        condition : Condition or torch.Tensor
            Their condition π, as in :meth:`read`.
        prompt : str
            The text before the slot whose next token is scored.
        candidates : sequence of str, optional
            Words whose probabilities are also returned (see :meth:`l2vkit.vlm.VideoVLM.token_probs`).
        merge : str
            How Φ's branches are merged, as in :meth:`read` (``"global"`` by default).
        generator : VideoGenerator, optional
            Needed, with ``vlm``, by the merges that use the local branch.

        Returns
        -------
        TokenProbs
            The distribution over the vocabulary and over ``candidates`` (:class:`l2vkit.vlm.base.TokenProbs`).
        """
        tokens = self.read(z, condition, merge=merge, vlm=vlm, generator=generator)
        inputs = self.reader_inputs(vlm, tokens)
        return vlm.token_probs(tokens.to(vlm.device, vlm.dtype), prompt, candidates, inputs=inputs)

    def reader_inputs(self, vlm, tokens) -> dict | None:
        """The ``inputs=`` with which ``vlm`` reads Φ's output ``tokens``: the token layout of the clips Φ was fitted
        on (recorded in ``meta["data"]["token_layout"]``), or ``None`` (the VLM's own layout, e.g. older couplings)."""
        return vlm.layout_inputs((self.meta.get("data") or {}).get("token_layout"), tokens)

    # ------------------------------------------------------------------------------------------- save / load
    def header(self) -> dict:
        return {"format_version": FORMAT_VERSION, "config": self.config.as_dict(), "meta": self.meta,
                "history": self.history}

    def save(self, path) -> Path:
        """``path`` (.safetensors): weights plus the JSON header in the file's metadata, written atomically (an
        interrupted save keeps the previous file); a readable copy of the header goes to ``path`` with .json, naming
        the file's SHA-256 (so a copy left stale by a killed save shows it)."""
        from ..io import save_safetensors, write_sidecar

        path = Path(path)
        if path.suffix != ".safetensors":
            path = path.with_suffix(".safetensors")
        header = self.header()
        save_safetensors(path, self.model.state_dict(), {METADATA_KEY: json.dumps(header)})
        write_sidecar(path, header)
        return path

    def save_pretrained(self, folder) -> Path:
        """Write a shareable folder like a Hugging Face model's, atomically.

        The folder holds ``model.safetensors``, ``config.json`` (config, provenance, the VLM and generator Φ was
        fitted for) and a ``README.md`` model card. Everything is written beside it and then takes its place, so an
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

        c = self.config
        ids = {role: (self.meta.get(role) or {}).get("model_id") for role in ("vlm", "generator")}
        summary = (f"A coupling Φ fitted by l2vkit: it maps latents "
                   f"{tuple(c.latent_shape)} of the generator `{ids['generator']}` (with their text condition) to "
                   f"{c.tokens} visual tokens of width {c.token_dim} that the VLM `{ids['vlm']}` reads.")
        return save_folder(folder, "coupling", self.model.state_dict(), self.header(), summary=summary)

    @classmethod
    def from_pretrained(cls, dir_or_hub_id, *, vlm=None, generator=None, device=None,
                        revision: str | None = None) -> "CouplingResult":
        """Load a coupling saved by :meth:`save_pretrained` (or a single ``.safetensors`` file of :meth:`save`).

        Parameters
        ----------
        dir_or_hub_id : str or pathlib.Path
            A local folder, or a Hub repository id (downloaded at ``revision``); a single ``.safetensors`` file of
            :meth:`save` is read as before.
        vlm, generator : VideoVLM, VideoGenerator, optional
            When given, refuse a coupling fitted for other models (the error names both).
        device : str or torch.device, optional
            Where the model goes (the CPU by default).
        revision : str, optional
            Branch, tag or commit of a Hub repository.

        Returns
        -------
        CouplingResult
            The coupling in eval mode, with its ``config``, ``meta`` and training ``history``.

        Raises
        ------
        ValueError
            When it was fitted for other models than ``vlm`` / ``generator``, or its weights do not match its own
            header.
        """
        from ..artifacts import load_folder, single_file

        file = single_file(dir_or_hub_id)
        if file is not None:
            return cls.load(file, vlm=vlm, generator=generator, device=device)
        tensors, header, folder = load_folder(dir_or_hub_id, "coupling", FORMAT_VERSION, revision=revision)
        return cls._from_parts(tensors, header, folder, vlm=vlm, generator=generator, device=device)

    @classmethod
    def load(cls, path, *, vlm=None, generator=None, device=None) -> "CouplingResult":
        """Load a saved coupling (a :meth:`save` file, or a :meth:`save_pretrained` folder); with ``vlm`` /
        ``generator`` given, refuse one fitted for other models."""
        from ..io import load_artifact

        path = Path(path)
        if path.is_dir():
            return cls.from_pretrained(path, vlm=vlm, generator=generator, device=device)
        if path.suffix != ".safetensors" and path.with_suffix(".safetensors").exists():
            path = path.with_suffix(".safetensors")
        tensors, header = load_artifact(path, "coupling", METADATA_KEY, FORMAT_VERSION, "refit with `l2vkit fit`")
        return cls._from_parts(tensors, header, path, vlm=vlm, generator=generator, device=device)

    @classmethod
    def _from_parts(cls, tensors, header, source, *, vlm, generator, device) -> "CouplingResult":
        import torch

        from .networks import Coupling

        if not isinstance(header.get("config"), dict) or not isinstance(header.get("meta", {}), dict):
            raise ValueError(f"{source}: the header has no 'config' mapping; the file is damaged — refit with `l2vkit fit`")
        try:  # files written before Φ_Ω1 had a choice of architecture hold the dense mixer
            config = CouplingConfig(**{"architecture": "dense", **header["config"]})
        except (TypeError, ValueError) as err:
            raise ValueError(f"{source}: its header's {err}") from None
        broken = sorted(name for name, t in tensors.items() if t.is_floating_point() and not torch.isfinite(t).all())
        if broken:
            raise ValueError(f"{source}: weight(s) {', '.join(broken[:3])}{' …' if len(broken) > 3 else ''} hold NaN "
                             "or infinite values; the file is damaged — refit with `l2vkit fit`")
        model = Coupling(config)
        try:
            model.load_state_dict(tensors)
        except RuntimeError as err:
            raise ValueError(f"{source}: weights do not match its own header ({str(err).splitlines()[0]})") from None
        result = cls(model.eval().requires_grad_(False).to(device or "cpu"), config, header["meta"],
                     header.get("history", []))
        result.check_models(vlm=vlm, generator=generator)
        return result

    def check_models(self, *, vlm=None, generator=None) -> None:
        """Raise ``ValueError`` naming both sides when ``vlm`` / ``generator`` are not the models Φ was fitted for."""
        from ..artifacts import check_identity

        check_identity(self.meta, vlm=vlm, generator=generator, what="coupling")


def _condition_parts(condition):
    import torch

    if isinstance(condition, torch.Tensor):
        return condition, None
    if hasattr(condition, "embeds"):
        return condition.embeds, condition.mask
    raise TypeError(f"condition must be a generator Condition or a (B, L, E) tensor, got {type(condition).__name__}")


def _check_latents(z, config: CouplingConfig):
    import torch

    if not isinstance(z, torch.Tensor):
        raise TypeError(f"latents must be a torch tensor (B, C, F, h, w), got {type(z).__name__}")
    if z.ndim == 4:
        z = z.unsqueeze(0)
    if tuple(z.shape[1:]) != tuple(config.latent_shape):
        raise ValueError(f"latents have shape {tuple(z.shape)}; this coupling reads (B, {', '.join(map(str, config.latent_shape))})")
    if not torch.isfinite(z).all():
        raise ValueError("latents contain NaN or infinite values")
    return z


# ------------------------------------------------------------------------------------------------------ fitting
