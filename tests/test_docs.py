"""The documentation a reader meets: links that resolve, a short README, no reference to files outside the
repository, an API reference that covers the main objects, and a CLI table that matches the parser."""
import importlib
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
pytestmark = pytest.mark.unit

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _pages() -> list[Path]:
    # docs/notebooks and docs/tutorials link the notebook folders in for the site; their pages are notebooks.
    pages = [p for p in (ROOT / "docs").rglob("*.md") if p.relative_to(ROOT / "docs").parts[0] not in
             ("notebooks", "tutorials")]
    return [ROOT / "README.md", ROOT / "tests" / "README.md", *sorted(pages)]


def _anchors(page: Path) -> set[str]:
    """The heading anchors of a Markdown page, as GitHub and MkDocs both write them for these pages."""
    anchors = set()
    for line in page.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def broken_links(page: Path) -> list[str]:
    """Relative links of ``page`` whose file (or, for ``#anchor``, heading) does not exist."""
    broken = []
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # code blocks hold no links
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(target)
    return broken


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_links_point_at_files_that_exist(page):
    assert broken_links(page) == [], f"{page.relative_to(ROOT)} links to missing files or headings"


def test_link_check_catches_a_missing_file(tmp_path):
    page = tmp_path / "page.md"
    (tmp_path / "there.md").write_text("# Here\n")
    page.write_text("[ok](there.md) [gone](nowhere.md) [web](https://example.org/x.md) [bad anchor](there.md#elsewhere)"
                    " [good anchor](there.md#here)\n```\n[in code](ignored.md)\n```\n")
    assert broken_links(page) == ["nowhere.md", "there.md#elsewhere"]


def test_readme_is_short():
    size = len((ROOT / "README.md").read_bytes())
    assert size <= 10 * 1024, f"README.md is {size} bytes; move detail to docs/ (limit 10 KiB)"


def test_nothing_refers_to_files_outside_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    outside = re.compile(r"DESIGN\.md|CONVENTIONS\.md|shared/|steering repository|/work/")
    suffixes = {".py", ".md", ".ipynb", ".toml", ".yaml", ".yml", ".txt", ".cfg", ".sh", ""}
    offenders = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in suffixes or not path.is_file() or path.is_symlink() or name == "tests/test_docs.py":
            continue
        for number, line in enumerate(path.read_text(errors="ignore").splitlines(), 1):
            if outside.search(line):
                offenders.append(f"{name}:{number}: {line.strip()[:100]}")
    assert offenders == []


def _api_identifiers() -> list[str]:
    return [m.group(1) for page in sorted((ROOT / "docs" / "api").glob("*.md"))
            for m in re.finditer(r"^::: ([\w.]+)", page.read_text(), re.M)]


@pytest.mark.parametrize("identifier", _api_identifiers())
def test_api_reference_entries_exist(identifier):
    module_name, obj = identifier, None
    while True:
        try:
            module = importlib.import_module(module_name)
            break
        except ModuleNotFoundError:
            module_name, _, attribute = module_name.rpartition(".")
            obj = attribute if obj is None else f"{attribute}.{obj}"
    for part in (obj.split(".") if obj else []):
        module = getattr(module, part)


def test_api_reference_covers_the_main_objects():
    text = "\n".join(p.read_text() for p in (ROOT / "docs" / "api").glob("*.md"))
    for name in ("steer", "sweep", "VideoVLM", "VideoGenerator", "CouplingResult", "fit_coupling", "ConceptBank",
                 "l2vkit.toyworld"):
        assert re.search(rf"\b{re.escape(name)}\b", text), f"the API reference does not list {name}"


def test_every_command_is_in_the_readme_and_the_cli_page():
    from l2vkit.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    readme, page = (ROOT / "README.md").read_text(), (ROOT / "docs" / "cli.md").read_text()
    for command in sub.choices:
        assert f"`l2vkit {command}" in readme, f"README's CLI table lacks {command}"
        assert f"`l2vkit {command}" in page, f"docs/cli.md lacks {command}"


def test_every_page_is_in_the_site_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in (ROOT / "docs").rglob("*.md"):
        rel = page.relative_to(ROOT / "docs").as_posix()
        if rel.split("/")[0] not in ("notebooks", "tutorials"):
            assert f": {rel}" in nav, f"{rel} is not in mkdocs.yml's nav"
    for notebook in [*(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "tutorials").glob("*.ipynb")]:
        assert f"{notebook.parent.name}/{notebook.name}" in nav, f"{notebook.name} is not in mkdocs.yml's nav"


def test_the_site_executes_the_notebooks_and_fails_on_an_error():
    """Readable without running: each notebook's page shows its outputs, and a notebook that errors fails the build
    rather than publishing a page with a traceback."""
    import yaml

    class Loader(yaml.SafeLoader):  # mkdocs' !ENV [NAME, default], kept as the list it is written as
        pass

    Loader.add_constructor("!ENV", lambda loader, node: loader.construct_sequence(node))
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)
    jupyter = next(p["mkdocs-jupyter"] for p in config["plugins"] if isinstance(p, dict) and "mkdocs-jupyter" in p)
    # executed unless L2VKIT_DOCS_EXECUTE=false (CI, right after its suite executed every notebook)
    assert jupyter["execute"] == ["L2VKIT_DOCS_EXECUTE", True] and jupyter["allow_errors"] is False, jupyter
    assert '"docs,text,notebooks"' in (ROOT / "Makefile").read_text()  # what executing the toy world needs
