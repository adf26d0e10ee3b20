"""Φ at real sizes: the factorised global branch, its token grid, gradient checkpointing, old dense files, and the
planner (``python -m l2vkit.coupling.plan``)."""
import json

import pytest
import torch

from l2vkit.coupling import CouplingResult
from l2vkit.coupling.mixers import area_weights
from l2vkit.coupling.networks import Coupling, CouplingConfig
from l2vkit.coupling.plan import main as plan_main
from l2vkit.coupling.plan import plan_coupling

WAN, QWEN = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "Qwen/Qwen2.5-VL-3B-Instruct"


def config(**kw):
    base = dict(latent_shape=(4, 3, 8, 12), text_dim=16, tokens=24, token_dim=8, token_grid=(2, 3, 4), width=16,
                mixer_depth=2, local_depth=1, projections=4)
    return CouplingConfig(**{**base, **kw})


def parameters(cfg):
    with torch.device("meta"):
        return sum(p.numel() for p in Coupling(cfg).global_branch.parameters())


@pytest.mark.unit
def test_factorised_parameters_grow_with_the_axes_not_with_the_product_of_token_counts():
    small = config(latent_shape=(16, 9, 32, 32), tokens=2 * 8 * 8, token_grid=(2, 8, 8), width=64)
    big = config(latent_shape=(16, 9, 64, 64), tokens=2 * 16 * 16, token_grid=(2, 16, 16), width=64)
    dense_small, dense_big = (parameters(CouplingConfig(**{**c.as_dict(), "architecture": "dense"}))
                              for c in (small, big))
    # 4× the latent patches and 4× the VLM tokens: the dense mixer grows ~16×, the factorised one barely
    assert dense_big / dense_small > 10
    assert parameters(big) / parameters(small) < 1.5


@pytest.mark.unit
def test_token_grid_must_hold_the_tokens_and_output_follows_it():
    with pytest.raises(ValueError, match="token_grid=.*24"):
        config(token_grid=(2, 3, 3))
    assert config(token_grid=None).output_grid == (1, 1, 24)
    model = Coupling(config(), seed=0)
    out = model(torch.randn(2, 4, 3, 8, 12), torch.randn(2, 5, 16), merge="global")
    assert out.shape == (2, 24, 8) and torch.isfinite(out).all()


@pytest.mark.unit
def test_resampling_starts_as_area_averages():
    w = area_weights(2, 6)
    assert torch.allclose(w.sum(1), torch.ones(2))
    assert torch.equal(w[0, 3:], torch.zeros(3)) and torch.equal(w[1, :3], torch.zeros(3))
    up = area_weights(4, 2)  # upsampling repeats cells
    assert torch.equal(up, torch.tensor([[1.0, 0], [1, 0], [0, 1], [0, 1]]))


@pytest.mark.unit
def test_gradient_checkpointing_gives_the_same_gradients():
    cfg = config()
    batch = (torch.randn(3, 4, 3, 8, 12), torch.randn(3, 5, 16), None, torch.randn(3, 24, 8))
    grads = []
    for enable in (False, True):
        model = Coupling(cfg, seed=1).gradient_checkpointing(enable)
        model(*batch, merge="rho_ot").square().mean().backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
    assert torch.allclose(grads[0], grads[1], atol=1e-6)


@pytest.mark.unit
def test_files_written_before_the_factorised_branch_load_as_dense(tmp_path):
    cfg = config(architecture="dense", token_grid=None)
    result = CouplingResult(Coupling(cfg, seed=0).eval(), cfg, {}, [])
    path = result.save(tmp_path / "old.safetensors")
    header = json.loads(path.with_suffix(".json").read_text())
    assert header["config"]["architecture"] == "dense"
    # a header of the first release has no "architecture" key at all
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    del header["config"]["architecture"], header["config"]["token_grid"], header["config"]["out_depth"]
    loaded = CouplingResult._from_parts(tensors, header, path, vlm=None, generator=None, device=None)
    assert loaded.config.architecture == "dense"
    z, pi = torch.randn(1, 4, 3, 8, 12), torch.randn(1, 5, 16)
    assert torch.allclose(loaded.model(z, pi, merge="global"), result.model(z, pi, merge="global"))


@pytest.mark.unit
def test_plan_at_three_sizes_grows_at_most_linearly_and_fits_the_targets(capsys):
    sizes = [(17, 256, 448), (33, 480, 832), (81, 480, 832)]
    plans = [plan_coupling(WAN, QWEN, *size) for size in sizes]
    latent = [p.latent_tokens for p in plans]
    vlm = [p.vlm_tokens for p in plans]
    assert latent == [2240, 14040, 32760]  # Wan2.1 latents (16, F, H/8, W/8) in 1×2×2 patches
    assert vlm == [288, 1020, 2550]  # Qwen2.5-VL grids (2, 9, 16), (2, 17, 30), (5, 17, 30) under 2 fps sampling
    middle = plans[1]
    assert middle.phi_params <= 200e6 and middle.train_peak_gib <= 40, middle.summary()
    growth = max(latent[2] / latent[0], vlm[2] / vlm[0])
    assert plans[2].phi_params / plans[0].phi_params <= growth
    assert plans[2].train_peak_gib / plans[0].train_peak_gib <= growth
    plan_main(["--generator", WAN, "--vlm", QWEN, "--frames", "33", "--height", "480", "--width", "832"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f"phi_params={middle.phi_params} train_peak_gib={middle.train_peak_gib:.2f}"


@pytest.mark.unit
def test_plan_refuses_sizes_the_generator_cannot_take_and_unknown_models(capsys):
    with pytest.raises(ValueError, match=r"4k \+ 1.*34×480×832"):
        plan_coupling(WAN, QWEN, 34, 480, 832)
    with pytest.raises(ValueError, match="no memory table entry for VLM .someone/other-vlm."):
        plan_coupling(WAN, "someone/other-vlm", 33, 480, 832)
    with pytest.raises(SystemExit):
        plan_main(["--generator", WAN, "--vlm", QWEN, "--frames", "33", "--height", "481", "--width", "832"])
    assert "multiples of 16" in capsys.readouterr().err


@pytest.mark.integration
@pytest.mark.parametrize("family,grid,extra", [("qwen2_vl", [2, 2, 2], 0), ("qwen2_5_vl", [2, 2, 2], 0),
                                               ("qwen3_vl", [2, 2, 2], 0), ("llava_onevision", [9, 2, 2], 1),
                                               ("smolvlm", [9, 2, 2], 0), ("internvl", [9, 2, 2], 0)])
def test_every_vlm_family_gives_phi_its_token_grid(family, grid, extra):
    """The coupling data records each family's token grid (frames × per-frame grid, LLaVA-OneVision's newline after
    it), Φ is laid out on it, and its output reads through the VLM without inputs=."""
    import warnings

    import numpy as np

    from l2vkit import testing
    from l2vkit.coupling import build_coupling_data, fit_coupling
    from l2vkit.testing_generators import tiny_generator

    vlm, generator = getattr(testing, f"tiny_{family}")(), tiny_generator("wan")
    videos = np.random.default_rng(0).integers(0, 256, (2, 9, 16, 16, 3), dtype=np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = build_coupling_data(vlm, generator, videos, ["a red circle", "a blue square"], progress=False)
    assert data.meta["token_layout"]["token_grid"] == grid
    assert data.meta["token_layout"].get("trailing_tokens", 0) == extra
    coupling = fit_coupling(vlm, generator, data, steps={"global": 2, "local": 0, "rho": 0}, progress=False,
                            width=16, mixer_depth=1, local_depth=1, projections=4)
    assert (list(coupling.config.token_grid), coupling.config.extra_tokens) == (grid, extra)
    read = coupling.token_probs(vlm, data.latents[:2], data.embeds[data.video_index[:2]], "a", ["red", "blue"])
    assert read.candidates.shape == (2, 2) and torch.isfinite(read.vocab).all()
    if family == "qwen2_5_vl":  # 4 of 9 frames of a 16 fps clip: 2 / (16 · 4 / 9) seconds per temporal patch
        assert data.meta["token_layout"]["second_per_grid_ts"] == pytest.approx(2 / (16 * 4 / 9))
