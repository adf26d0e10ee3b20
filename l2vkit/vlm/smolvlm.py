"""SmolVLM2 (and Idefics3): each frame is one image; SigLIP, then a pixel-shuffle connector (scale_factor² patches
into one token) and a linear projection.

The language model reads ``image_seq_len`` tokens a frame (e.g. 512 // 16 = 32 → 32² / 4² = 64 for SmolVLM2-256M);
z_Ω is the frames' tokens in order, (B, frames · image_seq_len, D). SmolVLM2's processor writes each frame as
"Frame from MM:SS:" + <fake_token_around_image><global-img><image>…<fake_token_around_image> after an intro line; the
Idefics3 checkpoints, which have no video processor, get the frames as consecutive unsplit images.
"""
from __future__ import annotations

import warnings
from datetime import timedelta

from .base import VideoVLM, register
from .common import encode_cached, forward_with_features, stack_clips, token_string, video_clips
from .preprocess import (IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD, as_video_tensor, longest_edge_size,
                         resample_mode, rescale_and_normalize, resize_frames, smolvlm_frame_indices)

_MODEL_CLASSES = {"smolvlm": "SmolVLMForConditionalGeneration", "idefics3": "Idefics3ForConditionalGeneration"}

# The strings of transformers' SmolVLMProcessor (processing_smolvlm.py) for videos.
VIDEO_INTRO = "You are provided the following series of {frame_count} frames from a {video_duration} [H:MM:SS] video.\n"
MEDIA_OUTTRO = "\n\n"
FRAME_TIMESTAMP = "\nFrame from {timestamp}:"
#: The processor's fallback frame rate when a video comes without metadata (arrays, tensors).
DEFAULT_SOURCE_FPS = 24.0

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
         "seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """English words for a frame count, as ``num2words`` writes them (e.g. 64 → "sixty-four")."""
    try:
        from num2words import num2words

        return num2words(n)
    except ImportError:
        pass
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens - 2] + (f"-{_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" and {number_words(rest)}" if rest else "")
    return str(n)


@register
class SmolVLM(VideoVLM):
    family = "smolvlm"
    MODEL_CLASSES = _MODEL_CLASSES

    @property
    def _is_video_model(self) -> bool:
        return self.model.config.model_type == "smolvlm"

    # ---------------------------------------------------------------------------------------- preprocessing
    @property
    def _sampling(self) -> dict:
        return self.preprocess.get("video_sampling") or {}

    @property
    def _source_fps(self) -> float:
        """The clips' frame rate: ``preprocess["source_fps"]``, else :attr:`video_fps`, else the processor's 24."""
        return float(self.preprocess.get("source_fps") or self.video_fps or DEFAULT_SOURCE_FPS)

    @property
    def _rate_known(self) -> bool:
        return bool(self.preprocess.get("source_fps") or self.video_fps)

    def pixel_inputs(self, video, *, fps: float | None = None) -> dict:
        """SmolVLMVideoProcessor in torch (frames unsplit): optional fps sampling, resize the longest side to the video
        size, then square to ``max_image_size``, rescale and normalise (mean/std 0.5 by default). Idefics3's image
        processor with ``do_image_splitting=False`` does the same to each frame. ``fps``: the clips' frame rate
        (default :attr:`video_fps`; without one the processor's 24). A checkpoint whose files carry
        ``video_sampling`` but no ``do_sample_frames`` (the published SmolVLM2 ones) is sampled by it, as the model
        cards' ``apply_chat_template`` does when it loads a video (transformers' array path would keep every frame)."""
        p = self.preprocess
        # As SmolVLMVideoProcessor.__init__: a top-level size overrides video_sampling.video_size.
        size = p.get("size") or self._sampling.get("video_size") or {"longest_edge": 4 * 364}
        square = (p.get("max_image_size") or {"longest_edge": 364})["longest_edge"]
        mode = resample_mode(p.get("resample"), "bicubic")
        max_frames = self._sampling.get("max_frames", p.get("num_frames"))
        source = float(fps or self._source_fps)
        clips, indices, total = [], None, None
        for clip in video_clips(video):  # frames are sampled from the uint8 clip, before conversion to float
            total = len(clip)
            picked = list(range(total))
            if p.get("do_sample_frames", bool(self._sampling)) and max_frames:  # see the docstring
                rate = self._sampling.get("fps", p.get("fps", 1))
                if not (fps or self._rate_known) and not self.__dict__.get("_warned_rate"):
                    self.__dict__["_warned_rate"] = True  # the official processor refuses; the cards' loader knows it
                    warnings.warn(f"the clip's frame rate is unknown; sampling at {rate:g} fps assumes "
                                  f"{DEFAULT_SOURCE_FPS} fps. Pass fps= or set vlm.video_fps", UserWarning,
                                  stacklevel=2)
                picked = smolvlm_frame_indices(total, max_frames, rate, source)
            if indices is not None and picked != indices:
                raise ValueError("videos in one batch must sample the same frames; pass them one at a time")
            indices = picked
            frames = as_video_tensor(clip[picked], device=self.device)[0].permute(0, 3, 1, 2)  # (T, 3, H, W)
            if p.get("do_resize", True):
                if size.get("longest_edge"):
                    frames = resize_frames(frames, longest_edge_size(*frames.shape[-2:], size["longest_edge"]),
                                           mode=mode)
                elif size.get("height") and size.get("width"):
                    frames = resize_frames(frames, (size["height"], size["width"]), mode=mode)
                frames = resize_frames(frames, (square, square), mode=mode)
            clips.append(rescale_and_normalize(frames, p, IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD))
        pixels = stack_clips(clips)
        return {"pixel_values": pixels.to(self.dtype), "frames": pixels.shape[1], "frame_indices": indices,
                "total_frames": total, "source_fps": source, "rate_known": bool(fps) or self._rate_known}

    @property
    def image_seq_len(self) -> int:
        """Tokens per frame: (image_size / patch_size)² / scale_factor²."""
        config = self.model.config
        side = config.vision_config.image_size // config.vision_config.patch_size
        return int(side**2 / config.scale_factor**2)

    @property
    def frame_tokens(self) -> int:
        return self.image_seq_len

    def _token_layout(self, z) -> dict:
        per, n = self.image_seq_len, z.shape[1]
        if n < per or n % per:
            raise ValueError(f"{n} visual tokens are not a whole number of frames of {per} tokens; pass inputs= "
                             "with the frame count of the videos they stand for")
        return {"frames": n // per}

    # ------------------------------------------------------------------------------------------ the model
    def _encode(self, inputs: dict):
        import torch

        # Frames whose normalised pixels are all exactly 0 count as padding and are dropped by the model.
        out = self.model.model.get_image_features(inputs["pixel_values"])
        return torch.stack(list(out.pooler_output))  # (B, frames · image_seq_len, D)

    def _timestamps(self, inputs: dict) -> tuple[list[str], int]:
        """"MM:SS" per frame and the duration in whole seconds, as the processor computes them from metadata."""
        frames = inputs["frames"]
        indices = inputs.get("frame_indices") or list(range(frames))
        source = inputs.get("source_fps", self._source_fps)
        seconds = [i / source for i in indices]
        if inputs.get("rate_known", self._rate_known):  # a known frame rate: the duration of the whole video
            duration = int(inputs.get("total_frames", frames) / source)
        else:  # arrays without metadata: the processor assumes 24 fps and uses the last timestamp
            duration = int(seconds[-1])
        return [f"{int(s // 60):02d}:{int(s % 60):02d}" for s in seconds], duration

    def _layout(self, inputs: dict) -> str:
        tok = self.tokenizer
        frames = inputs["frames"]
        fake = getattr(tok, "fake_image_token", None) or "<fake_token_around_image>"
        glob = getattr(tok, "global_image_token", None) or "<global-img>"
        image = fake + glob + token_string(tok, self.model.config.image_token_id) * self.image_seq_len + fake
        chat = bool(getattr(tok, "chat_template", None))
        if self._is_video_model:
            stamps, duration = self._timestamps(inputs)
            length = str(timedelta(seconds=duration))
            block = VIDEO_INTRO.format(frame_count=number_words(frames), video_duration=length)
            block += "".join(FRAME_TIMESTAMP.format(timestamp=s) + image for s in stamps) + MEDIA_OUTTRO
            # transformers' SmolVLM video chat template: "<|im_start|>User: <video>text<end_of_utterance>\nAssistant:"
            return f"<|im_start|>User: {block}{self.question}<end_of_utterance>\nAssistant:" if chat else block
        block = image * frames  # Idefics3: one unsplit image per frame; "User:" without a space before an image
        return f"<|begin_of_text|>User:{block}{self.question}<end_of_utterance>\nAssistant:" if chat else block

    def _sequence(self, prompt: str, inputs: dict) -> list[int]:
        ids = encode_cached(self, self._layout(inputs))
        if prompt.strip():  # the answer follows "Assistant:" after a space
            ids += self.tokenizer.encode(" " + prompt.strip(), add_special_tokens=False)
        return ids

    def _forward(self, z, input_ids, inputs: dict):
        return forward_with_features(self, "image", tuple(z), input_ids)
