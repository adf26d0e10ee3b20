"""The lowest bounds l2vkit declares for transformers and diffusers, checked: an environment with both at their lower
bounds (everything else as installed here) loads the shipped toy VLM, generator, coupling and bank, and the VLM
captions toy videos right. transformers 5.15–5.17 loaded the toy VLM without a word and captioned garbage, so
loading it there is refused, saying what to install."""
import re
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def _declared_lower_bounds() -> dict[str, str]:
    text = (ROOT / "pyproject.toml").read_text()
    return {name: re.search(rf'"{name}>=([\d.]+)"', text).group(1) for name in ("transformers", "diffusers")}


CHECK = r"""
import transformers, diffusers
from l2vkit import toyworld as tw
vlm, gen = tw.load_vlm(), tw.load_generator()
truth = [tw.random_attributes(i) for i in range(10)]
right = sum(vlm.caption(tw.render(a, seed=i)) == tw.caption(a) for i, a in enumerate(truth))
video = gen.generate(tw.caption(truth[0]), seed=0, steps=5)
tw.load_coupling(vlm=vlm, generator=gen), tw.load_concepts(generator=gen)
print(transformers.__version__, diffusers.__version__, right, video.shape)
"""


@pytest.mark.unit
def test_the_toy_vlm_refuses_a_transformers_that_reads_it_wrongly():
    from l2vkit.toyworld.preset import MIN_TRANSFORMERS, check_transformers

    from packaging.version import Version

    assert Version(MIN_TRANSFORMERS) == Version(_declared_lower_bounds()["transformers"])
    for version in ("5.17.0", "5.15.0", "4.57.6"):
        with pytest.raises(RuntimeError, match=r"transformers>=5\.18.*pip install -U"):
            check_transformers(version)
    for version in ("5.18.0", "5.25.0", "6.0.0"):
        check_transformers(version)


@pytest.mark.integration  # about 25 s: a throw-away environment with two wheels
def test_the_toy_world_runs_at_the_lowest_declared_versions(tmp_path):
    bounds = _declared_lower_bounds()
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    own_site = subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                       text=True).strip()
    # Everything but the two pins comes from this environment, whose site-packages follow the new one's (so the
    # pins shadow it); addsitedir also runs its .pth files, which is how the editable l2vkit is found.
    Path(own_site, "this_environment.pth").write_text(
        f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
    pins = [f"transformers=={bounds['transformers']}", f"diffusers=={bounds['diffusers']}"]
    # pip sees this environment's packages as installed, so it adds only what the pins need beyond them (diffusers
    # 0.36 needs httpx, for one) and leaves this environment's own files alone (they are outside its prefix)
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", *pins], capture_output=True, text=True)
    if install.returncode != 0:
        if "No matching distribution" in install.stderr or "Could not find" in install.stderr:
            pytest.skip(f"the package index is unreachable: {install.stderr.strip().splitlines()[-1]}")
        pytest.fail(install.stderr)
    run = subprocess.run([str(python), "-c", CHECK], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    transformers_version, diffusers_version, right, *_ = run.stdout.split()
    assert (transformers_version, diffusers_version) == (bounds["transformers"], bounds["diffusers"]), run.stdout
    assert right == "10", f"the toy VLM captioned {right} of 10 toy videos right at the lowest bounds"
