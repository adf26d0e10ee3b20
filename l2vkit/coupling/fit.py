"""Fitting Φ (``fit_coupling``): the training stages, their losses and batches. The fitted artifact,
``CouplingResult``, is in :mod:`l2vkit.coupling.result`."""
from __future__ import annotations

import time
from pathlib import Path

from .networks import CouplingConfig
from .result import FORMAT_VERSION, METADATA_KEY, CouplingResult  # noqa: F401  (importable from here as before)

#: Training stages in order: Φ_Ω1 by MSE, Φ_Ω2 by the Gram loss, then the ρ-OT projections by MSE + Gram.
STAGES = ("global", "local", "rho")
DEFAULT_STEPS = {"global": 2000, "local": 600, "rho": 200}


def config_for(vlm, generator, data, **overrides) -> CouplingConfig:
    """A :class:`CouplingConfig` sized from the data (latent shape, π width, z_Ω tokens and width) and laid out on
    the VLM's token grid of the clips (recorded in the data, else asked of ``vlm``)."""
    tokens = int(data.targets.shape[1])
    record = data.meta.get("token_layout") or {}
    grid, extra = record.get("token_grid"), record.get("trailing_tokens", 0)
    if grid is None and vlm is not None:
        grid, extra = vlm.token_grid(record, tokens), vlm.trailing_tokens
    overrides.setdefault("token_grid", grid)
    overrides.setdefault("extra_tokens", extra if grid else 0)
    return CouplingConfig(latent_shape=tuple(data.latents.shape[1:]), text_dim=int(data.embeds.shape[-1]),
                          tokens=tokens, token_dim=int(data.targets.shape[2]), **overrides)


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


def training_batch(data, index, device, *, swap: float = 0.0, rng=None, rows: slice | None = None):
    """Training tensors for samples ``index``; a share ``swap`` of them gets another video's condition π. ``rows``:
    only these rows of the batch (this process's share, after every random draw of the whole batch)."""
    import torch

    vid = data.video_index[index]
    cond = vid
    if swap > 0:
        other = data.video_index[torch.randint(0, len(data), (len(index),), generator=rng)]
        cond = torch.where(torch.rand(len(index), generator=rng) < swap, other, vid)
    if rows is not None:
        index, vid, cond = index[rows], vid[rows], cond[rows]
    return {"latents": data.latents[index].to(device), "embeds": data.embeds[cond].to(device),
            "mask": data.mask[cond].to(device), "local_tokens": data.local_tokens[index].to(device),
            "targets": data.targets[vid].to(device)}


def _stage_parameters(model, stage: str):
    return {"global": model.global_branch, "local": model.local_branch, "rho": model.rho}[stage].parameters()


def fit_coupling(vlm, generator, data, *, config: CouplingConfig | None = None, steps: dict | None = None,
                 batch_size: int = 64, rho_batch_size: int = 32, lr: float = 1e-3, seed: int = 0,
                 checkpoint: str | Path | None = None,
                 checkpoint_every: int = 250, condition_swap: float = 0.5, progress: bool = True, device=None,
                 gradient_checkpointing: bool | None = None, **config_overrides):
    """Fit Φ on :class:`~l2vkit.coupling.data.CouplingData` and return a :class:`CouplingResult`.

    Stages run in order — Φ_Ω1 (MSE to z_Ω), Φ_Ω2 (Gram loss), ρ-OT projections (MSE + Gram of z̃_Ω, branches
    frozen; batches of ``rho_batch_size``) — for ``steps[stage]`` AdamW steps each.

    Parameters
    ----------
    vlm, generator : VideoVLM, VideoGenerator or None
        Only used for their identities (recorded, and checked on load); the data must have been built with them.
        With ``None`` the identities recorded in ``data`` are used.
    data : CouplingData
        The training pairs (:func:`~l2vkit.coupling.data.build_coupling_data`); at least 2 samples.
    config : CouplingConfig, optional
        Φ's sizes; by default sized from the data (latent shape, π width, z_Ω tokens and width).
    steps : dict, optional
        AdamW steps per stage (``"global"``, ``"local"``, ``"rho"``), over the defaults ``DEFAULT_STEPS``; 0 skips a
        stage.
    batch_size : int
        Samples per step of the Φ_Ω1 and Φ_Ω2 stages.
    rho_batch_size : int
        Samples per step of the ρ-OT stage.
    lr : float
        Peak learning rate of each stage (linear warm-up, then a cosine down to a tenth of it).
    seed : int
        Seeds Φ's initialisation and the CPU generator the batches are drawn from.
    checkpoint : str or pathlib.Path, optional
        A file path: the full training state is saved there every ``checkpoint_every`` steps, atomically, and a
        later call with the same arguments resumes from it.
    checkpoint_every : int
        Steps between checkpoints (each stage's end is saved too).
    condition_swap : float
        The share of Φ_Ω1's training samples that get another video's π, so that Φ reads what is in the latent
        rather than what the caption says (a steered latent must read as steered).
    progress : bool
        Show a progress bar.
    device : str or torch.device, optional
        Where training runs (the CPU by default).
    gradient_checkpointing : bool, optional
        Recompute activations in the backward pass (less memory, about a third more compute); by default on for
        large grids (:func:`~l2vkit.coupling.networks.needs_checkpointing`), which is what
        ``python -m l2vkit.coupling.plan`` assumes.
    **config_overrides
        :class:`~l2vkit.coupling.networks.CouplingConfig` fields, when ``config`` is not given.

    Returns
    -------
    CouplingResult
        Φ on the CPU in eval mode, its ``config``, ``meta`` (model identities, seed, training settings, data
        settings, fit time) and the loss ``history``.

    Raises
    ------
    ValueError
        For data with fewer than 2 samples or built with other models, an unknown stage in ``steps``, or a
        ``checkpoint`` from a run with other settings.
    FloatingPointError
        When a stage diverges.
    """
    import torch
    from tqdm.auto import tqdm

    from ..distributed import is_main, my_rows, sum_gradients, weighted_mean, world
    from ..provenance import generator_identity, provenance, vlm_identity
    from ..training import check_settings, load_state, save_state, warmup_cosine
    from .networks import Coupling, needs_checkpointing
    from .store import token_statistics

    check_settings(lr=lr, batch_size=batch_size, rho_batch_size=rho_batch_size, checkpoint_every=checkpoint_every)
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
    if gradient_checkpointing is None:
        gradient_checkpointing = needs_checkpointing(config)
    model.gradient_checkpointing(gradient_checkpointing)
    mean, std = token_statistics(data.targets)
    model.token_mean.copy_(mean)
    model.token_std.copy_(std.clamp_min(1e-6))
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
    if min(batch_size, rho_batch_size) < world()[1]:
        raise ValueError(f"batch_size={batch_size} / rho_batch_size={rho_batch_size} cannot be shared by {world()[1]} "
                         "processes; raise them")
    bar = tqdm(total=total, initial=done, desc="fit coupling", disable=not progress or not is_main())
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
            rows = my_rows(size)  # several processes: the same draw everywhere, each its own rows (DDP)
            batch = training_batch(data, index, device, swap=condition_swap if stage == "global" else 0.0, rng=rng,
                                   rows=rows)
            share = rows.stop - rows.start
            losses = stage_losses(model, batch, stage)
            loss = sum(losses.values())
            if not torch.isfinite(loss):
                raise FloatingPointError(f"coupling stage {stage!r} diverged at step {step} (loss {loss.item()}); "
                                         "lower lr or check the data")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            sum_gradients(params, share, size)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            for group in optimizer.param_groups:  # set from the step count, so a resumed run continues the schedule
                group["lr"] = lr * warmup_cosine(step, max(n_steps, 1), min(100, max(n_steps // 10, 1)))
            optimizer.step()
            step += 1
            bar.update(1)
            if step % 50 == 0 or step == n_steps:
                logged = {k: weighted_mean(float(v.detach()), share, size) for k, v in losses.items()}
                history.append({"stage": stage, "step": step, **{k: round(v, 6) for k, v in logged.items()}})
                bar.set_postfix(stage=stage, **{k: f"{v:.4f}" for k, v in logged.items()})
            if checkpoint and is_main() and (step % checkpoint_every == 0 or step == n_steps):
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
    model.gradient_checkpointing(False)
    meta = provenance(vlm=vlm_identity(vlm) if vlm is not None else data.meta.get("vlm"),
                      generator=generator_identity(generator) if generator is not None else data.meta.get("generator"),
                      seed=seed, steps=steps, batch_size=batch_size, rho_batch_size=rho_batch_size, lr=lr,
                      condition_swap=condition_swap, gradient_checkpointing=bool(gradient_checkpointing),
                      data={k: v for k, v in data.meta.items() if k not in ("vlm", "generator")},
                      samples=len(data), videos=data.videos,
                      fit_seconds=round(time.perf_counter() - started, 1))
    return CouplingResult(model.cpu(), config, meta, history)
