"""LLaVA-OneVision: SigLIP per frame, a 2-layer MLP projector, 2×2 bilinear pooling of each frame's token grid.

The language model reads, per video, ``frames × ceil(s/2)²`` pooled tokens followed by one learned ``image_newline``
token (s = vision image_size // patch_size, e.g. 384 // 14 = 27 → 196 tokens a frame). z_Ω is exactly that
sequence, newline included, as ``get_video_features`` returns it.
"""
from __future__ import annotations

import math
import warnings

from .base import VideoVLM, register
from .common import chat_layout_ids, forward_with_features, stack_clips, token_string, video_clips
from .preprocess import (OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, as_video_tensor, processor_output_size, resample_mode,
                         rescale_and_normalize, resize_frames, spread_indices, uniform_frame_indices)

#: Frames per clip in the llava-hf model cards' video example (``np.arange(0, T, T / 8).astype(int)``, the same
#: indices as the processor's default ``i · T // 8``).
MODEL_CARD_FRAMES = 8


@register
class LlavaOnevisionVLM(VideoVLM):
    family = "llava_onevision"
    MODEL_CLASSES = {"llava_onevision": "LlavaOnevisionForConditionalGeneration"}
    #: The llava-hf chat template for one user turn with a video, then the generation prompt.
    CHAT = "<|im_start|>user {video}\n{question}<|im_end|><|im_start|>assistant\n"
    #: Without a chat template (toy checkpoints): the video tokens, then the caption.
    BARE = "{video}"

    # ---------------------------------------------------------------------------------------- preprocessing
    @property
    def video_sampling(self) -> dict:
        """Frame sampling: the checkpoint's video processor settings; for a checkpoint with only an image processor
        file (as llava-hf publishes them) the model cards' usage, :data:`MODEL_CARD_FRAMES` frames by transformers'
        default rule, said in a warning — transformers itself would keep every frame."""
        p = self.preprocess
        if p.get("_source") == "preprocessor_config.json" and "do_sample_frames" not in p:
            count = p.get("num_frames") or MODEL_CARD_FRAMES
            if not self.__dict__.get("_warned_sampling"):
                self.__dict__["_warned_sampling"] = True
                warnings.warn(f"{self.model_id} has no video_preprocessor_config.json; sampling {count} frames per "
                              "clip as the model cards do (transformers would keep every frame). Set "
                              "vlm.preprocess['do_sample_frames'] to choose", UserWarning, stacklevel=3)
            return {"sample": True, "num_frames": count, "fps": None, "model_card": True}
        return {"sample": bool(p.get("do_sample_frames")), "num_frames": p.get("num_frames"), "fps": p.get("fps"),
                "model_card": False}

    def pixel_inputs(self, video, *, fps: float | None = None) -> dict:
        """LlavaOnevisionVideoProcessor in torch: (with ``do_sample_frames``) transformers' default sampling of
        ``num_frames`` or ``fps`` frames from the uint8 clip, then resize to ``size`` (384×384, bicubic), rescale and
        normalise with the processor's mean/std (OpenAI CLIP by default). ``fps``: the clips' frame rate (default
        :attr:`video_fps`), needed to sample at ``fps``."""
        p, s = self.preprocess, self.video_sampling
        size = p.get("size") or {"height": 384, "width": 384}
        mode = resample_mode(p.get("resample"), "bicubic")
        clips = []
        for clip in video_clips(video):
            if s["model_card"]:  # the model cards' arange(0, T, T / n): a clip shorter than n repeats frames
                clip = clip[spread_indices(len(clip), s["num_frames"])]
            elif s["sample"] and (s["num_frames"] or s["fps"]):  # the processor's rule, which refuses short clips
                clip = clip[uniform_frame_indices(len(clip), s["num_frames"], fps=s["fps"],
                                                  video_fps=fps or self.video_fps)]
            frames = as_video_tensor(clip, device=self.device)[0].permute(0, 3, 1, 2)  # (T, 3, H, W)
            if p.get("do_resize", True):
                frames = resize_frames(frames, processor_output_size(size, *frames.shape[-2:]), mode=mode)
            clips.append(rescale_and_normalize(frames, p, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD))
        pixels = stack_clips(clips)
        side = self.model.config.vision_config.image_size
        if tuple(pixels.shape[-2:]) != (side, side):
            raise ValueError(f"frames of {tuple(pixels.shape[-2:])} after preprocessing; the vision tower of "
                             f"{self.model_id} takes {side}×{side} (check the size setting)")
        return {"pixel_values_videos": pixels.to(self.dtype), "frames": pixels.shape[1]}

    @property
    def tokens_per_frame(self) -> int:
        """Pooled tokens per frame: ceil(s/2)² for the s×s patch grid (the model's ``apply_pooling``)."""
        vision = self.model.config.vision_config
        side = vision.image_size // vision.patch_size
        return math.ceil(side / 2) ** 2

    @property
    def frame_tokens(self) -> int:
        return self.tokens_per_frame

    trailing_tokens = 1  # the image_newline after the video

    def _token_layout(self, z) -> dict:
        per, n = self.tokens_per_frame, z.shape[1]
        if n < per + 1 or (n - 1) % per:
            raise ValueError(f"{n} visual tokens are not frames × {per} pooled tokens + 1 newline token; pass "
                             "inputs= with the frame count of the videos they stand for")
        return {"frames": (n - 1) // per}

    # ------------------------------------------------------------------------------------------ the model
    def _encode(self, inputs: dict):
        out = self.model.model.get_video_features(inputs["pixel_values_videos"])
        return out.pooler_output  # (B, frames · pooled + 1, D): what forward scatters into the <video> slots

    def _sequence(self, prompt: str, inputs: dict) -> list[int]:
        tok = self.tokenizer
        frames = inputs["frames"] if "frames" in inputs else inputs["pixel_values_videos"].shape[1]
        video = token_string(tok, self.model.config.video_token_id) * (frames * self.tokens_per_frame + 1)
        return chat_layout_ids(self, video, prompt)

    def _forward(self, z, input_ids, inputs: dict):
        return forward_with_features(self, "video", z, input_ids)
