"""Fine-tune the toy generator so that a caption changed part-way through sampling is carried out in place.

From the same noise the toy generator lays the object out differently for each caption word (the prompt swap
red → blue moves its centre by 7.9 px of 32), so a condition that changes half-way — a timestep window, a frame
mask — pulls towards two layouts and completes neither: over steps 0.3–0.7 the object is lost in a third of the
frames, with the prompt swap as with a concept. This phase teaches the transformer the in-place edit: from a state
noised from video A, the caption of video B (A with one attribute changed, rendered with the same seed: the same
start, path and texture phase) must predict B itself. The loss on those samples is on the predicted clean latent,
x̂0 = z − σ·v against B (the flow-matching velocity of A's path points at A); the other half of each batch is the
ordinary flow-matching loss, so generation from noise keeps following the caption.

    python -m l2vkit.toyworld.train_generator_edits --from data/toy_generator --out data/toy_generator \\
        [--steps 1500] [--pairs 6400] [--minutes M]

Resumable: state lives in ``OUT.edit_state/`` (the pair set, then the transformer every 100 steps); rerun the same
command after an interruption. The export replaces ``OUT`` atomically and records the phase in
``l2vkit_generator.json`` under ``"edits"``.
"""
from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np

from ..io import read_json, save_safetensors, write_json
from ..training import resume_model, save_model_state, staged_folder, take_step, warmup_cosine
from . import toy_generator as tg
from .attributes import ATTRIBUTE_VALUES, Attributes, caption, random_attributes
from .render import render
from .train_generator import GENERATOR_CONFIG, shifted_sigma, to_vae_range


def edit_pairs(count: int, seed: int = 0) -> list[tuple[Attributes, Attributes, int]]:
    """``count`` (A, B, render seed): random attributes A, and B the same with one attribute (drawn uniformly) set
    to another value; both are rendered with the same seed, so only what the attribute itself moves differs."""
    rng = np.random.default_rng([seed, 26])
    fields = list(ATTRIBUTE_VALUES)
    out = []
    for _ in range(count):
        a = random_attributes(int(rng.integers(2**31 - 1)))
        field = fields[int(rng.integers(len(fields)))]
        others = [v for v in ATTRIBUTE_VALUES[field] if v != getattr(a, field)]
        out.append((a, a.replace(**{field: others[int(rng.integers(len(others)))]}), int(rng.integers(2**31 - 1))))
    return out


def build_pair_set(state_dir: Path, vae, pipe, *, count: int, seed: int, progress: bool = True) -> dict:
    """Normalised latents of the pairs' videos (``a``, ``b``), their captions' indices into ``caption_embeds`` (the
    MiniLM embeddings of the pairs' captions), and the empty prompt's embedding (cached in ``state_dir``)."""
    import torch
    from safetensors.torch import load_file
    from tqdm.auto import tqdm

    path = state_dir / "pairs.safetensors"
    if path.exists():
        return load_file(path)
    mean = torch.tensor(vae.config.latents_mean).view(1, -1, 1, 1, 1)
    std = torch.tensor(vae.config.latents_std).view(1, -1, 1, 1, 1)
    pairs = edit_pairs(count, seed)
    captions = sorted({caption(p[k]) for p in pairs for k in (0, 1)})
    index = {c: i for i, c in enumerate(captions)}
    latents = {"a": [], "b": []}
    with torch.no_grad():
        for s in tqdm(range(0, count, 64), desc="encoding pairs", disable=not progress):
            chunk = pairs[s:s + 64]
            for key, pick in (("a", 0), ("b", 1)):
                videos = np.stack([render(p[pick], seed=p[2]) for p in chunk])
                latents[key].append((vae.encode(to_vae_range(videos)).latent_dist.mode() - mean) / std)
        embeds = torch.cat([pipe.encode_prompt(captions[s:s + 128], do_classifier_free_guidance=False,
                                               max_sequence_length=tg.MAX_SEQUENCE_LENGTH, device="cpu")[0]
                            for s in range(0, len(captions), 128)])
        empty = pipe.encode_prompt([""], do_classifier_free_guidance=False,
                                   max_sequence_length=tg.MAX_SEQUENCE_LENGTH, device="cpu")[0]
    data = {"a": torch.cat(latents["a"]).contiguous(), "b": torch.cat(latents["b"]).contiguous(),
            "caption_a": torch.tensor([index[caption(p[0])] for p in pairs]),
            "caption_b": torch.tensor([index[caption(p[1])] for p in pairs]),
            "caption_embeds": embeds.contiguous(), "empty_embeds": empty.contiguous()}
    save_safetensors(path, data)
    return data


def edit_loss(model, data: dict, pick, generator, *, edit_share: float, shift: float, cfg_dropout: float = 0.1):
    """One batch's loss: each sample's state is noised from one video of its pair (either way round); with
    probability ``edit_share`` the caption is the other video's and the predicted clean latent must be that video
    (an in-place edit), else the caption is its own and the target is the usual velocity ε − x0."""
    import torch

    batch = len(pick)
    flip = torch.rand(batch, generator=generator) < 0.5  # which video of the pair the state comes from
    state = torch.where(flip[:, None, None, None, None], data["b"][pick], data["a"][pick])
    other = torch.where(flip[:, None, None, None, None], data["a"][pick], data["b"][pick])
    own_caption = torch.where(flip, data["caption_b"][pick], data["caption_a"][pick])
    other_caption = torch.where(flip, data["caption_a"][pick], data["caption_b"][pick])
    edit = torch.rand(batch, generator=generator) < edit_share
    cond = data["caption_embeds"][torch.where(edit, other_caption, own_caption)]
    drop = ~edit & (torch.rand(batch, generator=generator) < cfg_dropout)  # keep classifier-free guidance trained
    cond = torch.where(drop[:, None, None], data["empty_embeds"].expand_as(cond), cond)
    sigma = shifted_sigma(torch.sigmoid(torch.randn(batch, generator=generator)), shift)
    noise = torch.randn(state.shape, generator=generator)
    s = sigma.view(-1, 1, 1, 1, 1)
    z = (1 - s) * state + s * noise
    v = model(hidden_states=z, timestep=sigma * 1000, encoder_hidden_states=cond, return_dict=False)[0]
    flow = ((v - (noise - state)) ** 2).mean(dim=(1, 2, 3, 4))
    in_place = ((z - s * v - other) ** 2).mean(dim=(1, 2, 3, 4))  # x̂0 = z − σ·v against the edited video
    return torch.where(edit, in_place, flow).mean()


def finetune(source="data/toy_generator", out="data/toy_generator", *, steps: int = 1500, pairs: int = 6400,
             batch: int = 48, lr: float = 2e-4, edit_share: float = 0.5, shift: float = tg.SAMPLER_SHIFT,
             seed: int = 0, minutes: float | None = None, progress: bool = True) -> dict:
    """Fine-tune ``source``'s transformer (its VAE is kept) for ``steps`` and export the generator to ``out``."""
    import torch
    from diffusers import AutoencoderKLWan, WanTransformer3DModel
    from tqdm.auto import tqdm

    source, out = Path(source), Path(out)
    info = read_json(source / GENERATOR_CONFIG)
    state_dir = out.with_name(out.name + ".edit_state")
    state_dir.mkdir(parents=True, exist_ok=True)
    vae = AutoencoderKLWan.from_pretrained(source / "vae").eval()
    model = WanTransformer3DModel.from_pretrained(source / "transformer")
    data = build_pair_set(state_dir, vae, tg.assemble_pipeline(vae, model), count=pairs, seed=seed, progress=progress)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    generator = torch.Generator().manual_seed(seed + 26)
    path = state_dir / "transformer.pt"
    step, elapsed, history = resume_model(path, model, optimizer, generator)
    started = time.perf_counter() - elapsed
    bar = tqdm(total=steps, initial=step, desc="in-place edits", disable=not progress)
    running = None
    model.train()
    while step < steps:
        for group in optimizer.param_groups:
            group["lr"] = lr * warmup_cosine(step, steps, max(1, min(50, steps // 10)))
        pick = torch.randint(0, len(data["a"]), (batch,), generator=generator)
        loss = edit_loss(model, data, pick, generator, edit_share=edit_share, shift=shift)
        value = take_step(model, optimizer, loss)
        step += 1
        running = value if running is None else 0.98 * running + 0.02 * value
        bar.update(1)
        bar.set_postfix(loss=f"{running:.4f}")
        out_of_time = minutes is not None and time.perf_counter() - started > minutes * 60
        if step % 100 == 0 or step == steps or out_of_time:
            history.append({"step": step, "loss": running, "minutes": (time.perf_counter() - started) / 60})
            save_model_state(path, model, optimizer, generator, step=step, elapsed=time.perf_counter() - started,
                             history=history)
        if out_of_time and step < steps:
            bar.close()
            raise SystemExit(f"stopped at step {step} of {steps}: --minutes reached; rerun the same command to "
                             "continue")
    bar.close()
    model.eval()
    info["edits"] = {"command": "python -m l2vkit.toyworld.train_generator_edits", "from": str(source),
                     "steps": steps, "pairs": pairs, "batch": batch, "lr": lr, "edit_share": edit_share,
                     "sigma_shift": shift, "seed": seed, "history": history}
    with staged_folder(out) as staging:
        for part in ("vae", "scheduler"):
            shutil.copytree(source / part, staging / part)
        model.save_pretrained(staging / "transformer")
        write_json(staging / GENERATOR_CONFIG, info)
    return info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", default="data/toy_generator", help="the generator to fine-tune")
    parser.add_argument("--out", default="data/toy_generator")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--pairs", type=int, default=6400, help="video pairs rendered and encoded once")
    parser.add_argument("--batch", type=int, default=48)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--edit-share", type=float, default=0.5, help="share of each batch trained on in-place edits")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, help="stop (and save) after this many minutes")
    args = parser.parse_args(argv)
    finetune(args.source, args.out, steps=args.steps, pairs=args.pairs, batch=args.batch, lr=args.lr,
             edit_share=args.edit_share, seed=args.seed, minutes=args.minutes)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
