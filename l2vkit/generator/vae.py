"""D_Ξ and E_Ξ: the pipeline's VAE with the latent (de)normalisation it uses (a mixin of
:class:`~l2vkit.generator.VideoGenerator`)."""
from __future__ import annotations

from .sampling import to_uint8


class VAEMixin:
    """``decode`` and ``encode`` of :class:`~l2vkit.generator.VideoGenerator`."""

    # ------------------------------------------------------------------------------------------- VAE D, E
    def decode(self, z, *, output: str = "uint8"):
        """D_Ξ: normalised latents → video, through the pipeline's VAE with the pipeline's de-normalisation.

        Parameters
        ----------
        z : torch.Tensor
            (B, C, F, h, w) latents, or one latent (C, F, h, w).
        output : str
            ``"uint8"`` (default): frames exactly as the pipeline post-processes them; ``"tensor"``: float frames
            in [0, 1], differentiable w.r.t. ``z``.

        Returns
        -------
        numpy.ndarray or torch.Tensor
            (B, T, H, W, 3) frames (or (T, H, W, 3) for one latent): a uint8 numpy array for ``output="uint8"``, a
            float tensor for ``output="tensor"``.
        """
        import torch

        if output not in ("uint8", "tensor"):
            raise ValueError(f"output={output!r}; choose 'uint8' or 'tensor'")
        single = hasattr(z, "ndim") and z.ndim == 4
        z = self._check_latents(z.unsqueeze(0) if single else z, name="z")
        if output == "uint8":
            with torch.no_grad():
                video = self._decode_raw(z)
                video = to_uint8(self.pipe.video_processor.postprocess_video(video, output_type="np"))
        else:
            video = self._decode_raw(z)
            video = (video.float() / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 4, 1)
        return video[0] if single else video

    def encode(self, video):
        """E_Ξ: video → normalised latents (the VAE posterior mean, normalised as the pipeline expects).

        Parameters
        ----------
        video : numpy.ndarray or torch.Tensor
            uint8 or float-in-[0, 1] frames (T, H, W, 3) or (B, T, H, W, 3), of a size the model can take.

        Returns
        -------
        torch.Tensor
            (C, F, h, w) or (B, C, F, h, w) latents, according to ``video``; differentiable w.r.t. a float tensor
            input.
        """
        x, single = video_to_tensor(video)
        self.check_video_size(x.shape[2], x.shape[3], x.shape[4])
        z = self._encode_raw(x * 2 - 1)
        return z[0] if single else z


def video_to_tensor(video):
    """(B, 3, T, H, W) float32 tensor in [0, 1] from (T, H, W, 3)/(B, T, H, W, 3) uint8 or float frames, and
    whether a single video was given; validation is the VLM side's (one set of error messages)."""
    from ..video import as_video_tensor

    single = getattr(video, "ndim", None) == 4
    return as_video_tensor(video).permute(0, 4, 1, 2, 3), single
