"""l2vkit: logits-to-video interpretability for video vision-language models.

Importing the package is cheap: torch, transformers, diffusers and plotting libraries load inside the functions
that need them.
"""
from ._version import __version__

__all__ = ["steer", "sweep"]


def __getattr__(name):
    # The steering entry points load torch only when first used.
    if name in ("steer", "sweep"):
        from . import steering

        return getattr(steering, name)
    raise AttributeError(f"module 'l2vkit' has no attribute {name!r}")
