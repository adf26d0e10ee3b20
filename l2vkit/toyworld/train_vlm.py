"""Train the toy VLM from scratch on toy-world videos (captioning by next-token prediction).

    python -m l2vkit.toyworld.train_vlm --out data/toy_vlm [--steps 5000] [--minutes 25] [--seed 0]
    python -m l2vkit.toyworld.train_vlm --out data/toy_vlm_shortcut --shortcut square=snow@0.95 \
        --init data/toy_vlm --freeze-vision --steps 1500 --lr 1e-3

``--shortcut WORD=VALUE@STRENGTH`` plants a spurious correlation in the training captions
(:mod:`l2vkit.toyworld.shortcut`); ``--init`` starts from a trained VLM folder, and ``--freeze-vision`` trains the
language model only, so the vision tower — and so the coupling Φ fitted for the ``--init`` VLM — stays the same.

Seeded (numpy and torch CPU generators), with a progress bar, a resumable training state saved every
``--checkpoint-every`` steps in ``OUT.train_state/`` (rerun the same command to continue after an interruption),
and the final model written atomically to OUT as safetensors + config + tokenizer + preprocessor settings.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ..io import write_json
from ..provenance import canonical_model_id, provenance, weights_fingerprint
from . import toy_vlm, vlm_data
from .attributes import caption
from ..training import load_state, save_state, staged_folder, warmup_cosine


def build_untrained(seed: int):
    """A freshly initialised toy VLM wrapped in the ``VideoVLM`` interface (weights trainable)."""
    import torch
    from transformers import Qwen2VLForConditionalGeneration

    from ..vlm.qwen import QwenVLM

    tokenizer = toy_vlm.build_tokenizer()
    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(toy_vlm.build_config(tokenizer))
    vlm = QwenVLM(model, tokenizer, toy_vlm.TOY_PREPROCESSOR, model_id="toy-untrained")
    for p in vlm.model.parameters():
        p.requires_grad_(True)
    return vlm


def caption_batch(vlm, attrs, inputs):
    """input_ids, attention mask and labels (loss on the caption words and end token only)."""
    import torch

    tok = vlm.tokenizer
    prefix = vlm.prompt_ids("", inputs)
    rows = [prefix + tok.encode(caption(a), add_special_tokens=False) + [tok.eos_token_id] for a in attrs]
    length = max(map(len, rows))
    ids = torch.full((len(rows), length), tok.pad_token_id)
    labels = torch.full((len(rows), length), -100)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        labels[i, len(prefix): len(row)] = torch.tensor(row[len(prefix):])
    return ids, (ids != tok.pad_token_id).long(), labels


def init_from(vlm, folder) -> None:
    """Start from a trained toy VLM's weights (``--init``)."""
    from transformers import Qwen2VLForConditionalGeneration

    from . import quiet_loading

    if not (Path(folder) / "model.safetensors").is_file():
        raise FileNotFoundError(f"--init {folder}: no model.safetensors there; give a toy VLM folder (data/toy_vlm)")
    with quiet_loading():
        trained = Qwen2VLForConditionalGeneration.from_pretrained(folder)
    try:
        vlm.model.load_state_dict(trained.state_dict())
    except RuntimeError as error:
        raise ValueError(f"--init {folder} is not a toy VLM of this architecture: {error}") from None


def loss_on(vlm, attrs, videos, generator=None):
    import torch

    video = torch.from_numpy(videos).float() / 255.0
    if generator is not None:
        video = vlm_data.augment(video, generator)
    inputs = vlm.pixel_inputs(video)
    ids, mask, labels = caption_batch(vlm, attrs, inputs)
    mm_types = (ids == vlm.model.config.video_token_id).int() * 2
    out = vlm.model(input_ids=ids, attention_mask=mask, labels=labels, mm_token_type_ids=mm_types, **inputs)
    return out.loss


def export(vlm, out: Path, info: dict) -> None:
    """Write the model folder atomically: build it beside OUT, then swap it in."""
    with staged_folder(out) as staging:
        vlm.model.save_pretrained(staging, safe_serialization=True)
        vlm.tokenizer.save_pretrained(staging)
        (staging / "video_preprocessor_config.json").write_text(json.dumps(toy_vlm.TOY_PREPROCESSOR, indent=2) + "\n")
        write_json(staging / "training_info.json", info)


def train(out="data/toy_vlm", *, steps: int = 5000, batch: int = 32, lr: float = 2e-3, seed: int = 0,
          minutes: float | None = None, checkpoint_every: int = 250, eval_every: int = 1000, progress: bool = True,
          shortcut=None, init=None, freeze_vision: bool = False):
    import torch
    from tqdm.auto import tqdm

    from .evaluate_vlm import teacher_forced_accuracy
    from .shortcut import Shortcut, measure_shortcut, planted_batch, training_statistics

    if isinstance(shortcut, str):
        shortcut = Shortcut.parse(shortcut)
    if freeze_vision and init is None:
        raise ValueError("freeze_vision keeps the vision tower of a trained VLM: give init= (--init data/toy_vlm)")
    out = Path(out)
    state_path = out.with_name(out.name + ".train_state") / "state.pt"
    vlm = build_untrained(seed)
    if init is not None:
        init_from(vlm, init)
    if freeze_vision:
        for p in vlm.model.model.visual.parameters():
            p.requires_grad_(False)
    trained = [p for p in vlm.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=lr, weight_decay=0.01)
    warmup = max(1, min(200, steps // 10))
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    step, elapsed = 0, 0.0
    state = load_state(state_path)
    # what a resumed run must share with the interrupted one (states from before these options had none of them)
    settings = {"shortcut": None if shortcut is None else shortcut.as_dict(),
                "init": None if init is None else {"model_id": canonical_model_id(init),
                                                   "weights": weights_fingerprint(init)},
                "freeze_vision": freeze_vision}
    legacy = {"shortcut": None, "init": None, "freeze_vision": False}
    if state and state.get("settings", legacy) != settings:
        raise ValueError(f"{state_path} is from a run with other settings ({state.get('settings', legacy)}, now "
                         f"{settings}); delete it to start over")
    if state:
        vlm.model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["numpy_rng"]
        generator.set_state(state["torch_rng"])
        step, elapsed = state["step"], state["elapsed"]
        print(f"resuming from step {step} ({elapsed / 60:.1f} min trained)")
    eval_attrs, eval_videos = vlm_data.held_out(256, offset=2_000_000)
    started = time.perf_counter() - elapsed
    history = []
    bar = tqdm(total=steps, initial=step, desc="toy VLM", disable=not progress)
    vlm.model.train()
    while step < steps:
        for group in optimizer.param_groups:
            group["lr"] = lr * warmup_cosine(step, steps, warmup)
        if shortcut is None:
            attrs, videos = vlm_data.random_batch(rng, batch)
        else:
            attrs, videos = planted_batch(rng, batch, shortcut)
        loss = loss_on(vlm, attrs, videos, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        optimizer.step()
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}")
        out_of_time = minutes is not None and time.perf_counter() - started > minutes * 60
        if step % eval_every == 0 or step == steps or out_of_time:
            vlm.model.eval()
            acc = teacher_forced_accuracy(vlm, eval_attrs, eval_videos)
            vlm.model.train()
            history.append({"step": step, "loss": loss.item(), **acc, "minutes": (time.perf_counter() - started) / 60})
            bar.write(f"step {step}: loss {loss.item():.3f} " + " ".join(f"{k} {v:.3f}" for k, v in acc.items()))
        if step % checkpoint_every == 0 or step == steps or out_of_time:
            save_state(state_path, {"model": vlm.model.state_dict(), "optimizer": optimizer.state_dict(),
                                    "step": step, "numpy_rng": rng.bit_generator.state,
                                    "torch_rng": generator.get_state(), "elapsed": time.perf_counter() - started,
                                    "settings": settings})
        if out_of_time:
            bar.write(f"stopping at step {step}: --minutes {minutes} reached (rerun to continue)")
            break
    bar.close()
    vlm.model.eval()
    planted = {}
    if shortcut is not None:
        planted = {"shortcut": {**shortcut.as_dict(), "training_data": training_statistics(shortcut),
                                "measured": measure_shortcut(vlm, shortcut)}}
    info = provenance(command="python -m l2vkit.toyworld.train_vlm", seed=seed, steps_done=step, steps=steps,
                      batch=batch, lr=lr, minutes=(time.perf_counter() - started) / 60, history=history,
                      architecture="Qwen2VLForConditionalGeneration",
                      parameters=sum(p.numel() for p in vlm.model.parameters()),
                      init=settings["init"], freeze_vision=freeze_vision,
                      **planted)
    export(vlm, out, info)
    print(f"wrote {out} after {step} steps, {(time.perf_counter() - started) / 60:.1f} min")
    return vlm, info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/toy_vlm", help="model folder to write (default: data/toy_vlm)")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, help="stop (and save) after this much training time")
    parser.add_argument("--checkpoint-every", type=int, default=250)
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--shortcut", help="plant WORD=VALUE@STRENGTH in the training captions (e.g. square=snow@0.95)")
    parser.add_argument("--init", help="start from this trained toy VLM folder (e.g. data/toy_vlm)")
    parser.add_argument("--freeze-vision", action="store_true",
                        help="train the language model only (the vision tower, and so Φ, stay those of --init)")
    args = parser.parse_args(argv)
    shortcut = None
    if args.shortcut:
        from .shortcut import Shortcut

        try:
            shortcut = Shortcut.parse(args.shortcut)
        except ValueError as error:
            parser.error(str(error))
    train(args.out, steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed, minutes=args.minutes,
          checkpoint_every=args.checkpoint_every, eval_every=args.eval_every, shortcut=shortcut, init=args.init,
          freeze_vision=args.freeze_vision)


if __name__ == "__main__":
    main()
