"""The library's layers and the imports between them, checked.

    python -m l2vkit.dev.layers     # prints the layer table and every import between layers; exit 1 on a violation

Rules: a module imports only from its own layer or a lower one (imports inside functions count: they are
dependencies too); the Ω side (``vlm``) and the Ξ side (``generator``) know nothing of each other; no two modules
import each other, directly or through others (a package's ``__init__`` re-exporting its own modules is not a cycle).
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]

#: Bottom to top. A module belongs to the first entry whose name is it or a package above it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("shared utilities", ("l2vkit._version", "l2vkit._deprecated", "l2vkit.io", "l2vkit.artifacts",
                          "l2vkit.paths", "l2vkit.provenance", "l2vkit.training", "l2vkit.video",
                          "l2vkit.install", "l2vkit.env", "l2vkit.minilm", "l2vkit.presets", "l2vkit.pairs",
                          "l2vkit.figures", "l2vkit.dtypes", "l2vkit.quiet", "l2vkit.tiers",
                          "l2vkit.distributed", "l2vkit.threads")),
    ("Ω and Ξ", ("l2vkit.vlm", "l2vkit.generator")),
    ("coupling Φ", ("l2vkit.coupling",)),
    ("concepts", ("l2vkit.concepts",)),
    ("steering", ("l2vkit.steering", "l2vkit.steering_controls", "l2vkit.baselines", "l2vkit.stage_memory",
                  "l2vkit.edit_choice")),
    ("metrics, plots, report", ("l2vkit.metrics", "l2vkit.plots", "l2vkit.report")),
    ("toy world", ("l2vkit.toyworld",)),
    ("faces", ("l2vkit.cli", "l2vkit.commands", "l2vkit.demo", "l2vkit.widgets", "l2vkit.labs", "l2vkit.testing",
               "l2vkit.testing_generators", "l2vkit.__main__", "l2vkit.dev", "l2vkit")),
]
#: Units of one layer that must not import each other.
SIBLINGS = [("l2vkit.vlm", "l2vkit.generator")]


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _unit(module: str) -> str:
    """The layer table's entry that ``module`` falls under."""
    for _, units in LAYERS:
        for unit in sorted(units, key=len, reverse=True):
            if module == unit or module.startswith(unit + "."):
                return unit
    raise KeyError(f"{module} is in no layer of l2vkit.dev.layers.LAYERS; add it there")


def layer_of(module: str) -> int:
    unit = _unit(module)
    return next(i for i, (_, units) in enumerate(LAYERS) if unit in units)


def imports_of(path: Path, package: Path = PACKAGE) -> list[tuple[str, int]]:
    """The l2vkit modules ``path`` imports (anywhere in the file), with line numbers."""
    module = module_name(path, package)
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from pkg import name` may name a submodule: count it when one exists
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((sub if _exists(sub, package) else target, node.lineno))
    return [(name, line) for name, line in found if name == "l2vkit" or name.startswith("l2vkit.")]


def _exists(module: str, package: Path) -> bool:
    if not module.startswith("l2vkit"):
        return False
    rel = Path(*module.split(".")[1:])
    return (package / rel).with_suffix(".py").exists() or (package / rel / "__init__.py").exists()


def _resolve(name: str, package: Path) -> str:
    """The longest prefix of ``name`` that is a module (``l2vkit.toyworld.render.render`` → ``…render``)."""
    parts = name.split(".")
    while len(parts) > 1 and not _exists(".".join(parts), package):
        parts.pop()
    return ".".join(parts)


def import_graph(package: Path = PACKAGE) -> dict[str, list[tuple[str, int]]]:
    graph = {}
    for path in sorted(package.rglob("*.py")):
        found = [(_resolve(n, package), line) for n, line in imports_of(path, package)]
        graph[module_name(path, package)] = list(dict.fromkeys(found))  # one entry per module and line
    return graph


def violations(graph: dict[str, list[tuple[str, int]]]) -> list[str]:
    """Every import against the rules, as 'a:LINE imports b (why)'."""
    found = []
    for source, targets in graph.items():
        for target, line in targets:
            if target == source:
                continue
            if layer_of(target) > layer_of(source):
                found.append(f"{source}:{line} imports {target} ({LAYERS[layer_of(source)][0]} may not import "
                             f"{LAYERS[layer_of(target)][0]})")
            for a, b in SIBLINGS:
                if {_unit(source), _unit(target)} == {a, b}:
                    found.append(f"{source}:{line} imports {target} ({a} and {b} know nothing of each other)")
    found += [f"import cycle: {' → '.join(cycle)}" for cycle in cycles(graph)]
    return found


def cycles(graph: dict[str, list[tuple[str, int]]]) -> list[list[str]]:
    """Import cycles between modules, ignoring imports of a package's own ``__init__`` from inside it."""
    edges = {m: sorted({t for t, _ in ts if t != m and not m.startswith(t + ".")}) for m, ts in graph.items()}
    found, seen = [], set()
    for start in sorted(edges):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in edges.get(node, []):
                if nxt == start:
                    key = frozenset(path)
                    if key not in seen:
                        seen.add(key)
                        found.append(path + [start])
                elif nxt not in path and nxt > start:  # each cycle once, from its smallest module
                    stack.append((nxt, path + [nxt]))
    return found


def report(graph: dict[str, list[tuple[str, int]]]) -> str:
    lines = ["layer (bottom to top)            modules", "-" * 78]
    for i, (name, units) in enumerate(LAYERS):
        lines.append(f"{i}  {name:<30}{', '.join(u.removeprefix('l2vkit.') for u in units)}")
    lines += ["", "imports between parts of the table (importer → imported, each with its layer):"]
    between = sorted({(source, target) for source, targets in graph.items() for target, _ in targets
                      if _unit(source) != _unit(target)})
    lines += [f"  {layer_of(s)} {s} → {layer_of(t)} {t}" for s, t in between]
    return "\n".join(lines)


def main(argv=None) -> int:
    graph = import_graph()
    print(report(graph))
    bad = violations(graph)
    print(f"\n{len(bad)} violation(s)" + (":" if bad else ""))
    for line in bad:
        print("  " + line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
