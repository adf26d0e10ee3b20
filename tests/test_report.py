"""The HTML report: one self-contained file whose videos, images and tables are really there — checked by parsing
the HTML, and by loading it in headless Chromium when Chromium is installed."""
import base64
import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest

from l2vkit.cli import main
from l2vkit.report import render_report, write_report

unit = pytest.mark.unit
integration = pytest.mark.integration


class Page(HTMLParser):
    """Elements of interest with their attributes, table texts, and every external reference."""

    def __init__(self):
        super().__init__()
        self.elements = []
        self.external = []
        self.tables = 0
        self.text = []
        self._in_pre = False
        self.pre = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        if tag == "table" and attrs.get("class") in ("records", "kv"):
            self.tables += 1
        for key in ("src", "href"):
            value = attrs.get(key)
            if value and not value.startswith(("data:", "#")):
                self.external.append(value)
        if tag in ("link", "iframe", "object", "embed"):
            self.external.append(tag)
        if tag == "pre":
            self._in_pre = True
            self.pre.append("")

    def handle_endtag(self, tag):
        if tag == "pre":
            self._in_pre = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_pre:
            self.pre[-1] += data

    def media(self, tag, mime):
        return [a for t, a in self.elements if t == tag and a.get("src", "").startswith(f"data:{mime};base64,")]


def parse(path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from l2vkit.plots import curves_over_phi
    from l2vkit.video import save_figure, write_video

    run = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(0)
    video = rng.integers(0, 255, size=(6, 8, 8, 3), dtype=np.uint8)
    write_video(run / "videos" / "sweep.mp4", video, scale=4)
    write_video(run / "videos" / "sweep.gif", video, scale=4)
    fig, _ = curves_over_phi([0, 0.5, 1], {"flip rate": [0, 0.5, 1]})
    save_figure(fig, run / "figures" / "curves.png")
    (run / "metrics.json").write_text(json.dumps([
        {"method": "ours", "FVD": 12.5, "CLIP": 0.31, "attributes": {"source": {"colour": "red"},
                                                                     "target": {"colour": "blue"}}},
        {"method": "LEAPS", "FVD": 40.25, "CLIP": 0.2, "attributes": None},
    ]))
    (run / "summary.json").write_text(json.dumps({
        "pair_count": 2, "label": "<script>alert(1)</script>", "pairs": [{"pair": "red->blue", "ok": True}],
        "settings": {"phis": [0, 0.5, 1], "seed": 3}, "provenance": {"l2vkit": "0.1.0", "seed": 3},
    }))
    (run / "broken.json").write_text("{not json")
    (run / ".hidden.json").write_text("[]")
    return run


@unit
def test_report_is_self_contained_with_media_tables_and_provenance(run_dir):
    path = write_report(run_dir, title="My run")
    assert path == run_dir / "report.html"
    page = parse(path)
    assert page.external == [], f"the report references outside files: {page.external}"
    videos = page.media("video", "video/mp4")
    gifs = page.media("img", "image/gif")
    pngs = page.media("img", "image/png")
    assert len(videos) == 1 and len(gifs) == 1 and len(pngs) == 1
    assert base64.b64decode(pngs[0]["src"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert base64.b64decode(gifs[0]["src"].split(",", 1)[1])[:6] in (b"GIF89a", b"GIF87a")
    assert b"ftyp" in base64.b64decode(videos[0]["src"].split(",", 1)[1])[:16]
    assert {"controls", "loop", "muted"} <= set(videos[0])
    # metrics.json (records), summary.json (key/value + pairs records + settings key/value)
    assert page.tables == 4
    text = " ".join(page.text)
    for expected in ("ours", "LEAPS", "12.5", "40.25", "red->blue", "My run", "broken.json is not valid JSON"):
        assert expected in text, expected
    assert "<script>alert(1)</script>" in text  # shown as text …
    assert "alert(1)" not in " ".join(a.get("src", "") for _, a in page.elements)
    assert sum(1 for t, _ in page.elements if t == "script") == 1  # … not run: the only script is the report's own
    provenance = [json.loads(block) for block in page.pre]
    assert {"l2vkit": "0.1.0", "seed": 3} in provenance
    report_block = next(p for p in provenance if "files" in p)
    assert "videos/sweep.mp4" in report_block["files"] and ".hidden.json" not in report_block["files"]


@unit
def test_report_twice_does_not_report_itself(run_dir, tmp_path):
    first = render_report(run_dir)[1]
    write_report(run_dir)
    second = render_report(run_dir)[1]
    assert first == second and first["videos"] == 2 and first["figures"] == 1
    out = write_report(run_dir, tmp_path / "elsewhere" / "r.html")
    assert out.exists() and not list((tmp_path / "elsewhere").glob(".*"))  # atomic: no temp file left


@unit
def test_report_size_caps_leave_a_note(run_dir, tmp_path):
    page_html, counts = render_report(run_dir, out=tmp_path / "r.html", max_file_mb=0.001)
    assert counts["videos"] == counts["figures"] == 0 and counts["skipped"] >= 3
    assert "over the 0.001 MB per-file cap" in page_html
    _, budget = render_report(run_dir, out=tmp_path / "r.html", max_total_mb=0.0001)
    assert budget["videos"] == 0 and budget["skipped"] >= 3
    _, rows = render_report(run_dir, out=tmp_path / "r.html", max_rows=1)
    assert "showing the first 1 of 2 rows" in render_report(run_dir, out=tmp_path / "r.html", max_rows=1)[0]
    assert rows["tables"] == 4


@unit
def test_report_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_report(tmp_path / "missing")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(NotADirectoryError, match="not a folder"):
        write_report(tmp_path / "file.txt")
    with pytest.raises(ValueError, match="nothing to report"):
        write_report(tmp_path)


@unit
def test_cli_report_errors_are_one_line_exit_2(tmp_path):
    for target in (tmp_path / "missing", tmp_path):
        result = subprocess.run([sys.executable, "-m", "l2vkit", "report", str(target)], capture_output=True,
                                text=True)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("l2vkit report: error:") and "Traceback" not in result.stderr


@unit
def test_cli_report_writes_the_page(run_dir, tmp_path, capsys):
    out = tmp_path / "page.html"
    assert main(["report", str(run_dir), "--out", str(out), "--title", "CLI run"]) == 0
    assert "wrote" in capsys.readouterr().out and "<title>CLI run</title>" in out.read_text()


@pytest.fixture(scope="module")
def demo_report(demo_run):
    return write_report(demo_run[0])


@integration
def test_report_on_the_demo_output(demo_report):
    page = parse(demo_report)
    # four sweeps (one mp4 + one gif each) and the README animation (gif)
    assert len(page.media("video", "video/mp4")) == 4 and len(page.media("img", "image/gif")) == 5
    assert len(page.media("img", "image/png")) == 8  # a frame grid and curves per sweep
    assert page.tables >= 2
    text = " ".join(page.text)
    assert all(name in text for name in ("red->blue", "slowly->quickly", "desert->snow"))
    assert any('"command": "l2vkit demo"' in block for block in page.pre)


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def chromium(args, profile, timeout=120):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--virtual-time-budget=10000"]
    return subprocess.run([find_chromium(), *flags, *args], capture_output=True, text=True, timeout=timeout)


@integration
@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed (.ci/run installs it with apt-get)")
def test_report_opens_in_headless_chromium_with_media_decoded(demo_report, tmp_path):
    result = chromium(["--dump-dom", demo_report.as_uri()], tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-2000:]
    page = Page()
    page.feed(result.stdout)
    videos = page.media("video", "video/mp4")
    images = page.media("img", "image/gif") + page.media("img", "image/png")
    assert len(videos) == 4 and len(images) == 13
    # data-loaded is set by the page's script once the browser has decoded each element
    assert [v.get("data-loaded") for v in videos] == ["1"] * 4, "Chromium could not decode the embedded mp4s"
    assert [i.get("data-loaded") for i in images] == ["1"] * 13
    assert page.tables >= 2 and "red->blue" in " ".join(page.text)
    shot = tmp_path / "shot.png"
    result = chromium([f"--screenshot={shot}", "--window-size=1200,1600", demo_report.as_uri()], tmp_path / "p2")
    assert result.returncode == 0 and shot.exists()
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[:2] == (1600, 1200) and pixels.std() > 20  # rendered content, not a blank page


@unit
def test_report_reads_only_regular_files_inside_its_run_folder(tmp_path):
    """Files linked in from elsewhere (a JSON, a PNG, a whole folder) are not embedded, a note says so, and the page
    names the run folder without the author's local path."""
    outside = tmp_path / "private"
    (outside / "deep").mkdir(parents=True)
    (outside / "secret.json").write_text(json.dumps({"token": "do-not-show"}))
    (outside / "deep" / "other.json").write_text(json.dumps({"token": "nor-this"}))
    from l2vkit.plots import curves_over_phi
    from l2vkit.video import save_figure

    fig, _ = curves_over_phi([0, 1], {"flip rate": [0, 1]})
    save_figure(fig, outside / "leak.png")
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"flip": 0.9}))
    (run / "secret.json").symlink_to(outside / "secret.json")
    (run / "leak.png").symlink_to(outside / "leak.png")
    (run / "linked").symlink_to(outside / "deep", target_is_directory=True)
    page, counts = render_report(run, out=tmp_path / "r.html")
    assert "do-not-show" not in page and "nor-this" not in page and counts["figures"] == 0
    assert "secret.json not read: a symbolic link" in page and "leak.png not read: a symbolic link" in page
    assert counts["skipped"] >= 2 and str(tmp_path) not in page and "flip" in page
