"""Helpers shared by the family adapters: loading (model, tokenizer, video preprocessing settings) and text ids."""
from __future__ import annotations

import json
from pathlib import Path

#: Where processors keep their settings, in the order adapters look for them.
PREPROCESSOR_FILES = ("video_preprocessor_config.json", "preprocessor_config.json")


def load_preprocess(model_id: str, revision: str | None = None) -> dict:
    """The video processor settings of a local folder or a hub id (the first of ``PREPROCESSOR_FILES`` found), with
    ``"_source"`` naming the file they came from (a family may then fall back to its video defaults)."""
    folder = Path(model_id)
    if folder.is_dir():
        for name in PREPROCESSOR_FILES:
            if (folder / name).exists():
                return {**json.loads((folder / name).read_text()), "_source": name}
        raise FileNotFoundError(f"{model_id}: none of {', '.join(PREPROCESSOR_FILES)} in the folder")
    from huggingface_hub import hf_hub_download

    errors = []
    for name in PREPROCESSOR_FILES:
        try:
            return {**json.loads(Path(hf_hub_download(model_id, name, revision=revision)).read_text()), "_source": name}
        except Exception as error:  # the next file, e.g. older repos keep video settings in preprocessor_config.json
            errors.append(f"{name}: {error}")
    raise FileNotFoundError(f"{model_id}: no preprocessor settings found ({'; '.join(errors)})")


def load_parts(model_id: str, model_class: str, *, revision, dtype, device):
    """(model, tokenizer, preprocess) for ``transformers.<model_class>`` at ``model_id``."""
    import transformers
    from transformers import AutoTokenizer

    model = getattr(transformers, model_class).from_pretrained(model_id, revision=revision, dtype=dtype)
    if device is not None:
        model = model.to(device)
    tokenizer = AutoTokenizer.from_pretrained(model_id, revision=revision)
    if not getattr(tokenizer, "chat_template", None):
        # Multimodal repos often keep the template with the processor; its presence selects the chat layout.
        template = processor_chat_template(model_id, revision)
        if template:
            tokenizer.chat_template = template
    return model, tokenizer, load_preprocess(model_id, revision)


#: Files where processors keep a chat template (the .json ones as {"chat_template": ...}).
CHAT_TEMPLATE_FILES = ("chat_template.jinja", "chat_template.json", "processor_config.json")


def processor_chat_template(model_id: str, revision: str | None = None) -> str | None:
    """The processor's chat template of a local folder or hub id, or ``None``."""
    folder = Path(model_id)
    for name in CHAT_TEMPLATE_FILES:
        if folder.is_dir():
            path = folder / name
            if not path.exists():
                continue
        else:
            try:
                from huggingface_hub import hf_hub_download

                path = Path(hf_hub_download(model_id, name, revision=revision))
            except Exception:  # not in this repo
                continue
        text = path.read_text()
        if name.endswith(".jinja"):
            return text
        try:
            template = json.loads(text).get("chat_template")
        except (ValueError, AttributeError):
            continue
        if template:
            return template
    return None


def encode_cached(vlm, text: str) -> list[int]:
    """``vlm.tokenizer.encode(text)`` without special tokens, memoised per adapter instance.

    Layouts with thousands of visual placeholders are re-tokenised at every ``token_probs`` call otherwise.
    """
    cache = vlm.__dict__.setdefault("_text_ids_cache", {})
    if text not in cache:
        if len(cache) > 64:
            cache.clear()
        cache[text] = vlm.tokenizer.encode(text, add_special_tokens=False)
    return list(cache[text])


def token_string(tokenizer, token_id: int) -> str:
    """The vocabulary string of a (special) token id, to write it into a layout string."""
    token = tokenizer.convert_ids_to_tokens(int(token_id))
    if token is None or token == tokenizer.unk_token:
        raise ValueError(f"token id {token_id} is not in the tokenizer's vocabulary")
    return token


def video_clips(video):
    """The clips of a (T, H, W, 3) video, a (B, T, H, W, 3) batch or a list, left as they are: uint8 stays uint8, so
    that frames are sampled before any conversion to float, as the official processors do."""
    if isinstance(video, (list, tuple)):
        return [clip for item in video for clip in video_clips(item)]
    ndim = getattr(video, "ndim", None)
    if ndim == 4:
        return [video]
    if ndim == 5:
        return list(video)
    raise ValueError(f"video has shape {tuple(getattr(video, 'shape', ()))}; expected (T, H, W, 3) or (B, T, H, W, 3)")


def layout_of(inputs: dict) -> dict:
    """The non-pixel part of a batch's model inputs (grids, frame counts, timing), first sample only."""
    import torch

    return {k: v[:1] if isinstance(v, torch.Tensor) and v.ndim else v for k, v in inputs.items()
            if not k.startswith("pixel_values")}


def expand_layout(layout: dict, batch: int) -> dict:
    """:func:`layout_of`'s first-sample layout repeated for a batch of ``batch``."""
    import torch

    return {k: v.expand(batch, *v.shape[1:]) if isinstance(v, torch.Tensor) and v.ndim else v
            for k, v in layout.items()}


def stack_clips(clips, what: str = "videos"):
    """torch.stack of per-video tensors that must share a shape (one batch)."""
    import torch

    shapes = {tuple(c.shape) for c in clips}
    if len(shapes) != 1:
        raise ValueError(f"{what} in one batch must share frame count and size after preprocessing, "
                         f"got {sorted(shapes)}")
    return torch.stack(clips)


def forward_with_features(vlm, key: str, z, input_ids):
    """Logits of ``vlm.model`` reading the visual tokens ``z`` through ``mm_encoder_outputs[key]`` (``"video"`` or
    ``"image"``): the models' official way to take features computed elsewhere."""
    from transformers.modeling_outputs import BaseModelOutputWithPooling

    out = vlm.model(input_ids=input_ids, mm_encoder_outputs={key: BaseModelOutputWithPooling(pooler_output=z)},
                    use_cache=False)
    return out.logits


def chat_layout_ids(vlm, video: str, prompt: str) -> list[int]:
    """Token ids of ``vlm.CHAT`` (when the tokenizer has a chat template) or ``vlm.BARE`` with ``video`` and the
    question filled in, then the caption prefix ``prompt``."""
    tok = vlm.tokenizer
    layout = vlm.CHAT if getattr(tok, "chat_template", None) else vlm.BARE
    ids = encode_cached(vlm, layout.format(video=video, question=vlm.question))
    if prompt.strip():
        ids += tok.encode(prompt.strip(), add_special_tokens=False)
    return ids
