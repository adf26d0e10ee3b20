"""l2vkit: logits-to-video interpretability for video vision-language models.

Importing the package is cheap: torch, transformers, diffusers and plotting libraries load inside the functions
that need them.
"""
__version__ = "0.1.0"
