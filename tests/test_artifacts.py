"""Couplings and concept banks as shareable folders (save_pretrained / from_pretrained): round trips, the one
identity check, the older single files, and the errors for folders that are incomplete or of another kind."""
import json
import shutil

import pytest
import torch

from l2vkit import toyworld
from l2vkit.artifacts import CARD, CONFIG, WEIGHTS, check_identity
from l2vkit.concepts import ConceptBank
from l2vkit.coupling import CouplingResult, load_coupling
from l2vkit.paths import data_path

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def toy():
    vlm, gen = toyworld.load_vlm(), toyworld.load_generator()
    return vlm, gen, toyworld.load_coupling(vlm=vlm, generator=gen), toyworld.load_concepts(generator=gen)


@pytest.fixture(scope="module")
def other_generator():
    from l2vkit.testing_generators import tiny_generator

    return tiny_generator("wan")


def _edit_config(folder, edit):
    config = json.loads((folder / CONFIG).read_text())
    edit(config)
    (folder / CONFIG).write_text(json.dumps(config))


def _leftovers(parent):
    return [p.name for p in parent.iterdir() if p.name.startswith(".")]


def test_coupling_folder_round_trip(toy, tmp_path):
    vlm, gen, coupling, _ = toy
    folder = coupling.save_pretrained(tmp_path / "phi")
    assert sorted(p.name for p in folder.iterdir()) == sorted([WEIGHTS, CONFIG, CARD])
    loaded = CouplingResult.from_pretrained(folder, vlm=vlm, generator=gen)
    saved, again = coupling.model.state_dict(), loaded.model.state_dict()
    assert saved.keys() == again.keys() and all(torch.equal(saved[k], again[k]) for k in saved)
    assert loaded.header() == coupling.header() and loaded.config == coupling.config
    config = json.loads((folder / CONFIG).read_text())
    assert config["kind"] == "coupling" and config["format_version"] == 1
    assert config["models"]["vlm"] == coupling.meta["vlm"] and config["provenance"]["seed"] == coupling.meta["seed"]
    card = (folder / CARD).read_text()
    assert "toy:toy_vlm" in card and "toy:toy_generator" in card and "CouplingResult.from_pretrained" in card
    # the other entry points take the folder too
    assert isinstance(load_coupling(folder, vlm=vlm, generator=gen), CouplingResult)
    assert isinstance(CouplingResult.load(folder), CouplingResult)
    # saving again replaces the folder whole, keeps what is not ours (a Hub clone's .git), leaves no temporaries
    (folder / ".gitattributes").write_text("*.safetensors filter=lfs\n")
    coupling.save_pretrained(folder)
    assert (folder / ".gitattributes").exists() and _leftovers(tmp_path) == []


def test_concept_bank_folder_round_trip(toy, tmp_path):
    vlm, gen, _, bank = toy
    folder = bank.save_pretrained(tmp_path / "bank")
    loaded = ConceptBank.from_pretrained(folder, generator=gen, vlm=vlm)
    assert loaded.pairs == bank.pairs and all(torch.equal(loaded[n], bank[n]) for n in bank.pairs)
    assert loaded.specs == bank.specs and loaded.header() == bank.header()
    assert json.loads((folder / CONFIG).read_text())["kind"] == "concept_bank"
    card = (folder / CARD).read_text()
    assert "toy:toy_generator" in card and "red->blue" in card and "ConceptBank.from_pretrained" in card
    assert ConceptBank.load(folder, generator=gen).pairs == bank.pairs


def test_other_models_are_refused_and_the_error_names_both(toy, other_generator, tmp_path):
    vlm, gen, coupling, bank = toy
    phi = coupling.save_pretrained(tmp_path / "phi")
    with pytest.raises(ValueError, match=r"fitted for generator 'toy:toy_generator' \(.*text_dim=384\), but the "
                                         r"loaded generator is 'tiny-wan' \(.*text_dim=32\); fit a coupling"):
        CouplingResult.from_pretrained(phi, vlm=vlm, generator=other_generator)
    _edit_config(phi, lambda c: c["models"]["vlm"].update(weights="0123456789abcdef"))
    with pytest.raises(ValueError, match=r"fitted for VLM 'toy:toy_vlm' \(weights='0123456789abcdef', "
                                         r"tokens_width=128\), but the loaded VLM is 'toy:toy_vlm' \(weights='\w{16}'"):
        load_coupling(phi, vlm=vlm)
    folder = bank.save_pretrained(tmp_path / "bank")
    with pytest.raises(ValueError, match=r"trained for generator 'toy:toy_generator'.*but the generator is "
                                         r"'tiny-wan'.*train concepts"):
        ConceptBank.from_pretrained(folder, generator=other_generator)
    _edit_config(folder, lambda c: c["models"]["vlm"].update(model_id="someone/other-vlm"))
    with pytest.raises(ValueError, match=r"trained for VLM 'someone/other-vlm'.*but the VLM is 'toy:toy_vlm'"):
        ConceptBank.from_pretrained(folder, generator=gen, vlm=vlm)
    # the same check for every artifact; a role the artifact records nothing for is not checked
    check_identity({"vlm": None}, vlm=vlm, generator=other_generator, what="concept_bank")
    with pytest.raises(ValueError, match="this coupling was fitted for generator"):
        check_identity(coupling.meta, generator=other_generator)


def test_single_files_still_load(toy, tmp_path):
    vlm, gen, coupling, bank = toy
    shipped = data_path("toy_coupling.safetensors")
    for source in (shipped, shipped.with_suffix("")):
        assert CouplingResult.from_pretrained(source, vlm=vlm, generator=gen).header() == coupling.header()
    assert ConceptBank.from_pretrained(data_path("toy_concepts.safetensors"), generator=gen).pairs == bank.pairs
    path = coupling.save(tmp_path / "phi.safetensors")
    assert load_coupling(path, vlm=vlm, generator=gen).header() == coupling.header()
    assert ConceptBank.load(bank.save(tmp_path / "bank.safetensors"), generator=gen).pairs == bank.pairs


def test_incomplete_or_foreign_folders_give_clear_errors(toy, tmp_path):
    _, _, coupling, bank = toy
    phi = coupling.save_pretrained(tmp_path / "phi")
    shutil.copytree(phi, tmp_path / "no_weights")
    (tmp_path / "no_weights" / WEIGHTS).unlink()
    with pytest.raises(FileNotFoundError, match="has no model.safetensors"):
        CouplingResult.from_pretrained(tmp_path / "no_weights")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="has no config.json: not an l2vkit coupling folder"):
        load_coupling(tmp_path / "empty")
    with pytest.raises(ValueError, match="holds an l2vkit concept bank, not a coupling; load it with "
                                         "l2vkit.concepts.ConceptBank"):
        CouplingResult.from_pretrained(bank.save_pretrained(tmp_path / "bank"))
    with pytest.raises(ValueError, match="holds an l2vkit coupling, not a concept bank"):
        ConceptBank.from_pretrained(phi)
    _edit_config(phi, lambda c: c.update(format_version=99))
    with pytest.raises(ValueError, match="coupling format 99; this l2vkit reads 1"):
        CouplingResult.from_pretrained(phi)
    _edit_config(phi, lambda c: c.update(kind="tokenizer"))
    with pytest.raises(ValueError, match="no l2vkit coupling \\(config.json has kind 'tokenizer'\\)"):
        CouplingResult.from_pretrained(phi)
    with pytest.raises(FileNotFoundError, match="no folder .*nowhere' here and could not download it from the Hub"):
        CouplingResult.from_pretrained(str(tmp_path / "nowhere"))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not an l2vkit artifact folder"):
        coupling.save_pretrained(tmp_path / "mine")


def test_an_interrupted_save_keeps_the_previous_folder(toy, tmp_path, monkeypatch):
    import safetensors.torch

    _, _, coupling, _ = toy
    folder = coupling.save_pretrained(tmp_path / "phi")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def half_write(tensors, filename, metadata=None):
        open(filename, "wb").write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors.torch, "save_file", half_write)
    with pytest.raises(KeyboardInterrupt):
        coupling.save_pretrained(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before and _leftovers(tmp_path) == []
