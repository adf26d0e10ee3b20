"""Paper-comparable metric backends on pretrained models (Colab, a GPU box), beside the offline stand-ins.

=====================  ===============================================  =============================================
metric                 ``tier="paper"`` (pretrained, by model id)       ``tier="toy"`` (offline stand-in, the default)
=====================  ===============================================  =============================================
FVD                    Fréchet distance of VideoMAE features (mean of   Fréchet distance of the VLM's pooled visual
                       the last hidden state), ``MCG-NJU/videomae-base``  tokens — "FVD (toy VLM features)"
text–video score       CLIPScore: 100 · max(cos, 0) between the caption  MiniLM captions against a ridge map from the
                       and the frames' mean image embedding,              VLM's features — "alignment (toy stand-in)"
                       ``openai/clip-vit-large-patch14``
aesthetic score        LAION's improved aesthetic predictor (an MLP on   none
                       CLIP ViT-L/14 image embeddings), mean over frames
LPIPS                  :func:`lpips_distance`: the ``lpips`` package    :func:`~l2vkit.metrics.perceptual_distance`
                       (AlexNet; needs torchvision)                     on training-free pyramid features
=====================  ===============================================  =============================================

Every backend takes a model id (``from_pretrained``: what Colab users run) or a model object of the same class (what
the offline tests build from tiny random-weight configs). :data:`LABELS` names each metric with its backend, so a
table or plot never shows a stand-in under the paper's name.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

#: Default models of the paper tier.
VIDEOMAE = "MCG-NJU/videomae-base"
CLIP = "openai/clip-vit-large-patch14"
#: Column labels per tier: the stand-ins say what they are.
LABELS = {
    "toy": {"fvd": "FVD (toy VLM features)", "text_video": "text–video alignment (toy stand-in)",
            "lpips": "perceptual distance (pyramid features)"},
    "paper": {"fvd": "FVD (VideoMAE features)", "text_video": "CLIPScore", "aesthetic": "aesthetic score (LAION)",
              "lpips": "LPIPS (AlexNet)"},
}


def _frames(video, count: int) -> np.ndarray:
    """``count`` frames of a (T, H, W, 3) uint8 video, spread as transformers samples them (``i · T // count``); a
    clip shorter than ``count`` repeats frames by the same rule, since these feature models take a fixed count."""
    from ..vlm.preprocess import spread_indices

    video = np.asarray(video)
    if not len(video):
        raise ValueError("video is empty: it has no frames")
    return video[spread_indices(len(video), count)]


def _device(model, device):
    import torch

    device = torch.device(device) if device is not None else next(model.parameters()).device
    return model.to(device).eval(), device


def videomae_features(model=VIDEOMAE, *, processor=None, device=None, batch_size: int = 4) -> Callable:
    """A feature extractor for :func:`~l2vkit.metrics.frechet_video_distance`: videos (V, T, H, W, 3) uint8 →
    (V, D) VideoMAE features (the mean of the encoder's last hidden state over its tokens), each video sampled to the
    model's ``num_frames`` and preprocessed by its image processor (``VideoMAEImageProcessor``)."""
    import torch
    from transformers import VideoMAEImageProcessor, VideoMAEModel

    if isinstance(model, str):
        processor = processor or VideoMAEImageProcessor.from_pretrained(model)
        model = VideoMAEModel.from_pretrained(model)
    side = model.config.image_size
    processor = processor or VideoMAEImageProcessor(size={"shortest_edge": side},
                                                    crop_size={"height": side, "width": side})
    model, device = _device(model, device)
    count = model.config.num_frames

    def extract(videos) -> np.ndarray:
        out = []
        for start in range(0, len(videos), batch_size):
            clips = [list(_frames(v, count)) for v in videos[start:start + batch_size]]
            pixels = processor(clips, return_tensors="pt")["pixel_values"].to(device)
            with torch.no_grad():
                out.append(model(pixel_values=pixels).last_hidden_state.mean(1).float().cpu().numpy())
        return np.concatenate(out).astype(np.float64)

    extract.label = LABELS["paper"]["fvd"]
    return extract


def clip_encoders(model=CLIP, *, processor=None, tokenizer=None, device=None, frames: int = 8,
                  batch_size: int = 16) -> tuple[Callable, Callable]:
    """(text_encoder, video_encoder) of CLIP for :func:`~l2vkit.metrics.text_video_alignment`: unit-norm caption
    embeddings (N, D) and unit-norm means of ``frames`` frames' image embeddings (V, D)."""
    import torch
    from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel

    if isinstance(model, str):
        processor = processor or CLIPImageProcessor.from_pretrained(model)
        tokenizer = tokenizer or AutoTokenizer.from_pretrained(model)
        model = CLIPModel.from_pretrained(model)
    if processor is None or tokenizer is None:
        raise ValueError("a CLIP model object needs its image processor and tokenizer (processor=, tokenizer=)")
    model, device = _device(model, device)

    def unit(x):
        return torch.nn.functional.normalize(x.float(), dim=-1)

    def text_encoder(texts: Sequence[str]) -> np.ndarray:
        tokens = tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt").to(device)
        with torch.no_grad():
            features = model.get_text_features(input_ids=tokens["input_ids"],
                                               attention_mask=tokens.get("attention_mask"))
        return unit(getattr(features, "pooler_output", features)).cpu().numpy()

    def frame_embeddings(videos) -> "torch.Tensor":
        out = []
        for video in videos:
            pixels = processor(list(_frames(video, frames)), return_tensors="pt")["pixel_values"].to(device)
            with torch.no_grad():
                features = model.get_image_features(pixel_values=pixels)
            out.append(unit(getattr(features, "pooler_output", features)))
        return torch.stack(out)  # (V, frames, D)

    def video_encoder(videos) -> np.ndarray:
        return unit(frame_embeddings(videos).mean(1)).cpu().numpy()

    video_encoder.frame_embeddings = frame_embeddings
    text_encoder.label = video_encoder.label = LABELS["paper"]["text_video"]
    return text_encoder, video_encoder


def clip_score(texts: Sequence[str], videos, encoders: tuple[Callable, Callable]) -> np.ndarray:
    """CLIPScore of each (caption, video) pair, (V,) in [0, 100]: 100 · max(cos(text, frame), 0) averaged over the
    sampled frames (Hessel et al., 2021, with w = 1, as text-to-video papers report it)."""
    text_encoder, video_encoder = encoders
    if len(texts) != len(videos):
        raise ValueError(f"{len(texts)} captions for {len(videos)} videos")
    text = text_encoder(texts)  # (V, D)
    frames = video_encoder.frame_embeddings(videos).cpu().numpy()  # (V, F, D)
    cosine = np.einsum("vd,vfd->vf", text, frames)
    return (100 * np.clip(cosine, 0, None)).mean(1)


def aesthetic_head(dim: int = 768):
    """LAION's improved aesthetic predictor head (``sac+logos+ava1-l14-linearMSE``): an MLP whose state-dict keys
    (``layers.0.weight`` …) match the published weights."""
    from torch import nn

    class AestheticHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.Sequential(nn.Linear(dim, 1024), nn.Dropout(0.2), nn.Linear(1024, 128), nn.Dropout(0.2),
                                        nn.Linear(128, 64), nn.Dropout(0.1), nn.Linear(64, 16), nn.Linear(16, 1))

        def forward(self, x):
            return self.layers(x)

    return AestheticHead()


def aesthetic_scorer(head, encoders: tuple[Callable, Callable]) -> Callable:
    """Videos → (V,) aesthetic scores: ``head`` on the unit-norm CLIP image embedding of each sampled frame, averaged.

    ``head``: a module from :func:`aesthetic_head`, or a weights file (``.safetensors``, or LAION's ``.pth`` read with
    ``torch.load(weights_only=True)``: tensors only, never code). ``encoders``: :func:`clip_encoders` of the CLIP
    the head was trained on (ViT-L/14 for LAION's).
    """
    import torch

    _, video_encoder = encoders
    if not isinstance(head, torch.nn.Module):
        head = _load_head(head)
    head = head.eval()

    def score(videos) -> np.ndarray:
        frames = video_encoder.frame_embeddings(videos)  # (V, F, D), unit norm
        with torch.no_grad():
            return head(frames.to(next(head.parameters()).device)).squeeze(-1).mean(1).float().cpu().numpy()

    score.label = LABELS["paper"]["aesthetic"]
    return score


def lpips_distance(net: str = "alex", *, model=None, device=None, batch_size: int = 16) -> Callable:
    """LPIPS between paired videos, the ``lpips`` package's network (``net`` "alex", "vgg" or "squeeze"; or a built
    ``lpips.LPIPS`` as ``model``): ``distance(a, b)`` for (V, T, H, W, 3) uint8 videos of equal shape → (V,) the mean
    over frames of the per-frame LPIPS. Needs ``pip install lpips``, which needs torchvision (Colab has it)."""
    import torch

    if model is None:
        try:
            import lpips
        except ImportError as err:
            raise ImportError("LPIPS needs the lpips package (and torchvision): pip install lpips") from err
        model = lpips.LPIPS(net=net, verbose=False)
    model, device = _device(model, device)

    @torch.no_grad()
    def distance(a, b) -> np.ndarray:
        a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
        if a.shape != b.shape or a.ndim != 5 or a.shape[-1] != 3 or not a.shape[0] * a.shape[1]:
            raise ValueError(f"LPIPS compares paired videos (V, T, H, W, 3) of one shape; got {a.shape} and {b.shape}")
        if a.dtype != np.uint8 or b.dtype != np.uint8:
            raise ValueError(f"LPIPS takes uint8 videos (0–255); got {a.dtype} and {b.dtype}")
        frames = [torch.from_numpy(x.reshape(-1, *x.shape[2:])).permute(0, 3, 1, 2) for x in (a, b)]
        out = []
        for start in range(0, len(frames[0]), batch_size):
            x, y = (f[start:start + batch_size].to(device).float() / 127.5 - 1 for f in frames)  # lpips takes [-1, 1]
            out.append(model(x, y).flatten().cpu())
        return torch.cat(out).reshape(a.shape[:2]).mean(1).numpy()

    return distance


def _load_head(path):
    from pathlib import Path

    import torch

    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # pickled code or a damaged file: refused, never executed
            raise ValueError(f"{path} is not a plain tensor file ({type(err).__name__}); give LAION's .pth or a "
                             ".safetensors of the head's weights") from None
    if "layers.0.weight" not in state:
        raise ValueError(f"{path} has no 'layers.0.weight': not LAION's aesthetic head ({sorted(state)[:4]}…)")
    head = aesthetic_head(int(state["layers.0.weight"].shape[1]))
    head.load_state_dict(state)
    return head


__all__ = ["CLIP", "LABELS", "VIDEOMAE", "aesthetic_head", "aesthetic_scorer", "clip_encoders", "clip_score",
           "lpips_distance", "videomae_features"]
