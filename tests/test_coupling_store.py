"""Coupling data on disk: the same samples as in memory, read row by row, resumed after an interruption, and
fitted on without holding the data in RAM."""
import json

import pytest
import torch

from l2vkit import toyworld
from l2vkit.coupling import build_coupling_data, fit_coupling, open_coupling_data
from l2vkit.coupling.store import ShardedRows, token_statistics

STEPS = {"global": 3, "local": 2, "rho": 1}
SIZES = dict(width=16, mixer_depth=1, local_depth=1, projections=4)


@pytest.fixture(scope="module")
def toy():
    vlm, gen = toyworld.load_vlm(), toyworld.load_generator()
    from l2vkit.toyworld.vlm_data import held_out

    attrs, videos = held_out(10, offset=7)
    return vlm, gen, videos, [toyworld.caption(a) for a in attrs]


def build(toy, **kw):
    vlm, gen, videos, captions = toy
    return build_coupling_data(vlm, gen, videos, captions, sigmas_per_video=1, batch=4, seed=5, progress=False, **kw)


@pytest.mark.integration
def test_store_holds_the_same_samples_and_reads_rows_lazily(toy, tmp_path):
    memory = build(toy)
    stored = build(toy, out=tmp_path / "data")
    assert isinstance(stored.latents, ShardedRows) and isinstance(stored.targets, ShardedRows)
    assert len(list((tmp_path / "data").glob("part-*.safetensors"))) == 3  # 10 videos in batches of 4
    for name in ("latents", "local_tokens", "embeds", "targets", "sigmas", "video_index", "mask"):
        assert torch.equal(getattr(stored, name)[:], getattr(memory, name)), name
    rows = torch.tensor([[7, 0], [19, 3]])
    assert torch.equal(stored.latents[rows], memory.latents[rows])
    assert torch.equal(stored.targets[torch.tensor([9, 2])], memory.targets[torch.tensor([9, 2])])
    mean, std = token_statistics(stored.targets)
    assert torch.allclose(mean, memory.targets.mean((0, 1)), atol=1e-5)
    assert torch.allclose(std, memory.targets.std((0, 1)), atol=1e-4)
    with pytest.raises(IndexError, match="out of range"):
        stored.latents[torch.tensor([len(stored)])]
    # fitting draws the same batches from the store as from memory …
    from l2vkit.coupling.fit import training_batch

    index = torch.tensor([3, 17, 0, 8])
    rng_a, rng_b = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    for (name, x), y in zip(training_batch(memory, index, "cpu", swap=0.5, rng=rng_a).items(),
                            training_batch(stored, index, "cpu", swap=0.5, rng=rng_b).values()):
        assert torch.equal(x, y), name
    # … and gives the same Φ up to the z_Ω statistics (float64 sums taken shard by shard), which Adam amplifies
    a = fit_coupling(None, None, memory, steps=STEPS, batch_size=4, rho_batch_size=2, progress=False, **SIZES)
    b = fit_coupling(None, None, stored, steps=STEPS, batch_size=4, rho_batch_size=2, progress=False, **SIZES)
    for (name, x), y in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.allclose(x, y, atol=3e-3), name
    assert b.meta["data"]["store"] == str(tmp_path / "data")


@pytest.mark.integration
def test_an_interrupted_build_resumes_after_its_last_shard(toy, tmp_path):
    folder = tmp_path / "data"
    full = build(toy)
    build(toy, out=folder)
    index = json.loads((folder / "coupling_data.json").read_text())
    (folder / index["shards"][-1]["file"]).unlink()  # as if the run died while writing the last shard
    index.update(shards=index["shards"][:-1], complete=False)
    (folder / "coupling_data.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match="incomplete"):
        open_coupling_data(folder)
    resumed = build(toy, out=folder)
    assert torch.equal(resumed.latents[:], full.latents) and torch.equal(resumed.sigmas, full.sigmas)
    vlm, gen, videos, captions = toy
    with pytest.raises(ValueError, match="other settings"):
        build_coupling_data(vlm, gen, videos, captions, sigmas_per_video=2, batch=4, seed=5, progress=False,
                            out=folder)
