"""`l2vkit report RUN_DIR`: one self-contained HTML page with a run's videos, figures, tables and provenance.

Convention for a run folder: every file under it (recursively, sorted; hidden files skipped) is picked up by suffix:

- ``*.mp4`` / ``*.webm`` → ``<video>`` elements, ``*.gif`` → ``<img>`` (both as base64 ``data:`` URIs);
- ``*.png`` / ``*.jpg`` / ``*.svg`` → figures (base64 ``data:`` URIs);
- ``*.json`` → tables: a list of dicts becomes a table, a dict a key/value table (its list-of-dicts entries become
  tables of their own); any ``"provenance"`` entry (or a ``provenance.json``) goes to the provenance section.

The page needs nothing else to open (no network, no neighbouring files), so it can be mailed or attached to an issue.
Size caps keep it openable: a file over ``max_file_mb`` or past the ``max_total_mb`` budget is listed with a note
instead of embedded, and long tables show their first ``max_rows`` rows.
"""
from __future__ import annotations

import base64
import datetime
import html
import json
import math
from pathlib import Path

from .io import atomic_path

VIDEO_TYPES = {".mp4": "video/mp4", ".webm": "video/webm"}
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}
GIF_TYPE = {".gif": "image/gif"}
REPORTED = {".json", *VIDEO_TYPES, *IMAGE_TYPES, *GIF_TYPE}

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: .2rem; margin-top: 2rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; } .meta { color: #555; font-size: .9rem; }
nav a { margin-right: 1rem; } figure { margin: 0 0 1rem; display: inline-block; vertical-align: top; }
figure img.figure { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .8rem; color: #555; font-family: ui-monospace, monospace; }
.videos { display: flex; flex-wrap: wrap; gap: 1rem; }
.videos > figure { border: 1px solid #eee; padding: .4rem; display: flex; flex-wrap: wrap; gap: .6rem; }
.videos .clip { display: flex; flex-direction: column; }
.videos video, .videos img { image-rendering: pixelated; max-width: 400px; display: block; }
table { border-collapse: collapse; font-size: .85rem; margin: .3rem 0 1rem; }
th, td { padding: .2rem .6rem; text-align: left; vertical-align: top; }
table.records > thead th, table.kv > thead th { border-top: 2px solid #000; border-bottom: 1px solid #000; }
table.records > tbody > tr:last-child > *, table.kv > tbody > tr:last-child > * { border-bottom: 2px solid #000; }
td.lines { min-width: 16em; } .scroll { overflow-x: auto; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } tbody th { font-weight: 600; }
table.inner { margin: 0; font-size: .75rem; } table.inner th, table.inner td { padding: 0 .3rem; border: 0; }
table.inner thead th { border-top: 0; border-bottom: 1px solid #aaa; font-weight: 500; color: #555; }
table.records > tbody > tr > td { border-bottom: 1px solid #eee; }
pre { background: #f6f6f6; padding: .8rem; overflow-x: auto; font-size: .8rem; }
.note { color: #8a5a00; background: #fff6e0; padding: .3rem .6rem; font-size: .85rem; }
"""

# Marks every image and video with data-loaded="1" once the browser has decoded it (or "0" on error); lets a
# headless browser test check that the embedded media really load.
_SCRIPT = """
document.querySelectorAll('img').forEach(function (el) {
  function mark() { el.dataset.loaded = el.naturalWidth > 0 ? '1' : '0'; }
  if (el.complete) { mark(); } else { el.addEventListener('load', mark); el.addEventListener('error', mark); }
});
document.querySelectorAll('video').forEach(function (el) {
  if (el.readyState >= 2) { el.dataset.loaded = '1'; }
  el.addEventListener('loadeddata', function () { el.dataset.loaded = '1'; });
  el.addEventListener('error', function () { el.dataset.loaded = '0'; }, true);
});
"""


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _scalar(value) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.4g}"
    if value is None:
        return "–"
    return str(value)


def _is_scalar(value) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _cell(value) -> tuple[str, bool]:
    """(escaped HTML of a table cell, whether it is numeric)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _esc(_scalar(value)), True
    if _is_scalar(value):
        return _esc(_scalar(value)), False
    if isinstance(value, dict) and value and all(isinstance(v, dict) and all(map(_is_scalar, v.values()))
                                                 for v in value.values()):
        # a dict of flat dicts (e.g. {"source": {attributes}, "target": {attributes}}): an inner table
        columns = list(dict.fromkeys(k for v in value.values() for k in v))
        head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
        rows = "".join(f"<tr><th>{_esc(k)}</th>" + "".join(f"<td>{_esc(_scalar(v.get(c)))}</td>" for c in columns)
                       + "</tr>" for k, v in value.items())
        return f'<table class="inner"><thead><tr><th></th>{head}</tr></thead><tbody>{rows}</tbody></table>', False
    if isinstance(value, dict):
        parts = [f"{_esc(k)}: {_esc(_scalar(v)) if _is_scalar(v) else _esc(json.dumps(v, ensure_ascii=False))}"
                 for k, v in value.items()]
        return '<span class="lines">' + "<br>".join(parts) + "</span>", False
    if isinstance(value, list) and all(_is_scalar(v) for v in value):
        return _esc(", ".join(_scalar(v) for v in value)), False
    return _esc(json.dumps(value, ensure_ascii=False)), False


def _records_table(records: list, caption: str, max_rows: int) -> str:
    columns: list = []
    for record in records:
        for key in record:
            if key not in columns and key != "provenance":
                columns.append(key)
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    body = []
    for record in records[:max_rows]:
        cells = []
        for c in columns:
            text, numeric = _cell(record.get(c))
            css = "num" if numeric else ("lines" if text.startswith('<span class="lines">') else "")
            cells.append(f'<td class="{css}">{text}</td>' if css else f"<td>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    note = (f'<p class="note">showing the first {max_rows} of {len(records)} rows</p>'
            if len(records) > max_rows else "")
    return (f'<div class="scroll"><table class="records"><caption>{_esc(caption)}</caption><thead><tr>{head}</tr>'
            f"</thead><tbody>{''.join(body)}</tbody></table></div>{note}")


def _kv_table(mapping: dict, caption: str, max_rows: int) -> str:
    items = list(mapping.items())
    rows = []
    for key, value in items[:max_rows]:
        text, numeric = _cell(value)
        rows.append(f"<tr><th>{_esc(key)}</th>" + (f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>")
                    + "</tr>")
    note = f'<p class="note">showing the first {max_rows} of {len(items)} entries</p>' if len(items) > max_rows else ""
    return (f'<table class="kv"><caption>{_esc(caption)}</caption><thead><tr><th>key</th><th>value</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>{note}")


def _is_records(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _json_section(data, name: str, max_rows: int, provenance: dict) -> str:
    """Tables for one JSON document; its provenance entries are collected into ``provenance``."""
    if Path(name).name == "provenance.json":
        provenance[name] = data
        return ""
    if _is_records(data):
        return _records_table(data, name, max_rows)
    if not isinstance(data, dict):
        return f"<pre>{_esc(json.dumps(data, indent=2, ensure_ascii=False)[:20000])}</pre>"
    parts = []
    scalars = {k: v for k, v in data.items() if k != "provenance" and (_is_scalar(v) or
                                                                        (isinstance(v, list) and not _is_records(v)))}
    if "provenance" in data:
        provenance[name] = data["provenance"]
    if scalars:
        parts.append(_kv_table(scalars, name, max_rows))
    for key, value in data.items():
        if key == "provenance" or key in scalars:
            continue
        if _is_records(value):
            parts.append(_records_table(value, f"{name} › {key}", max_rows))
        elif isinstance(value, dict):
            parts.append(_kv_table(value, f"{name} › {key}", max_rows))
    return "".join(parts)


def _collect(run_dir: Path, out: Path) -> tuple[list[Path], list[str]]:
    """The reportable regular files inside ``run_dir`` and notes on what was skipped: a symbolic link anywhere on a
    file's path (it could show a file from outside the run), or a file that resolves outside the folder."""
    files, notes, root = [], [], run_dir.resolve()
    for path in sorted(run_dir.rglob("*")):
        rel = path.relative_to(run_dir)
        if any(part.startswith(".") for part in rel.parts) or path.suffix.lower() not in REPORTED:
            continue
        linked = any((run_dir / Path(*rel.parts[:i + 1])).is_symlink() for i in range(len(rel.parts)))
        if linked or not path.resolve().is_relative_to(root):
            notes.append(f"{rel} not read: a symbolic link (the report reads only regular files inside the run "
                         "folder)")
        elif path.is_file() and path.resolve() != out.resolve():
            files.append(path)
    return files, notes


def render_report(run_dir, *, title: str | None = None, out=None, max_file_mb: float = 25.0,
                  max_total_mb: float = 150.0, max_rows: int = 200) -> tuple[str, dict]:
    """The report's HTML for ``run_dir`` and counts ``{"figures", "videos", "tables", "skipped", "bytes"}``.

    Raises ``FileNotFoundError`` / ``NotADirectoryError`` for a bad folder and ``ValueError`` when it holds nothing
    to report.
    """
    from ._version import __version__

    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise FileNotFoundError(f"run folder {run_dir} does not exist")
    if not run_dir.is_dir():
        raise NotADirectoryError(f"{run_dir} is not a folder; give the run folder (e.g. outputs/demo)")
    out = Path(out) if out is not None else run_dir / "report.html"
    files, notes = _collect(run_dir, out)
    if not files:
        raise ValueError(f"{run_dir} has nothing to report: no .json, .png, .jpg, .svg, .mp4, .webm or .gif files")
    max_file, budget = int(max_file_mb * 1e6), int(max_total_mb * 1e6)
    used = 0
    figures, videos, tables = [], {}, []
    provenance: dict = {}

    def admit(path: Path) -> bool:
        nonlocal used
        size = path.stat().st_size
        rel = path.relative_to(run_dir)
        if size > max_file:
            notes.append(f"{rel} not embedded: {size / 1e6:.1f} MB is over the {max_file_mb:g} MB per-file cap")
            return False
        if used + size > budget:
            notes.append(f"{rel} not embedded: the report reached its {max_total_mb:g} MB budget")
            return False
        used += size
        return True

    for path in files:
        rel = str(path.relative_to(run_dir))
        suffix = path.suffix.lower()
        if suffix in IMAGE_TYPES and admit(path):
            figures.append(f'<figure><img class="figure" alt="{_esc(rel)}" '
                           f'src="{_data_uri(path, IMAGE_TYPES[suffix])}">'
                           f"<figcaption>{_esc(rel)}</figcaption></figure>")
        elif suffix in VIDEO_TYPES and admit(path):
            videos.setdefault(str(Path(rel).with_suffix("")), []).insert(0,  # the real video before its GIF
                f'<div class="clip"><video controls autoplay loop muted playsinline title="{_esc(rel)}" '
                f'src="{_data_uri(path, VIDEO_TYPES[suffix])}"></video><figcaption>{_esc(rel)}</figcaption></div>')
        elif suffix in GIF_TYPE and admit(path):
            videos.setdefault(str(Path(rel).with_suffix("")), []).append(
                f'<div class="clip"><img class="gif" alt="{_esc(rel)}" src="{_data_uri(path, "image/gif")}">'
                f"<figcaption>{_esc(rel)}</figcaption></div>")
        elif suffix == ".json":
            if path.stat().st_size > max_file:
                notes.append(f"{rel} not read: over the {max_file_mb:g} MB per-file cap")
                continue
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                notes.append(f"{rel} is not valid JSON ({err}); skipped")
                continue
            section = _json_section(data, rel, max_rows, provenance)
            if section:
                tables.append(f"<h3>{_esc(rel)}</h3>{section}")

    created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    # the run folder by name only: a shared page should not show the author's local paths
    provenance["report"] = {"l2vkit": __version__, "created": created, "run_dir": run_dir.resolve().name,
                            "files": [str(p.relative_to(run_dir)) for p in files]}
    title = title or f"l2vkit report — {run_dir.resolve().name}"
    counts = {"figures": len(figures), "videos": sum(len(v) for v in videos.values()),
              "tables": sum(t.count('<table class="records"') + t.count('<table class="kv"') for t in tables),
              "skipped": len(notes), "bytes": used}
    sections = [
        ("figures", "Figures", "".join(figures)),
        ("videos", "Videos", '<div class="videos">' + "".join(f"<figure>{''.join(v)}</figure>"
                                                             for v in videos.values()) + "</div>" if videos else ""),
        ("tables", "Tables", "".join(tables)),
    ]
    nav = " ".join(f'<a href="#{key}">{name}</a>' for key, name, body in sections if body) + \
        ' <a href="#provenance">Provenance</a>'
    body = "".join(f'<section id="{key}"><h2>{name}</h2>{content}</section>' for key, name, content in sections
                   if content)
    prov = "".join(f"<h3>{_esc(name)}</h3><pre>{_esc(json.dumps(value, indent=2, ensure_ascii=False, default=str))}"
                   "</pre>" for name, value in provenance.items())
    note_html = "".join(f'<p class="note">{_esc(n)}</p>' for n in notes)
    summary = (f"{counts['figures']} figures, {counts['videos']} videos, {counts['tables']} tables"
               + (f", {counts['skipped']} files not embedded" if notes else ""))
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="l2vkit {_esc(__version__)}">'
            f"<title>{_esc(title)}</title><style>{_STYLE}</style></head><body>"
            f"<header><h1>{_esc(title)}</h1><p class=\"meta\">{_esc(run_dir.resolve().name)} · {_esc(created)} · "
            f"{_esc(summary)}</p><nav>{nav}</nav>{note_html}</header>"
            f'{body}<section id="provenance"><h2>Provenance</h2>{prov}</section>'
            f"<script>{_SCRIPT}</script></body></html>\n")
    return page, counts


def write_report(run_dir, out=None, *, title: str | None = None, max_file_mb: float = 25.0,
                 max_total_mb: float = 150.0, max_rows: int = 200) -> Path:
    """Write ``run_dir/report.html`` (or ``out``): one self-contained page, written atomically. Returns its path.

    >>> import tempfile, pathlib
    >>> run = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (run / "metrics.json").write_text('[{"method": "ours", "FVD": 12.5}]')
    >>> path = write_report(run)
    >>> path.name, "<table" in path.read_text()
    ('report.html', True)
    """
    return write_report_with_counts(run_dir, out, title=title, max_file_mb=max_file_mb, max_total_mb=max_total_mb,
                                    max_rows=max_rows)[0]


def write_report_with_counts(run_dir, out=None, **options) -> tuple[Path, dict]:
    """:func:`write_report`, also returning how many figures, videos and tables went in and files left out."""
    run_dir = Path(run_dir)
    out = Path(out) if out is not None else run_dir / "report.html"
    page, counts = render_report(run_dir, out=out, **options)
    with atomic_path(out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return out, counts
