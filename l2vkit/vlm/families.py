"""Importing this module registers every family adapter in ``ADAPTERS``."""
from . import qwen  # noqa: F401
from . import llava_onevision, smolvlm, internvl  # noqa: F401
