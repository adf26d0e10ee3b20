"""The command line on hub-layout folders of every VLM family — tiny random-weight checkpoints with the published
processor files (``l2vkit.testing_hub``), saved as a user would download them — with a hub-layout Wan: docs/vlm.md's
example, then `l2vkit fit --data` on real clips (several sizes, rates and codecs), `concepts`, `steer --coupling` and
`report`, read back through Φ with no ``inputs=`` anywhere; and what each family's published settings keep of a real
clip."""
import json
import warnings

import numpy as np
import pytest

FAMILIES = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl", "llava_onevision", "smolvlm", "internvl")
VIDEO = ["--num-frames", "9", "--height", "16", "--width", "16", "--text-len", "16"]


@pytest.fixture(scope="module")
def generator_folder(tmp_path_factory):
    from l2vkit.testing_generators import tiny_wan_minilm_pipeline

    folder = tmp_path_factory.mktemp("wan")
    tiny_wan_minilm_pipeline().save_pretrained(folder)
    return folder


@pytest.mark.integration
@pytest.mark.parametrize("family", FAMILIES)
def test_real_clips_to_report_through_phi_on_a_hub_folder(family, generator_folder, real_clips, tiny_concepts_options,
                                                           tmp_path, cli):
    from l2vkit.testing_hub import save_published_layout
    from l2vkit.vlm import VideoVLM

    save_published_layout(family, tmp_path / "vlm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Qwen2-VL / 2.5-VL, LLaVA-OneVision: no video file, said in a warning
        vlm = VideoVLM.from_pretrained(str(tmp_path / "vlm"))
        vlm.video_fps = 16
        z = vlm.visual_tokens(np.zeros((9, 16, 16, 3), np.uint8))  # docs/vlm.md's example, as published
        assert vlm.token_probs(z, "a", ["red", "blue"]).candidates.shape == (1, 2)
    models = ["--vlm", tmp_path / "vlm", "--generator", generator_folder]
    # no ρ-OT step: at published geometries (up to 2,304 tokens) one costs minutes and ~18 GB on a CPU; the read
    # through Φ that concepts and steering use is Φ_Ω1's, and the ρ-OT stage is tested on tiny grids elsewhere
    out, err = cli("fit", *models, "--data", real_clips, "--steps-global", 2, "--steps-local", 1, "--steps-rho", 0,
                   "--phi-width", 16, "--mixer-depth", 1, "--local-depth", 1, "--out", tmp_path / "phi.safetensors",
                   "--quiet", *VIDEO)
    assert "(6 videos, 24 samples" in out
    cli("concepts", *models, *tiny_concepts_options, "--coupling", tmp_path / "phi.safetensors", "--out",
        tmp_path / "bank.safetensors", "--quiet", *VIDEO)
    cli("steer", "a red circle", "--concept", "red->blue=1", *models, "--concepts", tmp_path / "bank.safetensors",
        "--coupling", tmp_path / "phi.safetensors", "--steps", 2, "--out", tmp_path / "steer", *VIDEO)
    record = json.loads((tmp_path / "steer" / "steer.json").read_text())
    assert len(record["videos"]) == 2
    for video in record["videos"]:  # each video's reading of the pair's words through Φ
        assert set(video["probs"]) == {"red", "blue"} and all(0 < p < 1 for p in video["probs"].values()), video
    cli("report", tmp_path / "steer")
    assert (tmp_path / "steer" / "report.html").is_file()


#: What each adapter keeps of bigbuckbunny.mp4 (132 frames at 25 fps, 1280×720) with the published files:
#: frames picked, then the frame size the vision tower gets (Qwen: the grid of patches); docs/vlm.md gives the rules.
BIGBUCKBUNNY = {
    "qwen3_vl": 10,          # 2 fps, linspace; all-frame pixel budget
    "llava_onevision": 8,    # no video file: the model cards' 8 frames, warned
    "smolvlm": 5,            # video_sampling: 1 fps, 5.28 s → 5 frames
    "internvl": 132,         # the published video file: do_sample_frames false
}


@pytest.mark.integration
@pytest.mark.parametrize("family", list(BIGBUCKBUNNY))
def test_published_settings_pick_the_official_frames_of_a_real_clip(family, sample_clips, tmp_path):
    from l2vkit.testing_hub import save_published_layout
    from l2vkit.video import read_video, video_fps
    from l2vkit.vlm import VideoVLM

    path = sample_clips / "bigbuckbunny.mp4"
    clip, fps = read_video(path), video_fps(path)
    save_published_layout(family, tmp_path / "vlm")
    vlm = VideoVLM.from_pretrained(str(tmp_path / "vlm"))
    if family == "llava_onevision":
        with pytest.warns(UserWarning, match="sampling 8 frames per clip as the model cards do"):
            inputs = vlm.pixel_inputs(clip, fps=fps)
    else:
        inputs = vlm.pixel_inputs(clip[:, ::4, ::4] if family == "internvl" else clip, fps=fps)  # (InternVL: less RAM)
    if family == "qwen3_vl":
        # 10 frames → 5 temporal patches; 10 · 720 · 1280 = 9.2M pixels is inside the budget [4096, 25165824] of all
        # frames, so the sides are only rounded to factor 32: 720 → 704 (Python rounds 22.5 to 22), 1280 → 1280
        assert inputs["video_grid_thw"].tolist() == [[5, 44, 80]]
        # the prompt's "<t seconds>": frames 0, 15, 29, 44, … at 25 fps, the mean time of each pair
        assert inputs["frame_seconds"] == pytest.approx([0.3, 1.46, 2.62, 3.78, 4.94])
        assert vlm.resized_size(10, 720, 1280) == (704, 1280)
    else:
        assert inputs["frames"] == BIGBUCKBUNNY[family]
    if family == "smolvlm":
        assert inputs["frame_indices"] == [0, 32, 65, 98, 131] and inputs["rate_known"]
