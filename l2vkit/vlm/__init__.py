"""The Ω side: video VLMs behind one interface (``VideoVLM``), differentiable preprocessing, cached extraction."""
from . import families  # noqa: F401  (importing the package registers every family adapter in ADAPTERS)
from .base import ADAPTERS, WORD_POLICIES, TokenProbs, VideoVLM, register, resolve_dtype

__all__ = ["ADAPTERS", "WORD_POLICIES", "TokenProbs", "VideoVLM", "register", "resolve_dtype"]
