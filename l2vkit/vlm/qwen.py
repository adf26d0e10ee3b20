"""Qwen2-VL, Qwen2.5-VL and Qwen3-VL: flattened 3-D patches, a merger MLP, multimodal rotary positions."""
from __future__ import annotations

import warnings

from .base import VideoVLM, register
from .common import video_clips
from .preprocess import (ASSUMED_FPS, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, as_video_tensor, normalize,
                         qwen3_frame_indices, qwen3_smart_resize, qwen3_timestamps, qwen_frame_indices, qwen_patchify,
                         resize_frames, smart_resize)

#: transformers' Qwen2VLVideoProcessor video defaults, with sampling at 2 fps as the model cards use them
#: (qwen-vl-utils: FPS 2, FPS_MIN_FRAMES 4, FPS_MAX_FRAMES 768, VIDEO_MIN_PIXELS / VIDEO_MAX_PIXELS).
VIDEO_DEFAULTS = {"fps": 2.0, "min_frames": 4, "max_frames": 768, "min_pixels": 128 * 28 * 28,
                  "max_pixels": 768 * 28 * 28, "do_sample_frames": True}
#: transformers' Qwen3VLVideoProcessor class defaults: it samples frames unless told not to, and its pixel budget
#: [min_pixels, max_pixels] covers all the frames of a clip together.
QWEN3_VIDEO_DEFAULTS = {"fps": 2.0, "min_frames": 4, "max_frames": 768, "min_pixels": 128 * 32 * 32,
                        "max_pixels": 32 * 32 * 768, "do_sample_frames": True}

_MODEL_CLASSES = {
    "qwen2_vl": "Qwen2VLForConditionalGeneration",
    "qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration",
    "qwen3_vl": "Qwen3VLForConditionalGeneration",
}


@register
class QwenVLM(VideoVLM):
    family = "qwen"
    MODEL_CLASSES = _MODEL_CLASSES
    #: Chat layout of the instruct checkpoints; the toy model (no chat template) uses a bare layout.
    CHAT = ("<|im_start|>user\n<|vision_start|>", "<|vision_end|>{question}<|im_end|>\n<|im_start|>assistant\n")
    BARE = ("<|vision_start|>", "<|vision_end|><bos>")

    # ---------------------------------------------------------------------------------------- preprocessing
    @property
    def _layout(self):
        return self.CHAT if getattr(self.tokenizer, "chat_template", None) else self.BARE

    @property
    def _is_qwen3(self) -> bool:
        return getattr(self.model.config, "model_type", None) == "qwen3_vl"

    @property
    def video_settings(self) -> dict:
        """The video processing this checkpoint gets: its ``video_preprocessor_config.json`` over the class defaults
        of transformers' video processor (Qwen2VLVideoProcessor, or Qwen3VLVideoProcessor for Qwen3-VL). Without that
        file, the video defaults with sampling at 2 fps (:data:`VIDEO_DEFAULTS`, the model cards' usage through
        qwen-vl-utils) — said in a warning, since transformers itself would take the image limits of
        ``preprocessor_config.json`` and keep every frame. Rules and sources: docs/vlm.md."""
        if getattr(self, "_video_settings", None) is None:
            defaults = QWEN3_VIDEO_DEFAULTS if self._is_qwen3 else VIDEO_DEFAULTS
            p = {k: v for k, v in self.preprocess.items() if k != "_source"}
            if self.preprocess.get("_source") == "preprocessor_config.json":
                warnings.warn(f"{self.model_id} has no video_preprocessor_config.json; using the video processor's "
                              f"defaults ({defaults['fps']:g} fps, {defaults['min_frames']}–{defaults['max_frames']} "
                              f"frames, {defaults['min_pixels']}–{defaults['max_pixels']} pixels) instead of its "
                              f"image settings (min_pixels {p.get('min_pixels')}, max_pixels {p.get('max_pixels')})",
                              UserWarning, stacklevel=3)
                p = {**p, **defaults, "size": {"shortest_edge": defaults["min_pixels"],
                                               "longest_edge": defaults["max_pixels"]}}
            size = p.get("size") or {}
            sample = p.get("do_sample_frames", True if self._is_qwen3 else p.get("num_frames") is not None)
            self._video_settings = {
                "min_pixels": size.get("shortest_edge", p.get("min_pixels", defaults["min_pixels"])),
                "max_pixels": size.get("longest_edge", p.get("max_pixels", defaults["max_pixels"])),
                "sample": bool(sample), "num_frames": p.get("num_frames"),
                "fps": None if p.get("num_frames") else p.get("fps", defaults["fps"]),
                "min_frames": p.get("min_frames", defaults["min_frames"]),
                "max_frames": p.get("max_frames", defaults["max_frames"])}
        return self._video_settings

    def frame_indices(self, total: int, fps: float | None = None) -> list[int] | None:
        """The frames the official processor keeps of a ``total``-frame clip at ``fps`` (``None``: all of them)."""
        s = self.video_settings
        if not s["sample"]:
            return None
        if s["fps"] is not None and not fps:
            warnings.warn(f"the clip's frame rate is unknown; sampling at {s['fps']:g} fps assumes {ASSUMED_FPS} fps "
                          "(transformers' default). Pass fps= or set vlm.video_fps", UserWarning, stacklevel=3)
            fps = ASSUMED_FPS
        if self._is_qwen3:
            return qwen3_frame_indices(total, video_fps=fps, fps=s["fps"], num_frames=s["num_frames"],
                                       min_frames=s["min_frames"], max_frames=s["max_frames"])
        return qwen_frame_indices(total, video_fps=fps, fps=s["fps"], num_frames=s["num_frames"],
                                  min_frames=s["min_frames"], max_frames=s["max_frames"],
                                  temporal_patch_size=self.preprocess["temporal_patch_size"])

    def resized_size(self, frames: int, height: int, width: int) -> tuple[int, int]:
        """(h, w) the official processor resizes ``frames`` frames of ``height × width`` to: Qwen2's per-frame
        ``smart_resize``, or Qwen3-VL's, whose pixel budget covers all the frames."""
        p, s = self.preprocess, self.video_settings
        factor = p["patch_size"] * p["merge_size"]
        if self._is_qwen3:
            return qwen3_smart_resize(frames, height, width, factor, s["min_pixels"], s["max_pixels"],
                                      p["temporal_patch_size"])
        return smart_resize(height, width, factor, s["min_pixels"], s["max_pixels"])

    def pixel_inputs(self, video, *, fps: float | None = None) -> dict:
        """Official Qwen-VL video processing in torch: sample frames (before any conversion to float), resize
        (smart_resize), normalise, patchify. ``fps``: the clips' frame rate (default :attr:`video_fps`)."""
        import torch

        p = self.preprocess
        fps = fps or self.video_fps
        patch, temporal, merge = p["patch_size"], p["temporal_patch_size"], p["merge_size"]
        pixel_values, grids, seconds, stamps = [], [], [], None
        for clip in video_clips(video):
            total = len(clip)
            index = self.frame_indices(total, fps)
            if index is not None:
                clip = clip[index]
            if self._is_qwen3 and stamps is None:  # the prompt's "<t seconds>", from the first clip's frames
                stamps = qwen3_timestamps(index if index is not None else range(total), fps or ASSUMED_FPS, temporal)
            frames = as_video_tensor(clip, device=self.device)[0].permute(0, 3, 1, 2)  # (T, 3, H, W)
            h, w = self.resized_size(*frames.shape[:1], *frames.shape[-2:])
            frames = resize_frames(frames, (h, w)) if p.get("do_resize", True) else frames
            if p.get("do_normalize", True):
                frames = normalize(frames, p.get("image_mean", OPENAI_CLIP_MEAN), p.get("image_std", OPENAI_CLIP_STD))
            patches, grid = qwen_patchify(frames, patch_size=patch, temporal_patch_size=temporal, merge_size=merge)
            pixel_values.append(patches)
            grids.append(grid)
            if fps:  # transformers' VideoMetadata.sampled_fps: the rate of the kept frames
                seconds.append(temporal / (fps * (len(index) / total if index is not None else 1.0)))
        if len(set(grids)) != 1:
            raise ValueError(f"videos in one batch must share a token grid, got {sorted(set(grids))}")
        out = {"pixel_values_videos": torch.cat(pixel_values).to(self.dtype),
               "video_grid_thw": torch.tensor(grids, device=self.device)}
        if self._uses_seconds and len(seconds) == len(grids):  # with the clips' rate unknown, the model's 1 s per patch
            out["second_per_grid_ts"] = torch.tensor(seconds, device=self.device)
        if stamps is not None:
            out["frame_seconds"] = [round(t, 6) for t in stamps]
        return out

    @property
    def _uses_seconds(self) -> bool:
        """Qwen2.5-VL places temporal positions by seconds per temporal patch (``second_per_grid_ts``)."""
        return getattr(self.model.config, "model_type", None) == "qwen2_5_vl"

    def layout_record(self, video) -> dict:
        """The (t, h, w) patch grid of ``video`` (one clip, or the first of a batch) under this VLM's preprocessing."""
        clip = video[:1] if getattr(video, "ndim", 0) == 5 else video
        inputs = self.pixel_inputs(clip)
        grid = [int(v) for v in inputs["video_grid_thw"][0].tolist()]
        merge = self.preprocess["merge_size"]
        record = {"video_grid_thw": grid, "token_grid": [grid[0], grid[1] // merge, grid[2] // merge]}
        if "second_per_grid_ts" in inputs:
            record["second_per_grid_ts"] = round(float(inputs["second_per_grid_ts"][0]), 6)
        if "frame_seconds" in inputs:
            record["frame_seconds"] = inputs["frame_seconds"]
        return record

    def token_grid(self, record: dict | None, tokens: int) -> tuple | None:
        """The merged patch grid (t, h/merge, w/merge): the merger emits one token per merge window, in raster order."""
        merge = self.preprocess["merge_size"]
        if record and "video_grid_thw" in record:
            t, h, w = record["video_grid_thw"]
        else:
            try:
                t, h, w = self._token_layout(_Shape(tokens))["video_grid_thw"][0].tolist()
            except ValueError:
                return None
        grid = (int(t), int(h) // merge, int(w) // merge)
        return grid if grid[0] * grid[1] * grid[2] == tokens else None

    def layout_inputs(self, record: dict | None, z) -> dict | None:
        import torch

        if not record or "video_grid_thw" not in record:
            return None
        grid = tuple(record["video_grid_thw"])
        tokens = grid[0] * grid[1] * grid[2] // self.preprocess["merge_size"] ** 2
        if tokens != z.shape[1]:
            raise ValueError(f"{z.shape[1]} visual tokens, but the recorded clips had the grid {grid} ({tokens} "
                             "tokens); the tokens come from another VLM or preprocessing")
        inputs = {"video_grid_thw": torch.tensor([grid] * z.shape[0], device=z.device)}
        if "second_per_grid_ts" in record and self._uses_seconds:  # the recorded clips' timing, as their pixels had it
            inputs["second_per_grid_ts"] = torch.tensor([record["second_per_grid_ts"]] * z.shape[0], device=z.device)
        if "frame_seconds" in record:
            inputs["frame_seconds"] = list(record["frame_seconds"])
        return inputs

    def _token_layout(self, z) -> dict:
        """Recover the (t, h, w) patch grid for N externally supplied tokens from the preprocessing settings."""
        import torch

        p = self.preprocess
        merge = p["merge_size"]
        if "grid" in p:
            grid = tuple(p["grid"])
        else:
            frames = p.get("num_frames")
            per_frame = (frames or 1) if self._is_qwen3 else 1  # Qwen3-VL's budget covers the pixels of all frames
            budget = p["size"]["longest_edge"] / per_frame if "size" in p else None
            side = int(round(budget**0.5)) // p["patch_size"] if budget else None
            if not frames or not side:
                raise ValueError(f"{self.model_id}: cannot place {z.shape[1]} external tokens; pass inputs= with "
                                 "the video_grid_thw of the videos they stand for")
            grid = (-(-frames // p["temporal_patch_size"]), side, side)
        if grid[0] * grid[1] * grid[2] // merge**2 != z.shape[1]:
            tokens = grid[0] * grid[1] * grid[2] // merge**2
            raise ValueError(f"{z.shape[1]} visual tokens do not fill the grid {grid} ({tokens} tokens); pass inputs= "
                             "with the video_grid_thw of the videos they stand for")
        return {"video_grid_thw": torch.tensor([grid] * z.shape[0], device=z.device)}

    # ------------------------------------------------------------------------------------------ the model
    @property
    def _deepstack_layers(self) -> int:
        return len(getattr(self.model.config.vision_config, "deepstack_visual_indexes", None) or [])

    @property
    def hidden_size(self) -> int:
        """Width of z_Ω. Qwen3-VL also feeds "deepstack" features into early LM layers; they are part of what the
        LM reads, so z_Ω concatenates them: width D × (1 + number of deepstack layers)."""
        return super().hidden_size * (1 + self._deepstack_layers)

    def _encode(self, inputs: dict):
        import torch

        out = self.model.model.get_video_features(inputs["pixel_values_videos"], inputs["video_grid_thw"])
        parts = [torch.stack(list(out.pooler_output))]
        parts += [torch.stack(list(layer)) for layer in (getattr(out, "deepstack_features", None) or [])]
        return torch.cat(parts, dim=-1)

    def _sequence(self, prompt: str, inputs: dict) -> list[int]:
        before, after = self._layout
        tok = self.tokenizer
        ids = tok.encode(before.removesuffix("<|vision_start|>"), add_special_tokens=False)
        ids += self._video_block(inputs)
        ids += tok.encode(after.removeprefix("<|vision_end|>").format(question=self.question), add_special_tokens=False)
        if prompt.strip():
            ids += tok.encode(prompt.strip(), add_special_tokens=False)
        return ids

    def _video_block(self, inputs: dict) -> list[int]:
        """<|vision_start|> video tokens <|vision_end|>; Qwen3-VL writes one such block per temporal patch, each after
        a "<t seconds>" timestamp: the clip's own (``frame_seconds``, as ``Qwen3VLProcessor`` computes them from the
        sampled frames), else patches taken as evenly spaced at the preprocess ``fps`` (default 2)."""
        tok = self.tokenizer
        t, h, w = inputs["video_grid_thw"][0].tolist()
        video_id = self.model.config.video_token_id
        start = tok.encode("<|vision_start|>", add_special_tokens=False)
        end = tok.encode("<|vision_end|>", add_special_tokens=False)
        per_group = h * w // self.preprocess["merge_size"] ** 2
        if self.model.config.model_type != "qwen3_vl":
            return start + [video_id] * per_group * t + end
        fps = self.preprocess.get("fps", 2.0)
        span = self.preprocess["temporal_patch_size"]
        stamps = inputs.get("frame_seconds")
        if stamps is None or len(stamps) != t:
            stamps = [(group * span + (span - 1) / 2) / fps for group in range(t)]
        ids = []
        for seconds in stamps:
            ids += tok.encode(f"<{seconds:.1f} seconds>", add_special_tokens=False) + start
            ids += [video_id] * per_group + end
        return ids

    def _encoder_outputs(self, z):
        from transformers.modeling_outputs import BaseModelOutputWithPooling

        if not self._deepstack_layers:
            return BaseModelOutputWithPooling(pooler_output=tuple(z))
        from transformers.models.qwen3_vl.modeling_qwen3_vl import BaseModelOutputWithDeepstackFeatures

        main, *deep = z.chunk(1 + self._deepstack_layers, dim=-1)
        return BaseModelOutputWithDeepstackFeatures(pooler_output=tuple(main),
                                                    deepstack_features=[tuple(layer) for layer in deep])

    def _forward(self, z, input_ids, inputs: dict):
        video_id = self.model.config.video_token_id
        mm_types = (input_ids == video_id).int() * 2  # 0 text, 1 image, 2 video
        out = self.model(
            input_ids=input_ids,
            mm_encoder_outputs={"video": self._encoder_outputs(z)},
            video_grid_thw=inputs["video_grid_thw"],
            mm_token_type_ids=mm_types,
            **({"second_per_grid_ts": inputs["second_per_grid_ts"]} if "second_per_grid_ts" in inputs else {}),
            use_cache=False,
        )
        return out.logits


class _Shape:
    """Stands in for a (1, N, D) token tensor where only its token count is needed."""

    def __init__(self, tokens: int):
        self.shape = (1, tokens, 0)
        self.device = "cpu"
