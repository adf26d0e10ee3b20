"""Fitting Φ (``fit_coupling``) and the fitted artifact (``CouplingResult``: read, save, load)."""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from .networks import MERGES, NEEDS_LOCAL, CouplingConfig

FORMAT_VERSION = 1
METADATA_KEY = "l2vkit_coupling"
#: Training stages in order: Φ_Ω1 by MSE, Φ_Ω2 by the Gram loss, then the ρ-OT projections by MSE + Gram.
STAGES = ("global", "local", "rho")
DEFAULT_STEPS = {"global": 2000, "local": 600, "rho": 200}


@dataclasses.dataclass
class CouplingResult:
    """A fitted coupling Φ: ``model`` (a :class:`~l2vkit.coupling.networks.Coupling`), its ``config``, ``meta``
    (model identities, seeds, versions, data settings) and the training ``history`` (one dict per logged step)."""

    model: "object"
    config: CouplingConfig
    meta: dict
    history: list

    # ------------------------------------------------------------------------------------------------- reading
    def read(self, z, condition, *, merge: str = "global", local_tokens=None, vlm=None, generator=None):
        """z̃_Ω = Φ(z, π): (B, N, D) visual tokens the VLM can read, from latents z (B, C, F, h, w) (x̂0 estimates
        or clean latents) and their condition (a generator ``Condition`` or a (B, L, E) tensor).

        ``merge="global"`` (default) uses Φ_Ω1 alone and needs no decode — the fast path used inside sampling
        loops. The merges that use the local branch ({local}) need E_Ω(D_Ξ(z)): pass ``local_tokens`` or the
        ``vlm`` and ``generator`` to compute them (a decode and a VLM encode per read).
        """
        import torch

        if merge not in MERGES:
            raise ValueError(f"merge={merge!r}; choose one of {', '.join(MERGES)}")
        embeds, mask = _condition_parts(condition)
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
        """The VLM's next-token probabilities after ``prompt`` reading latents through Φ (see :meth:`read`)."""
        tokens = self.read(z, condition, merge=merge, vlm=vlm, generator=generator)
        return vlm.token_probs(tokens.to(vlm.device, vlm.dtype), prompt, candidates)

    # ------------------------------------------------------------------------------------------- save / load
    def header(self) -> dict:
        return {"format_version": FORMAT_VERSION, "config": self.config.as_dict(), "meta": self.meta,
                "history": self.history}

    def save(self, path) -> Path:
        """``path`` (.safetensors): weights plus the JSON header in the file's metadata, written atomically (an
        interrupted save keeps the previous file); a readable copy of the header goes to ``path`` with .json."""
        from safetensors.torch import save_file

        from ..io import atomic_path, write_json

        path = Path(path)
        if path.suffix != ".safetensors":
            path = path.with_suffix(".safetensors")
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        header = self.header()
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata={METADATA_KEY: json.dumps(header)})
        write_json(path.with_suffix(".json"), header)
        return path

    @classmethod
    def load(cls, path, *, vlm=None, generator=None, device=None) -> "CouplingResult":
        """Load a saved coupling; with ``vlm`` / ``generator`` given, refuse one fitted for other models."""
        from ..io import load_artifact
        from .networks import Coupling

        path = Path(path)
        if path.suffix != ".safetensors" and path.with_suffix(".safetensors").exists():
            path = path.with_suffix(".safetensors")
        tensors, header = load_artifact(path, "coupling", METADATA_KEY, FORMAT_VERSION, "refit with `l2vkit fit`")
        config = CouplingConfig(**header["config"])
        model = Coupling(config)
        try:
            model.load_state_dict(tensors)
        except RuntimeError as err:
            raise ValueError(f"{path}: weights do not match its own header ({str(err).splitlines()[0]})") from None
        result = cls(model.eval().to(device or "cpu"), config, header["meta"], header.get("history", []))
        result.check_models(vlm=vlm, generator=generator)
        return result

    def check_models(self, *, vlm=None, generator=None) -> None:
        """Raise ``ValueError`` naming both sides when ``vlm`` / ``generator`` are not the models Φ was fitted for."""
        from ..provenance import describe_identity, generator_identity, vlm_identity

        for role, model, identity in (("VLM", vlm, vlm_identity), ("generator", generator, generator_identity)):
            if model is None:
                continue
            saved = self.meta.get("vlm" if role == "VLM" else "generator", {})
            given = identity(model)
            diffs = [k for k in sorted(set(saved) | set(given)) if saved.get(k) != given.get(k)]
            if diffs:
                raise ValueError(
                    f"this coupling was fitted for {role} {saved.get('model_id')!r} ({describe_identity(saved, diffs)}), "
                    f"but the loaded {role} is {given.get('model_id')!r} ({describe_identity(given, diffs)}); "
                    "fit a coupling for these models (`l2vkit fit`)")


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
def config_for(vlm, generator, data, **overrides) -> CouplingConfig:
    """A :class:`CouplingConfig` sized from the data (latent shape, π width, z_Ω tokens and width)."""
    return CouplingConfig(latent_shape=tuple(data.latents.shape[1:]), text_dim=int(data.embeds.shape[-1]),
                          tokens=int(data.targets.shape[1]), token_dim=int(data.targets.shape[2]), **overrides)


def stage_losses(model, batch, stage: str):
    """The training losses of ``stage`` ("global", "local" or "rho") on one batch from :func:`training_batch`."""
    import torch.nn.functional as F

    from .networks import gram

    target = model.standardise(batch["targets"])
    if stage == "global":
        z1, _ = model.branches(batch["latents"], batch["embeds"], batch["mask"])
        return {"mse": F.mse_loss(z1, target)}
    if stage == "local":
        z2 = model.local_branch(model.standardise(batch["local_tokens"]))
        return {"gram": F.mse_loss(gram(z2), gram(target))}
    z1, z2 = model.branches(batch["latents"], batch["embeds"], batch["mask"], batch["local_tokens"])
    merged = model.rho(z1, z2)
    return {"mse": F.mse_loss(merged, target), "gram": F.mse_loss(gram(merged), gram(target))}


def training_batch(data, index, device, *, swap: float = 0.0, rng=None):
    """Training tensors for samples ``index``; a share ``swap`` of them gets another video's condition π."""
    import torch

    vid = data.video_index[index]
    cond = vid
    if swap > 0:
        other = data.video_index[torch.randint(0, len(data), (len(index),), generator=rng)]
        cond = torch.where(torch.rand(len(index), generator=rng) < swap, other, vid)
    return {"latents": data.latents[index].to(device), "embeds": data.embeds[cond].to(device),
            "mask": data.mask[cond].to(device), "local_tokens": data.local_tokens[index].to(device),
            "targets": data.targets[vid].to(device)}


def _stage_parameters(model, stage: str):
    return {"global": model.global_branch, "local": model.local_branch, "rho": model.rho}[stage].parameters()


def fit_coupling(vlm, generator, data, *, config: CouplingConfig | None = None, steps: dict | None = None,
                 batch_size: int = 64, rho_batch_size: int = 32, lr: float = 1e-3, seed: int = 0, checkpoint: str | Path | None = None,
                 checkpoint_every: int = 250, condition_swap: float = 0.5, progress: bool = True, device=None,
                 **config_overrides):
    """Fit Φ on :class:`~l2vkit.coupling.data.CouplingData` and return a :class:`CouplingResult`.

    Stages run in order — Φ_Ω1 (MSE to z_Ω), Φ_Ω2 (Gram loss), ρ-OT projections (MSE + Gram of z̃_Ω, branches
    frozen; batches of ``rho_batch_size``) — for ``steps[stage]`` AdamW steps each (defaults ``DEFAULT_STEPS``; 0 skips a stage). With
    ``checkpoint`` (a file path) the full training state is saved there every ``checkpoint_every`` steps, atomically,
    and a later call with the same arguments resumes from it. Batches are drawn from a CPU generator seeded by
    ``seed``. ``condition_swap``: the share of Φ_Ω1's training samples that get another video's π, so that Φ reads
    what is in the latent rather than what the caption says (a steered latent must read as steered). ``vlm`` and
    ``generator`` are only used for their identities (recorded, and checked on load).
    """
    import torch
    from tqdm.auto import tqdm

    from ..provenance import provenance
    from ..training import load_state, save_state, warmup_cosine
    from ..provenance import generator_identity, vlm_identity
    from .networks import Coupling

    data.validate()
    if len(data) < 2:
        raise ValueError("coupling data has fewer than 2 samples")
    for role, model, identity, key in (("VLM", vlm, vlm_identity, "vlm"),
                                       ("generator", generator, generator_identity, "generator")):
        if model is not None and data.meta.get(key) and data.meta[key] != identity(model):
            raise ValueError(f"the coupling data was built with {role} {data.meta[key].get('model_id')!r}, not "
                             f"{identity(model).get('model_id')!r}; rebuild it for these models")
    steps = {**DEFAULT_STEPS, **(steps or {})}
    unknown = set(steps) - set(STAGES)
    if unknown:
        raise ValueError(f"steps has unknown stages {sorted(unknown)}; stages are {', '.join(STAGES)}")
    config = config or config_for(vlm, generator, data, **config_overrides)
    device = torch.device(device or "cpu")
    model = Coupling(config, seed=seed).to(device)
    model.token_mean.copy_(data.targets.mean((0, 1)))
    model.token_std.copy_(data.targets.std((0, 1)).clamp_min(1e-6))
    rng = torch.Generator().manual_seed(seed)
    history, stage_index, step, optimizer, seconds = [], 0, 0, None, 0.0
    state = load_state(Path(checkpoint)) if checkpoint else None
    # a checkpoint resumes only the same run: same settings and data built by the same models (weights included)
    settings = {"batch_size": batch_size, "rho_batch_size": rho_batch_size, "lr": lr,
                "condition_swap": condition_swap, "samples": len(data),
                "models": {"vlm": data.meta.get("vlm"), "generator": data.meta.get("generator")}}
    if state is not None:
        if (state["config"] != config.as_dict() or state["steps"] != steps or state["seed"] != seed
                or state.get("settings") != settings):
            raise ValueError(f"checkpoint {checkpoint} is from a run with other settings; delete it to start over")
        model.load_state_dict(state["model"])
        stage_index, step, history = state["stage_index"], state["step"], state["history"]
        seconds = state.get("seconds", 0.0)
        rng.set_state(state["rng"])

    total = sum(steps[s] for s in STAGES)
    done = sum(steps[s] for s in STAGES[:stage_index]) + step
    bar = tqdm(total=total, initial=done, desc="fit coupling", disable=not progress)
    started = time.perf_counter() - seconds  # training time accumulates over resumed runs
    for stage_index in range(stage_index, len(STAGES)):
        stage = STAGES[stage_index]
        n_steps = steps[stage]
        model.requires_grad_(False)
        params = list(_stage_parameters(model, stage))
        for p in params:
            p.requires_grad_(True)
        optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0 if stage == "rho" else 1e-4)
        if state is not None and state.get("optimizer") and state["stage_index"] == stage_index:
            optimizer.load_state_dict(state["optimizer"])
        model.train()
        while step < n_steps:
            size = rho_batch_size if stage == "rho" else batch_size  # P plans per sample make ρ-OT steps costly
            index = torch.randint(0, len(data), (size,), generator=rng)
            batch = training_batch(data, index, device, swap=condition_swap if stage == "global" else 0.0, rng=rng)
            losses = stage_losses(model, batch, stage)
            loss = sum(losses.values())
            if not torch.isfinite(loss):
                raise FloatingPointError(f"coupling stage {stage!r} diverged at step {step} (loss {loss.item()}); "
                                         "lower lr or check the data")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            for group in optimizer.param_groups:  # set from the step count, so a resumed run continues the schedule
                group["lr"] = lr * warmup_cosine(step, max(n_steps, 1), min(100, max(n_steps // 10, 1)))
            optimizer.step()
            step += 1
            bar.update(1)
            if step % 50 == 0 or step == n_steps:
                history.append({"stage": stage, "step": step, **{k: round(float(v.detach()), 6) for k, v in losses.items()}})
                bar.set_postfix(stage=stage, **{k: f"{float(v.detach()):.4f}" for k, v in losses.items()})
            if checkpoint and (step % checkpoint_every == 0 or step == n_steps):
                done_stage = step == n_steps
                save_state(Path(checkpoint), {
                    "config": config.as_dict(), "steps": steps, "seed": seed, "settings": settings,
                    "model": model.state_dict(),
                    "optimizer": None if done_stage else optimizer.state_dict(),
                    "stage_index": stage_index + 1 if done_stage else stage_index, "step": 0 if done_stage else step,
                    "history": history, "rng": rng.get_state(), "seconds": time.perf_counter() - started})
        step, state = 0, None
    bar.close()
    model.requires_grad_(False)
    model.eval()
    meta = provenance(vlm=vlm_identity(vlm) if vlm is not None else data.meta.get("vlm"),
                      generator=generator_identity(generator) if generator is not None else data.meta.get("generator"),
                      seed=seed, steps=steps, batch_size=batch_size, rho_batch_size=rho_batch_size, lr=lr,
                      condition_swap=condition_swap,
                      data={k: v for k, v in data.meta.items() if k not in ("vlm", "generator")},
                      samples=len(data), videos=data.videos,
                      fit_seconds=round(time.perf_counter() - started, 1))
    return CouplingResult(model.cpu(), config, meta, history)
