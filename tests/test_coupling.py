"""The coupling Φ: networks, training data, fit/resume, save/load and its errors, and the shipped toy coupling."""
import numpy as np
import pytest
import torch

from l2vkit import toyworld
from l2vkit.coupling import CouplingData, CouplingResult, fit_coupling, load_coupling
from l2vkit.toyworld import toy_coupling_data
from l2vkit.coupling.networks import Coupling, CouplingConfig, gram, patchify

TINY_STEPS = {"global": 6, "local": 4, "rho": 2}


@pytest.fixture(scope="module")
def models():
    return toyworld.load_vlm(), toyworld.load_generator()


@pytest.fixture(scope="module")
def small_data(models):
    vlm, gen = models
    return toy_coupling_data(vlm, gen, 12, seed=3, sigmas_per_video=1, progress=False)


def tiny_config(**kw):
    base = dict(latent_shape=(16, 3, 8, 8), text_dim=384, tokens=16, token_dim=128, width=32, mixer_depth=1,
                local_depth=1, projections=8)
    return CouplingConfig(**{**base, **kw})


@pytest.mark.unit
def test_config_validates_sizes_and_merge():
    with pytest.raises(ValueError, match="patch"):
        tiny_config(patch=(1, 3, 3))
    with pytest.raises(ValueError, match="merge"):
        tiny_config(merge="average")
    assert tiny_config().latent_tokens == 3 * 4 * 4


@pytest.mark.unit
def test_patchify_keeps_every_value_and_gram_is_symmetric():
    z = torch.arange(2 * 16 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 16, 3, 8, 8)
    p = patchify(z, (1, 2, 2))
    assert p.shape == (2, 48, 64)
    assert torch.equal(p.sort(dim=-1).values.flatten().sort().values, z.flatten().sort().values)
    # the first patch holds the 2×2 corner of frame 0 for every channel
    assert torch.equal(p[0, 0].reshape(16, 2, 2), z[0, :, 0, :2, :2])
    h = gram(torch.randn(3, 5, 7))
    assert torch.allclose(h, h.transpose(1, 2))


@pytest.mark.unit
def test_every_merge_gives_vlm_token_shapes_and_local_merges_need_local_tokens():
    model = Coupling(tiny_config(), seed=0)
    z, pi, local = torch.randn(2, 16, 3, 8, 8), torch.randn(2, 24, 384), torch.randn(2, 16, 128)
    for merge in ("global", "local", "mean", "rho_ot", "rho_ot_sorted"):
        out = model(z, pi, None, local, merge=merge)
        assert out.shape == (2, 16, 128) and torch.isfinite(out).all(), merge
    with pytest.raises(ValueError, match="local"):
        model(z, pi, None, None, merge="rho_ot")
    # the local branch starts as the identity (zero-initialised residual)
    assert torch.allclose(model(z, pi, None, local, merge="local"), local, atol=1e-5)


@pytest.mark.integration
def test_coupling_data_pairs_x0_estimates_with_decoded_tokens(small_data, models):
    vlm, gen = models
    d = small_data
    assert len(d) == 24 and d.videos == 12
    assert d.latents.shape[1:] == (16, 3, 8, 8) and d.targets.shape[1:] == (16, 128)
    clean = d.sigmas == 0
    assert clean.sum() == 12
    # at σ = 0 the local branch's input is exactly the target (decode → re-encode of z0)
    assert torch.allclose(d.local_tokens[clean], d.targets[d.video_index[clean]], atol=1e-5)
    assert d.meta["vlm"]["model_id"] == "toy:toy_vlm" and d.meta["generator"]["model_id"] == "toy:toy_generator"


@pytest.mark.unit
def test_coupling_data_rejects_nan_and_roundtrips(small_data, tmp_path):
    path = small_data.save(tmp_path / "d.safetensors")
    again = CouplingData.load(path)
    assert torch.equal(again.latents, small_data.latents) and again.captions == small_data.captions
    bad = again.latents.clone()
    bad[3, 0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="latents contains NaN.*rows \\[3\\]"):
        CouplingData(bad, again.sigmas, again.video_index, again.embeds, again.mask, again.local_tokens,
                     again.targets, again.captions, again.meta)


@pytest.mark.integration
def test_fit_save_load_reads_the_same_tokens(small_data, models, tmp_path):
    vlm, gen = models
    result = fit_coupling(vlm, gen, small_data, steps=TINY_STEPS, progress=False, width=32, mixer_depth=1,
                          local_depth=1, projections=8)
    assert [h["stage"] for h in result.history][-1] == "rho"
    path = result.save(tmp_path / "phi.safetensors")
    assert path.with_suffix(".json").exists()
    loaded = load_coupling(path, vlm=vlm, generator=gen)
    z, pi = small_data.latents[:3], small_data.embeds[small_data.video_index[:3]]
    assert torch.equal(loaded.read(z, pi), result.read(z, pi))
    probs = loaded.token_probs(vlm, z, pi, "a small", ["red", "blue"])
    assert probs.candidates.shape == (3, 2)
    full = loaded.read(z, pi, merge="rho_ot", vlm=vlm, generator=gen)
    assert full.shape == (3, 16, 128)
    with pytest.raises(ValueError, match="merge='global'"):
        loaded.read(z, pi, merge="rho_ot")


@pytest.mark.integration
def test_fit_resumes_after_an_interruption_to_the_same_weights(small_data, models, tmp_path, monkeypatch):
    vlm, gen = models
    kw = dict(steps=TINY_STEPS, progress=False, width=32, mixer_depth=1, local_depth=1, projections=8,
              checkpoint_every=2)
    whole = fit_coupling(vlm, gen, small_data, **kw)
    calls = {"n": 0}
    real_step = torch.optim.AdamW.step

    def flaky(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 9:  # inside the local stage
            raise KeyboardInterrupt
        return real_step(self, *a, **k)

    state = tmp_path / "fit.train_state.pt"
    monkeypatch.setattr(torch.optim.AdamW, "step", flaky)
    with pytest.raises(KeyboardInterrupt):
        fit_coupling(vlm, gen, small_data, checkpoint=state, **kw)
    monkeypatch.setattr(torch.optim.AdamW, "step", real_step)
    assert state.exists()
    resumed = fit_coupling(vlm, gen, small_data, checkpoint=state, **kw)
    for (name, a), b in zip(whole.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name
    with pytest.raises(ValueError, match="other settings"):
        fit_coupling(vlm, gen, small_data, checkpoint=state, **{**kw, "seed": 5})


@pytest.mark.integration
def test_bad_artifacts_give_clear_errors(small_data, models, tmp_path, monkeypatch):
    from l2vkit.testing_generators import tiny_generator

    vlm, gen = models
    result = fit_coupling(vlm, gen, small_data, steps={"global": 2, "local": 0, "rho": 0}, progress=False, width=32,
                          mixer_depth=1, local_depth=1, projections=4)
    path = result.save(tmp_path / "phi.safetensors")
    other = tiny_generator("wan")
    with pytest.raises(ValueError, match=r"fitted for generator 'toy:toy_generator'.*loaded generator is '"):
        load_coupling(path, generator=other)
    # corrupted file
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="corrupted"):
        load_coupling(broken)
    with pytest.raises(FileNotFoundError):
        load_coupling(tmp_path / "missing.safetensors")
    # a save interrupted mid-write keeps the previous file
    import pathlib

    before = path.read_bytes()

    def half_write(self, data):
        open(self, "wb").write(data[:100])
        raise KeyboardInterrupt

    monkeypatch.setattr(pathlib.Path, "write_bytes", half_write)
    with pytest.raises(KeyboardInterrupt):
        result.save(path)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".phi.*"))  # no temporary file left behind
    monkeypatch.undo()
    assert isinstance(load_coupling(path), CouplingResult)
    # latents of the wrong shape
    with pytest.raises(ValueError, match="this coupling reads"):
        result.read(torch.zeros(1, 16, 2, 8, 8), small_data.embeds[:1])


@pytest.mark.slow
@pytest.mark.integration
def test_shipped_coupling_agrees_with_the_vlm_on_decoded_videos(models):
    """Acceptance: ≥ 90% agreement per attribute through Φ at x̂0 from σ ≤ 0.5 on 300 held-out toy videos."""
    from l2vkit.toyworld.ablation import ablation_table

    vlm, gen = models
    coupling = toyworld.load_coupling(vlm=vlm, generator=gen)
    evaluation = toy_coupling_data(vlm, gen, 300, seed=1, offset=1_000_000, levels=(0.0, 0.25, 0.5),
                                   progress=False)
    rows = {r["variant"]: r for r in ablation_table(coupling, vlm, evaluation, variants=("global", "rho_ot"),
                                                    progress=False)}
    for variant, row in rows.items():
        assert row["min_agreement"] >= 0.90, (variant, row)
    assert np.isfinite(rows["rho_ot"]["cosine"])
