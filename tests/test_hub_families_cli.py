"""`l2vkit concepts` and `l2vkit steer --coupling` on hub-layout folders of every VLM family: tiny random-weight
checkpoints saved as a user would download them, a coupling fitted for them (its token grid recorded), concepts
trained through it and a steered run read back through Φ — no ``inputs=`` anywhere."""
import json
import warnings

import numpy as np
import pytest

from l2vkit.cli import main

FAMILIES = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl", "llava_onevision", "smolvlm", "internvl")
VIDEO = ["--num-frames", "9", "--height", "16", "--width", "16", "--text-len", "16"]


@pytest.fixture(scope="module")
def generator_folder(tmp_path_factory):
    from l2vkit.testing_generators import tiny_wan_minilm_pipeline

    folder = tmp_path_factory.mktemp("wan")
    tiny_wan_minilm_pipeline().save_pretrained(folder)
    return folder


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("family", FAMILIES)
def test_concepts_and_steer_through_phi_on_a_hub_folder(family, generator_folder, tiny_concepts_options,
                                                       tmp_path, capsys):
    from l2vkit import testing
    from l2vkit.coupling import build_coupling_data, fit_coupling
    from l2vkit.generator import VideoGenerator
    from l2vkit.vlm import VideoVLM

    testing.save_tiny(getattr(testing, f"tiny_{family}")(), tmp_path / "vlm")
    vlm = VideoVLM.from_pretrained(str(tmp_path / "vlm"))
    generator = VideoGenerator.from_pretrained(str(generator_folder), frames=9, height=16, width=16, text_len=16,
                                               verbose=False)
    videos = np.random.default_rng(0).integers(0, 256, (4, 9, 16, 16, 3), dtype=np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = build_coupling_data(vlm, generator, videos, ["a red circle", "a blue circle", "a red square",
                                                            "a blue square"], progress=False)
    fit_coupling(vlm, generator, data, steps={"global": 2, "local": 1, "rho": 1}, progress=False, width=16,
                 mixer_depth=1, local_depth=1, projections=4).save(tmp_path / "phi.safetensors")
    models = ["--vlm", tmp_path / "vlm", "--generator", generator_folder]
    code = main([str(a) for a in ["concepts", *models, *tiny_concepts_options, "--coupling",
                                  tmp_path / "phi.safetensors", "--out", tmp_path / "bank.safetensors", "--quiet",
                                  *VIDEO]])
    out, err = capsys.readouterr()
    assert code == 0, err
    code = main([str(a) for a in ["steer", "a red circle", "--concept", "red->blue=1", *models, "--concepts",
                                  tmp_path / "bank.safetensors", "--coupling", tmp_path / "phi.safetensors",
                                  "--steps", 2, "--out", tmp_path / "steer", *VIDEO]])
    out, err = capsys.readouterr()
    assert code == 0, err
    record = json.loads((tmp_path / "steer" / "steer.json").read_text())
    assert len(record["videos"]) == 2
    for video in record["videos"]:  # each video's reading of the pair's words through Φ
        assert set(video["probs"]) == {"red", "blue"} and all(0 < p < 1 for p in video["probs"].values()), video
