"""Couplings and concept banks as shareable folders, laid out like a Hugging Face model folder.

    <folder>/model.safetensors   the tensors
    <folder>/config.json         kind, format version, the models it was made for, config, provenance, history
    <folder>/README.md           a model card: what it is, for which models, how to load it, its provenance

``save_folder`` writes one atomically, ``load_folder`` reads a local folder or downloads a Hub repository, and
``check_identity`` is the one check, used by every artifact, that it is used with the models it was made for.
Only safetensors and JSON are read or written (no pickle).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

WEIGHTS, CONFIG, CARD = "model.safetensors", "config.json", "README.md"
FILES = (WEIGHTS, CONFIG, CARD)
ROLES = ("vlm", "generator")
#: The artifact kinds: how errors name them, the verb for making one, how to remake one, the class that loads it.
KINDS = {
    "coupling": {"what": "coupling", "verb": "fitted", "given": "loaded ", "remedy": "fit a coupling for these "
                 "models (`l2vkit fit`)", "loader": "l2vkit.coupling.CouplingResult"},
    "concept_bank": {"what": "concept bank", "verb": "trained", "given": "", "remedy": "train concepts for it "
                     "(`l2vkit concepts`)", "loader": "l2vkit.concepts.ConceptBank"},
    "concept_network": {"what": "concept network", "verb": "trained", "given": "", "remedy": "train a network for "
                        "it (l2vkit.concepts.train_concept_network)", "loader": "l2vkit.concepts.ConceptNetwork"},
}
#: The identity fields an error always shows per role (other fields only when they differ).
SHOWN = {"vlm": ("weights", "tokens_width"), "generator": ("weights", "text_dim")}
ROLE_NAMES = {"vlm": "VLM", "generator": "generator"}


# ------------------------------------------------------------------------------------------------ identity
def check_identity(saved: dict, *, vlm=None, generator=None, what: str = "coupling") -> None:
    """Raise ``ValueError`` when ``vlm`` / ``generator`` are not the models an artifact was made for.

    ``saved`` holds the recorded identities under ``"vlm"`` / ``"generator"`` (an artifact's ``meta``); ``what``
    is a key of :data:`KINDS`. The error names both the model the artifact was made for and the one given. A role
    the artifact records no identity for is not checked; fields it does not record are not compared.
    """
    from .provenance import describe_identity, generator_identity, vlm_identity

    kind = KINDS[what]
    for role, model, identity in (("vlm", vlm, vlm_identity), ("generator", generator, generator_identity)):
        mine = (saved or {}).get(role)
        if model is None or not mine:
            continue
        given = identity(model)
        diffs = [k for k in mine if mine.get(k) != given.get(k)]
        if not diffs:
            continue
        keys = [k for k in diffs if k not in SHOWN[role] and k != "model_id"] + list(SHOWN[role])
        name = ROLE_NAMES[role]
        raise ValueError(f"this {kind['what']} was {kind['verb']} for {name} {mine.get('model_id')!r} "
                         f"({describe_identity(mine, keys)}), but the {kind['given']}{name} is "
                         f"{given.get('model_id')!r} ({describe_identity(given, keys)}); {kind['remedy']}")


# --------------------------------------------------------------------------------------------------- paths
def single_file(path) -> Path | None:
    """The single ``.safetensors`` file (the older format) that ``path`` names, or ``None`` for a folder/Hub id."""
    path = Path(str(path))
    if path.is_dir():
        return None
    if path.suffix == ".safetensors":
        return path
    return path.with_suffix(".safetensors") if path.with_suffix(".safetensors").is_file() else None


def resolve_folder(dir_or_hub_id, *, revision: str | None = None) -> Path:
    """A local folder as is; otherwise a Hub repository id, downloaded (``revision``: branch, tag or commit)."""
    local = Path(str(dir_or_hub_id)).expanduser()
    if local.is_dir():
        return local
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(str(dir_or_hub_id), revision=revision, allow_patterns=list(FILES)))
    except Exception as err:  # offline, no such repository, not a valid id, huggingface_hub missing
        reason = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise FileNotFoundError(f"no folder {str(dir_or_hub_id)!r} here and could not download it from the Hub: "
                                f"{type(err).__name__}: {reason}") from None


# ------------------------------------------------------------------------------------------------- writing
def save_folder(folder, kind: str, tensors: dict, header: dict, *, summary: str = "") -> Path:
    """Write ``folder`` (model.safetensors, config.json, README.md) from ``tensors`` and an artifact ``header``
    (``format_version``, ``meta`` with the model identities, the rest as is), atomically: everything is written
    into a temporary folder beside it, which then takes its place. Other files in an existing artifact folder (a
    Hub clone's ``.git``) are kept; a folder that is not an l2vkit artifact is refused, not overwritten."""
    from safetensors.torch import save_file

    from .io import write_json

    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or (any(folder.iterdir()) and _kind_of(folder) is None)):
        raise FileExistsError(f"{folder} exists and is not an l2vkit artifact folder; save into a new folder")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    moved, old = [], None
    try:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp / WEIGHTS),
                  metadata={"format": "pt"})
        config = folder_config(kind, header)
        write_json(tmp / CONFIG, config)
        (tmp / CARD).write_text(model_card(config, summary))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700 folders
        if folder.exists():  # swap whole folders, carrying over what is not ours (a Hub clone's .git)
            for entry in folder.iterdir():
                if entry.name not in FILES:
                    entry.rename(tmp / entry.name)
                    moved.append(entry.name)
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=folder.parent)) / folder.name
            folder.rename(old)
        tmp.rename(folder)
    except BaseException:
        if old is not None and old.exists() and not folder.exists():
            old.rename(folder)
        for name in moved:
            (tmp / name).rename(folder / name)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old.parent, ignore_errors=True)
    return folder


def folder_config(kind: str, header: dict) -> dict:
    """config.json of an artifact ``header``: the model identities under ``models``, ``meta`` as ``provenance``."""
    if kind not in KINDS:
        raise ValueError(f"unknown artifact kind {kind!r}; kinds are {', '.join(KINDS)}")
    meta = dict(header.get("meta") or {})
    models = {role: meta.pop(role) for role in ROLES if role in meta}
    rest = {k: v for k, v in header.items() if k not in ("format_version", "meta")}
    return {"kind": kind, "format_version": header.get("format_version"), "models": models, **rest,
            "provenance": meta}


def model_card(config: dict, summary: str = "") -> str:
    """README.md for an artifact folder: what it is, which models it belongs to, how to load it, its provenance."""
    kind = KINDS[config["kind"]]
    module, _, cls = kind["loader"].rpartition(".")
    models = config.get("models", {})
    hub = sorted({m["model_id"] for m in models.values() if m and _looks_like_hub_id(m.get("model_id"))})
    front = ["---", "library_name: l2vkit", "tags:", "- l2vkit", f"- {config['kind'].replace('_', '-')}"]
    front += ["base_model:", *[f"- {m}" for m in hub]] if hub else []
    lines = [*front, "---", "", f"# l2vkit {kind['what']}", ""]
    lines += [summary.strip(), ""] if summary.strip() else []
    lines += [f"It was {kind['verb']} for the models below, and loading it with other models is refused.", "",
              "| role | model | revision | weights fingerprint | sizes |", "|---|---|---|---|---|"]
    for role in ROLES:
        m = models.get(role)
        if m:
            sizes = ", ".join(f"{k}={v}" for k, v in m.items() if k not in ("model_id", "revision", "weights"))
            lines.append(f"| {ROLE_NAMES[role]} | `{m.get('model_id')}` | {m.get('revision') or '—'} | "
                         f"{m.get('weights') or '—'} | {sizes or '—'} |")
    args = ", ".join(f"{role}={role}" for role in ROLES if models.get(role)) if cls == "CouplingResult" \
        else "generator=generator"
    lines += ["", "## Loading", "", "```python", f"from {module} import {cls}", "",
              f'artifact = {cls}.from_pretrained("<this folder or Hub id>", {args})', "```", "",
              "## Provenance", "", "| field | value |", "|---|---|"]
    prov = config.get("provenance", {})
    for key, value in prov.items():
        text = "—" if value is None else value if isinstance(value, str) else json.dumps(value)
        if key != "packages" and len(text) <= 120:  # long records (data settings) stay in config.json
            lines.append(f"| {key} | {text.replace('|', '/')} |")
    for name, version in (prov.get("packages") or {}).items():
        lines.append(f"| {name} | {version} |")
    lines += ["", f"Format: l2vkit `{config['kind']}` version {config.get('format_version')} "
              f"({WEIGHTS}, {CONFIG}).", ""]
    return "\n".join(lines)


def _looks_like_hub_id(model_id) -> bool:
    return bool(model_id) and re.fullmatch(r"[\w.-]+/[\w.-]+", str(model_id)) is not None \
        and not Path(str(model_id)).exists()


# ------------------------------------------------------------------------------------------------- reading
def _kind_of(folder: Path):
    try:
        return json.loads((folder / CONFIG).read_text()).get("kind")
    except (OSError, ValueError, AttributeError):
        return None


def load_folder(dir_or_hub_id, kind: str, format_version: int, *, revision: str | None = None):
    """``(tensors, header, folder)`` of an artifact folder (local, or a Hub id downloaded at ``revision``); the
    header is as the artifact wrote it (see :func:`save_folder`). Errors say what is missing or of which kind."""
    from .io import load_safetensors, read_json

    what = KINDS[kind]["what"]
    folder = resolve_folder(dir_or_hub_id, revision=revision)
    if not (folder / CONFIG).is_file():
        raise FileNotFoundError(f"{folder} has no {CONFIG}: not an l2vkit {what} folder (one holds {WEIGHTS}, "
                                f"{CONFIG} and {CARD}, written by save_pretrained)")
    config = read_json(folder / CONFIG)
    found = config.get("kind") if isinstance(config, dict) else None
    if found != kind:
        other = f"an l2vkit {KINDS[found]['what']}, not a {what}; load it with {KINDS[found]['loader']}" \
            ".from_pretrained" if found in KINDS else f"no l2vkit {what} ({CONFIG} has kind {found!r})"
        raise ValueError(f"{folder} holds {other}")
    if config.get("format_version") != format_version:
        raise ValueError(f"{folder} has {what} format {config.get('format_version')}; this l2vkit reads "
                         f"{format_version} — {KINDS[kind]['remedy']}")
    if not (folder / WEIGHTS).is_file():
        raise FileNotFoundError(f"{folder} has no {WEIGHTS}: the {what}'s tensors are missing (an incomplete "
                                "copy or download?)")
    tensors, _ = load_safetensors(folder / WEIGHTS, what)
    meta = dict(config.get("provenance") or {})
    meta.update(config.get("models") or {})
    header = {"format_version": config["format_version"],
              **{k: v for k, v in config.items() if k not in ("kind", "format_version", "models", "provenance")},
              "meta": meta}
    return tensors, header, folder
