"""Tiers and the every-stage memory planner: colab-t4 fits a free T4 with 10 % headroom in every stage."""
import json

import pytest

from l2vkit.stage_memory import STAGES, plan_stages
from l2vkit.tiers import COLAB_FREE_RAM_GIB, T4_GPU_GIB, TIERS, get_tier


@pytest.fixture(scope="module")
def t4():
    return plan_stages("colab-t4")


@pytest.mark.unit
def test_colab_t4_fits_every_stage_with_headroom(t4):
    assert [r.stage for r in t4.rows] == list(STAGES)
    for row in t4.rows:
        assert row.gpu_gib <= 0.9 * T4_GPU_GIB, row
        assert row.ram_gib <= 0.9 * COLAB_FREE_RAM_GIB, row
    assert t4.over_budget() == []
    assert "fits every stage" in t4.summary()


@pytest.mark.unit
def test_plan_adds_up_the_parts(t4):
    from l2vkit.generator.memory import plan_memory
    from l2vkit.vlm.memory import plan_vlm

    tier = get_tier("colab-t4")
    g = plan_memory(tier.generator, tier.frames, tier.height, tier.width, tier.dtype, verbose=False)
    v = plan_vlm(tier.vlm, tier.frames, tier.height, tier.width, 16, tier.dtype)
    # the text encoder alone (10.6 GiB in float16) is its own stage, and is gone from every later one
    assert t4.row("encode captions").gpu_gib == pytest.approx(g.weights_gb["text_encoder"] + 0.5)
    assert t4.row("extraction").gpu_gib == pytest.approx(v.peak_gib + 0.5)
    steering = g.weights_gb["transformer"] + g.weights_gb["vae"] + max(
        g.transformer_activations_gb + g.latents_gb, g.vae_decode_tiled_gb) + 0.5
    assert t4.row("steering").gpu_gib == pytest.approx(steering)
    # recomputed blocks: 6 samples of G's backward fit where one sample without would not
    training = t4.row("concept training").gpu_gib
    assert training == pytest.approx(g.weights_gb["transformer"] + 6 * g.grad_checkpointed_gb + 0.5)
    assert g.weights_gb["transformer"] + g.grad_activations_gb > 0.9 * T4_GPU_GIB


@pytest.mark.unit
def test_the_check_can_fail():
    # all models kept in RAM by offload: the coupling-data stage needs more than free Colab has
    offloaded = plan_stages("colab-t4", offload=True)
    assert any(item.startswith("coupling data: RAM") for item in offloaded.over_budget())
    # the same models at the paper's size do not fit a T4
    import dataclasses

    big = dataclasses.replace(get_tier("colab-t4"), name="t4-full-size", frames=81, height=480, width=832)
    assert plan_stages(big).over_budget()


@pytest.mark.unit
@pytest.mark.parametrize("name", ["a100-80g", "multi-gpu"])
def test_bigger_tiers_fit_their_machines(name):
    plan = plan_stages(name)
    assert plan.over_budget() == [], plan.summary()
    json.dumps(plan.as_dict())


@pytest.mark.unit
def test_group_offload_keeps_two_blocks_of_g_on_the_gpu():
    plain, group = plan_stages("multi-gpu", offload=False), plan_stages("multi-gpu", offload="group")
    from l2vkit.generator.memory import plan_memory

    g = plan_memory("Wan-AI/Wan2.1-T2V-14B-Diffusers", 81, 480, 832, "bfloat16", verbose=False)
    saved = g.weights_gb["transformer"] * (1 - 2 / g.spec.layers)
    assert plain.row("steering").gpu_gib - group.row("steering").gpu_gib == pytest.approx(saved)
    assert group.row("steering").ram_gib > plain.row("steering").ram_gib + 8 * 26  # 8 processes hold all of G in RAM


@pytest.mark.unit
def test_multi_gpu_shards_concept_training():
    plan = plan_stages("multi-gpu")
    row = plan.row("concept training")
    assert "FSDP over 8 GPUs" in row.how
    # 14B in bf16 is 26.6 GiB: one GPU holds an eighth of it plus a block or two, and its activations
    assert row.gpu_gib < 26.6


@pytest.mark.unit
def test_tiers_and_their_errors():
    assert set(TIERS) == {"toy", "colab-t4", "a100-80g", "multi-gpu"}
    assert get_tier("toy").generator_kwargs() == {}
    assert get_tier("colab-t4").generator_kwargs() == {"frames": 33, "height": 320, "width": 576, "steps": 30,
                                                       "dtype": "float16", "offload": False, "vae_tiling": True}
    with pytest.raises(ValueError, match="unknown tier 'colab-k80'.*colab-t4"):
        get_tier("colab-k80")
    with pytest.raises(ValueError, match="nothing to plan"):
        plan_stages("toy")
    for tier in TIERS.values():
        assert tier.gives_up or tier.is_toy


@pytest.mark.unit
def test_cli_plan_and_tier_option(capsys):
    from l2vkit.cli import apply_tier, build_parser, main

    assert main(["plan", "--tier", "colab-t4"]) == 0
    assert "fits every stage" in capsys.readouterr().out
    assert main(["plan", "--tier", "colab-t4", "--offload", "model"]) == 1
    assert "OVER: coupling data: RAM" in capsys.readouterr().out
    argv = ["steer", "a red circle", "--concept", "red->blue=1", "--tier", "colab-t4", "--num-frames", "17"]
    args = build_parser().parse_args(argv)
    apply_tier(args, argv)
    assert (args.generator, args.vlm) == ("Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "Qwen/Qwen2.5-VL-3B-Instruct")
    assert (args.num_frames, args.height, args.width, args.steps) == (17, 320, 576, 30)  # given ones win
    argv = ["concepts", "--tier", "colab-t4", "--steps", "7"]
    args = build_parser().parse_args(argv)
    apply_tier(args, argv)
    assert (args.steps, args.sampling_steps) == (7, 30)  # training steps stay the user's
