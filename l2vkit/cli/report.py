"""`l2vkit report`: one self-contained HTML page of a run's videos, figures and tables."""
from __future__ import annotations

def add_parser(sub) -> None:
    report = sub.add_parser("report", help="write one self-contained HTML page with a run's videos, figures and tables",
                            description="Collect the *.json (tables, provenance), *.png (figures) and *.mp4/*.gif "
                                        "(videos) files under RUN_DIR into one self-contained HTML file.")
    report.add_argument("run_dir", metavar="RUN_DIR", help="the run folder, e.g. outputs/demo")
    report.add_argument("--out", default=None, help="HTML file to write (default: RUN_DIR/report.html)")
    report.add_argument("--title", default=None, help="page title (default: the folder's name)")
    report.set_defaults(func=run)


def run(args) -> int:
    from ..report import write_report_with_counts

    path, counts = write_report_with_counts(args.run_dir, args.out, title=args.title)
    skipped = f"; {counts['skipped']} files not embedded (see the page)" if counts["skipped"] else ""
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB: {counts['figures']} figures, {counts['videos']} videos, "
          f"{counts['tables']} tables{skipped})")
    return 0
