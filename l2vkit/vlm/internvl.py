"""InternVL (transformers-native ``-hf`` checkpoints, e.g. InternVL3): InternViT per frame, pixel shuffle
(``downsample_ratio`` 0.5: 2×2 patches into one token) and an MLP projector.

Each frame becomes ``image_seq_length`` tokens ((448/14)² · 0.5² = 256 for InternVL3); the processor writes a video
as one line per frame, "Frame{i}: <img><IMG_CONTEXT>…</img>". z_Ω is the frames' tokens in order,
(B, frames · image_seq_length, D).
"""
from __future__ import annotations

from .base import VideoVLM, register
from .common import chat_layout_ids, forward_with_features, stack_clips, token_string, video_clips
from .preprocess import (OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, as_video_tensor, processor_output_size, resample_mode,
                         rescale_and_normalize, resize_frames, shifted_frame_indices)


def _pair(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


@register
class InternVLM(VideoVLM):
    family = "internvl"
    MODEL_CLASSES = {"internvl": "InternVLForConditionalGeneration"}
    #: The InternVL -hf chat template for one user turn with a video, then the generation prompt.
    CHAT = "<|im_start|>user\n{video}\n{question}<|im_end|>\n<|im_start|>assistant\n"
    BARE = "{video}"

    # ---------------------------------------------------------------------------------------- preprocessing
    def pixel_inputs(self, video, *, fps: float | None = None) -> dict:
        """InternVLVideoProcessor in torch: (with ``do_sample_frames``) its shifted uniform sampling of ``num_frames``
        or ``fps`` frames from the uint8 clip, resize to ``size`` (bicubic), rescale and normalise with the processor's
        mean/std. Frames are never tiled (videos skip crop_to_patches). ``fps``: the clips' frame rate (default
        :attr:`video_fps`), needed to sample at ``fps``."""
        p = self.preprocess
        side = _pair(self.model.config.vision_config.image_size)
        size = p.get("size") or {"height": side[0], "width": side[1]}
        mode = resample_mode(p.get("resample"), "bicubic")
        clips = []
        for clip in video_clips(video):
            if p.get("do_sample_frames") and (p.get("num_frames") or p.get("fps")):
                clip = clip[shifted_frame_indices(len(clip), p.get("num_frames"), p.get("initial_shift", True),
                                                  fps=p.get("fps"), video_fps=fps or self.video_fps)]
            frames = as_video_tensor(clip, device=self.device)[0].permute(0, 3, 1, 2)  # (T, 3, H, W)
            if p.get("do_resize", True):
                frames = resize_frames(frames, processor_output_size(size, *frames.shape[-2:]), mode=mode)
            clips.append(rescale_and_normalize(frames, p, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD))
        pixels = stack_clips(clips)
        if tuple(pixels.shape[-2:]) != side:
            raise ValueError(f"frames of {tuple(pixels.shape[-2:])} after preprocessing; the vision tower of "
                             f"{self.model_id} takes {side[0]}×{side[1]} (check the size setting)")
        return {"pixel_values_videos": pixels.to(self.dtype), "frames": pixels.shape[1]}

    @property
    def tokens_per_frame(self) -> int:
        """(image_size / patch_size)² · downsample_ratio²: the tokens pixel shuffle leaves per frame."""
        config = self.model.config
        (h, w), (ph, pw) = _pair(config.vision_config.image_size), _pair(config.vision_config.patch_size)
        return int((h // ph) * (w // pw) * config.downsample_ratio**2)

    @property
    def frame_tokens(self) -> int:
        return self.tokens_per_frame

    def _token_layout(self, z) -> dict:
        per, n = self.tokens_per_frame, z.shape[1]
        if n < per or n % per:
            raise ValueError(f"{n} visual tokens are not a whole number of frames of {per} tokens; pass inputs= "
                             "with the frame count of the videos they stand for")
        return {"frames": n // per}

    # ------------------------------------------------------------------------------------------ the model
    def _encode(self, inputs: dict):
        pixels = inputs["pixel_values_videos"]  # (B, T, 3, H, W); the processor flattens videos into frames
        out = self.model.model.get_image_features(pixel_values=pixels.flatten(0, 1))
        features = out.pooler_output  # (B·T, tokens_per_frame, D)
        return features.reshape(pixels.shape[0], -1, features.shape[-1])

    def _sequence(self, prompt: str, inputs: dict) -> list[int]:
        tok = self.tokenizer
        frames = inputs["frames"] if "frames" in inputs else inputs["pixel_values_videos"].shape[1]
        start = getattr(tok, "start_image_token", None) or "<img>"
        end = getattr(tok, "end_image_token", None) or "</img>"
        context = token_string(tok, self.model.config.image_token_id) * self.tokens_per_frame
        video = "\n".join(f"Frame{i + 1}: {start}{context}{end}" for i in range(frames))
        return chat_layout_ids(self, video, prompt)

    def _forward(self, z, input_ids, inputs: dict):
        return forward_with_features(self, "image", z, input_ids)
