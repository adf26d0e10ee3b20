import pytest

from l2vkit import toyworld as tw
from l2vkit.pairs import ContrastPair, load_pairs, parse_pairs

pytestmark = pytest.mark.unit


def test_shipped_pairs_cover_the_three_families():
    pairs = tw.contrast_pairs()
    names = [p.name for p in pairs]
    assert "red->blue" in names and len(set(names)) == len(names)
    by_slot = {}
    for p in pairs:
        by_slot.setdefault(p.slot, []).append(p)
        assert isinstance(p, ContrastPair)
        assert p.name == f"{p.source}->{p.target}"
    assert {p.family for p in pairs} == {"attribute", "action", "scene"}
    assert len(by_slot["colour"]) >= 3 and len(by_slot["scene"]) >= 2
    assert {"shape", "size", "adverb", "direction"} <= set(by_slot)


def test_pair_edits_exactly_one_caption_word():
    attrs = tw.random_attributes(0)
    for pair in tw.contrast_pairs():
        source = tw.caption(attrs.replace(**{pair.slot: pair.source})).split()
        target = tw.caption(attrs.replace(**{pair.slot: pair.target})).split()
        assert len(source) == len(target)
        assert [(a, b) for a, b in zip(source, target) if a != b] == [(pair.source, pair.target)]


def test_captions_from_a_template():
    pair = ContrastPair("red", "blue", "colour", "attribute", template="a {colour} ball")
    assert pair.captions() == ("a red ball", "a blue ball")
    with pytest.raises(ValueError, match="must contain {colour}"):
        pair.captions("a ball")


@pytest.mark.parametrize(
    "text, match",
    [
        ("pairs: [ {source: red", "not valid YAML"),
        ("something: else", "top-level 'pairs:' list"),
        ("pairs: [{target: blue, slot: colour, family: attribute}]", r"pairs\[0\]: field 'source' is missing"),
        ("pairs: [{source: red, target: bleu, slot: colour, family: attribute}]", r"field 'target' is 'bleu'"),
        ("families: {attribute: [colour]}\npairs: [{source: red, target: blue, slot: colour, family: colours}]",
         r"field 'family' is 'colours'"),
        ("families: {attribute: [colour]}\npairs: [{source: red, target: blue, slot: scene, family: attribute}]",
         r"field 'slot' is 'scene'"),
        ("pairs: [{source: wood, target: metal, slot: material, family: attribute}]", "this world has no slot"),
        ("colours: [red]\npairs: [{source: red, target: blue, slot: colour, family: attribute}]",
         r"unknown section.*colours"),
        ("pairs: [{source: red, target: blue, slot: colour, family: attribute, captions: ['a blue ball']}]",
         "must hold the source word 'red'"),
        ("pairs: [{source: red, target: red, slot: colour, family: attribute}]", "both 'red'"),
        ("pairs: [{source: red, target: blue, slot: colour, family: attribute, weight: 2}]", r"unknown field.*weight"),
        ("pairs: [{source: red, target: blue, slot: colour, family: attribute},"
         " {source: red, target: blue, slot: colour, family: attribute}]", r"pairs\[1\]: field 'name'.*used twice"),
        ("pairs: [{source: red, target: blue, slot: colour, family: attribute, template: 'a ball'}]", "must contain"),
    ],
)
def test_malformed_specs_name_the_problem(tmp_path, text, match):
    path = tmp_path / "pairs.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_pairs(path, vocabulary=tw.ATTRIBUTE_VALUES)


def test_specs_without_a_vocabulary_accept_any_single_word():
    pairs = parse_pairs({"pairs": [{"source": "desert", "target": "forest", "slot": "scene", "family": "scene"}]})
    assert pairs[0].name == "desert->forest"
    with pytest.raises(ValueError, match="one word"):
        parse_pairs({"pairs": [{"source": "red car", "target": "blue", "slot": "colour", "family": "attribute"}]})


def test_a_slot_the_toy_world_does_not_have_comes_from_the_file(tmp_path):
    """Slots and families are the file's: a material pair with its own captions loads without any vocabulary."""
    path = tmp_path / "materials.yaml"
    path.write_text("families:\n  attribute: [material]\npairs:\n"
                    "  - {source: wood, target: metal, slot: material, family: attribute,\n"
                    "     captions: ['a wood chair', 'a  wood table in a room']}\n"
                    "  - {source: oak, target: pine, slot: material, family: attribute, template: 'an {material} box'}\n")
    wood, oak = load_pairs(path)
    assert (wood.slot, wood.family, wood.name) == ("material", "attribute", "wood->metal")
    assert wood.source_captions(3) == ["a wood chair", "a wood table in a room", "a wood chair"]
    assert oak.source_captions(2) == ["an oak box"] * 2
    with pytest.raises(ValueError, match="neither 'captions' nor a 'template'"):
        ContrastPair("wood", "metal", "material", "attribute").source_captions(1)
    with pytest.raises(ValueError, match="field 'slot' is 'material', which is not in family"):
        load_pairs(path, families={"attribute": ["colour"]})


def test_the_toy_families_moved_with_a_warning():
    import l2vkit.pairs

    with pytest.warns(DeprecationWarning, match="l2vkit.pairs.FAMILIES moved"):
        assert l2vkit.pairs.FAMILIES == tw.attributes.FAMILIES
