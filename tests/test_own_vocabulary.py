"""A user's own vocabulary, end to end without the toy world: a pairs file with a slot the toy world does not have
(material: wood->metal, with its own captions) trains a concept bank on tiny random-weight models saved as hub-layout
folders, in a process where importing ``l2vkit.toyworld`` fails."""
import json
import subprocess
import sys
import textwrap

import pytest

PAIRS = """\
families:
  attribute: [material]
pairs:
  - source: wood
    target: metal
    slot: material
    family: attribute
    captions: ["a wood chair in a room", "a wood table on the grass"]
"""

# Runs with l2vkit.toyworld blocked: every import of it (at module level or inside a function) raises.
SCRIPT = textwrap.dedent("""
    import importlib.abc, json, sys

    class BlockToyWorld(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "l2vkit.toyworld" or name.startswith("l2vkit.toyworld."):
                raise ImportError(f"toy-world code was imported: {name}")

    sys.meta_path.insert(0, BlockToyWorld())
    import numpy as np
    from l2vkit.concepts import ConceptBank, build_concept_cache, train_concepts
    from l2vkit.coupling import CouplingResult, build_coupling_data, fit_coupling
    from l2vkit.generator import VideoGenerator
    from l2vkit.pairs import load_pairs
    from l2vkit.vlm import VideoVLM

    root = sys.argv[1]
    vlm = VideoVLM.from_pretrained(f"{root}/vlm")
    generator = VideoGenerator.from_pretrained(f"{root}/generator", frames=9, height=16, width=16, text_len=16,
                                               verbose=False)
    rng = np.random.default_rng(0)
    videos = rng.integers(0, 256, (4, 9, 16, 16, 3), dtype=np.uint8)
    captions = ["a wood chair in a room", "a metal chair in a room", "a wood table on the grass",
                "a metal table on the grass"]
    data = build_coupling_data(vlm, generator, videos, captions, progress=False)
    coupling = fit_coupling(vlm, generator, data, steps={"global": 3, "local": 1, "rho": 1}, progress=False,
                            width=32, mixer_depth=1, local_depth=1, projections=8)
    coupling.save_pretrained(f"{root}/coupling")
    coupling = CouplingResult.from_pretrained(f"{root}/coupling", vlm=vlm, generator=generator)
    pairs = load_pairs(f"{root}/materials.yaml")
    cache = build_concept_cache(generator, vlm, coupling, pairs, samples_per_pair=2, timesteps_per_sample=2,
                                steps=3, captions={p.name: p.source_captions(2) for p in pairs}, progress=False)
    bank = train_concepts(generator, cache, pairs, steps=4, batch_per_pair=2, progress=False, vlm=vlm,
                          coupling=coupling)
    bank.save_pretrained(f"{root}/bank")
    again = ConceptBank.from_pretrained(f"{root}/bank", generator=generator)
    print(json.dumps({"pairs": again.pairs, "slot": again.spec("wood->metal").slot,
                      "norm": float(again["wood->metal"].norm()),
                      "toy_modules": sorted(m for m in sys.modules if m.startswith("l2vkit.toyworld"))}))
""")


@pytest.mark.integration
def test_a_material_pair_trains_a_bank_on_tiny_random_models_without_toy_code(tmp_path):
    from l2vkit.testing import save_tiny, tiny_qwen2_vl
    from l2vkit.testing_generators import tiny_wan_minilm_pipeline

    # hub-layout folders of tiny random-weight models; the VLM's word-level vocabulary gets the pair's words
    save_tiny(tiny_qwen2_vl(extra_words=["wood", "metal", "chair", "table", "room"]), tmp_path / "vlm")
    tiny_wan_minilm_pipeline().save_pretrained(tmp_path / "generator")
    (tmp_path / "materials.yaml").write_text(PAIRS)
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {**result, "pairs": ["wood->metal"], "slot": "material", "toy_modules": []}
    assert result["norm"] > 0
    for name in ("model.safetensors", "config.json", "README.md"):
        assert (tmp_path / "bank" / name).is_file() and (tmp_path / "coupling" / name).is_file()

    # the demo on these models: the bank's pair swept on the user's captions, scored by the VLM through Φ
    (tmp_path / "captions.txt").write_text("a wood chair in a room\na metal table\n\na wood table on the grass\n")
    demo = subprocess.run([sys.executable, "-m", "l2vkit", "demo", "--vlm", tmp_path / "vlm", "--generator",
                           tmp_path / "generator", "--coupling", tmp_path / "coupling", "--concepts", tmp_path / "bank",
                           "--captions", tmp_path / "captions.txt", "--num-frames", "9", "--height", "16", "--width",
                           "16", "--text-len", "16", "--sampling-steps", "2", "--seeds", "2", "--no-videos", "--quiet", "--out",
                           tmp_path / "out"], capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "wood->metal" in demo.stdout and "no ground truth for these models" in demo.stdout
    metrics = json.loads((tmp_path / "out" / "demo" / "metrics.json").read_text())
    sweep = metrics["sweeps"][0]
    assert sweep["pairs"] == ["wood->metal"] and sweep["captions"] == ["a wood chair in a room",
                                                                        "a wood table on the grass"]
    assert sweep["per_pair"]["wood->metal"]["flip_rate"] is None and len(sweep["target_probability"]) == 5
    assert (tmp_path / "out" / "demo" / "report.html").is_file()
    missing = subprocess.run([sys.executable, "-m", "l2vkit", "demo", "--vlm", tmp_path / "vlm", "--generator",
                              tmp_path / "generator", "--concepts", tmp_path / "bank", "--out", tmp_path / "out"],
                             capture_output=True, text=True, timeout=600)
    assert missing.returncode == 2 and "give --coupling, --captions" in missing.stderr


@pytest.mark.unit
def test_the_blocker_would_catch_toy_code():
    """The same blocker makes a toy-world import fail, so the test above could fail."""
    script = SCRIPT.split("import numpy as np")[0] + "import l2vkit.toyworld\n"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode != 0 and "toy-world code was imported: l2vkit.toyworld" in run.stderr
