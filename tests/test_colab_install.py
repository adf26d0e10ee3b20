"""The Colab install replaces nothing but an old transformers: pip's resolver, asked with Colab's runtimes recorded
as installed (requirements/colab-runtime*.txt, from googlecolab/backend-info), would only add packages — and, where
the runtime's transformers is older than 5.18 (which reads the toy VLM wrongly), upgrade transformers and the hub and
tokenizer packages it needs."""
import pytest
from packaging.version import Version

from l2vkit.dev import colab_install as ci
from l2vkit.toyworld.preset import MIN_TRANSFORMERS

@pytest.mark.unit
@pytest.mark.parametrize("path", ci.RUNTIMES, ids=lambda p: p.name)
def test_recorded_runtimes_name_colabs_stack(path):
    runtime = ci.read_runtime(path)
    assert runtime.python in ("3.12", "3.13")
    missing = [name for name in ci.COLAB_STACK if name not in runtime.pins]
    assert not missing, f"{path.name} lacks {missing}"
    assert "+" not in runtime.pins["torch"]  # local labels (+cu128) are not on PyPI


@pytest.mark.unit
def test_runtime_file_without_python_is_refused(tmp_path):
    bad = tmp_path / "runtime.txt"
    bad.write_text("torch==2.11.0\n")
    with pytest.raises(ValueError, match="python-version"):
        ci.read_runtime(bad)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    if not ci.pypi_reachable():
        pytest.skip("PyPI unreachable: the dry run reads package metadata from it")
    return ci.local_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.mark.integration
@pytest.mark.parametrize("path", ci.RUNTIMES, ids=lambda p: p.name)
def test_colab_install_replaces_nothing(wheel, path, tmp_path):
    runtime = ci.read_runtime(path)
    python = ci.stub_environment(tmp_path / "venv", runtime)
    for extras in ci.EXTRAS:
        result = ci.dry_run(python, runtime, [f"{wheel}[{extras}]"])
        print(result.summary())
        assert ci.unexpected_replacements(result, runtime) == [], result.summary()
        replaced = {name for name, *_ in result.replaced}
        assert not replaced & (set(ci.COLAB_STACK) - ci.TRANSFORMERS_UPGRADE), result.summary()
        # the one exception, where it applies: transformers older than the toy VLM needs is upgraded
        old = Version(runtime.pins["transformers"]) < Version(MIN_TRANSFORMERS)
        assert ("transformers" in replaced) == old, result.summary()
        assert "l2vkit" in dict(result.new)
        assert not set(dict(result.new)) & set(ci.COLAB_STACK)
    if path.name == "colab-runtime.txt":
        # the check can fail: the bound the colab extra had before (ipywidgets>=8) replaces Colab's 7.7.1 (and with
        # it the widget front-ends Colab ships)
        stricter = ci.dry_run(python, runtime, [f"{wheel}[colab]", "ipywidgets>=8"])
        assert ("ipywidgets", "7.7.1") in [r[:2] for r in stricter.replaced], stricter.summary()
