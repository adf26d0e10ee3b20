"""Qwen2-VL, Qwen2.5-VL and Qwen3-VL: flattened 3-D patches, a merger MLP, multimodal rotary positions."""
from __future__ import annotations

from .base import VideoVLM, register
from .preprocess import (OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, as_video_tensor, normalize, qwen_patchify,
                         resize_frames, sample_frame_indices, smart_resize)

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

    def pixel_inputs(self, video) -> dict:
        """Official Qwen-VL video processing in torch: sample, resize (smart_resize), normalise, patchify."""
        import torch

        p = self.preprocess
        videos = as_video_tensor(video, device=self.device)
        patch, temporal, merge = p["patch_size"], p["temporal_patch_size"], p["merge_size"]
        size = p.get("size") or {}
        min_pixels = size.get("shortest_edge", p.get("min_pixels", 128 * 28 * 28))
        max_pixels = size.get("longest_edge", p.get("max_pixels", 768 * 28 * 28))
        frames_wanted = p.get("num_frames")
        pixel_values, grids = [], []
        for clip in videos:
            if frames_wanted:
                clip = clip[sample_frame_indices(clip.shape[0], frames_wanted)]
            frames = clip.permute(0, 3, 1, 2)  # (T, 3, H, W)
            h, w = smart_resize(frames.shape[-2], frames.shape[-1], patch * merge, min_pixels, max_pixels)
            frames = resize_frames(frames, (h, w)) if p.get("do_resize", True) else frames
            if p.get("do_normalize", True):
                frames = normalize(frames, p.get("image_mean", OPENAI_CLIP_MEAN), p.get("image_std", OPENAI_CLIP_STD))
            patches, grid = qwen_patchify(frames, patch_size=patch, temporal_patch_size=temporal, merge_size=merge)
            pixel_values.append(patches)
            grids.append(grid)
        if len(set(grids)) != 1:
            raise ValueError(f"videos in one batch must share a token grid, got {sorted(set(grids))}")
        return {
            "pixel_values_videos": torch.cat(pixel_values).to(self.dtype),
            "video_grid_thw": torch.tensor(grids, device=self.device),
        }

    def layout_record(self, video) -> dict:
        """The (t, h, w) patch grid of ``video`` (one clip, or the first of a batch) under this VLM's preprocessing."""
        clip = video[:1] if getattr(video, "ndim", 0) == 5 else video
        return {"video_grid_thw": [int(v) for v in self.pixel_inputs(clip)["video_grid_thw"][0].tolist()]}

    def layout_inputs(self, record: dict | None, z) -> dict | None:
        import torch

        if not record or "video_grid_thw" not in record:
            return None
        grid = tuple(record["video_grid_thw"])
        tokens = grid[0] * grid[1] * grid[2] // self.preprocess["merge_size"] ** 2
        if tokens != z.shape[1]:
            raise ValueError(f"{z.shape[1]} visual tokens, but the recorded clips had the grid {grid} ({tokens} "
                             "tokens); the tokens come from another VLM or preprocessing")
        return {"video_grid_thw": torch.tensor([grid] * z.shape[0], device=z.device)}

    def _token_layout(self, z) -> dict:
        """Recover the (t, h, w) patch grid for N externally supplied tokens from the preprocessing settings."""
        import torch

        p = self.preprocess
        merge = p["merge_size"]
        if "grid" in p:
            grid = tuple(p["grid"])
        else:
            frames = p.get("num_frames")
            side = int(round((p["size"]["longest_edge"]) ** 0.5)) // p["patch_size"] if "size" in p else None
            if not frames or not side:
                raise ValueError(f"{self.model_id}: cannot place {z.shape[1]} external tokens; pass inputs= with "
                                 "the video_grid_thw of the videos they stand for")
            grid = (-(-frames // p["temporal_patch_size"]), side, side)
        if grid[0] * grid[1] * grid[2] // merge**2 != z.shape[1]:
            raise ValueError(f"{z.shape[1]} visual tokens do not fill the grid {grid} ({grid[0] * grid[1] * grid[2] // merge**2} "
                             "tokens); pass inputs= with the video_grid_thw of the videos they stand for")
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
        """<|vision_start|> video tokens <|vision_end|>; Qwen3-VL writes one such block per temporal patch,
        each after a "<t seconds>" timestamp (times from the preprocess ``fps``, default 2)."""
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
        ids = []
        for group in range(t):
            seconds = (group * span + (span - 1) / 2) / fps
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
            use_cache=False,
        )
        return out.logits
