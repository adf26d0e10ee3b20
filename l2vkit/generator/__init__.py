"""The Ξ side: flow-matching text-to-video generators behind one interface (``VideoGenerator``).

Importing this package is cheap (torch and diffusers load inside the functions that need them); the family adapters
(Wan, LTX-Video) register themselves here. ``plan_memory`` estimates memory before anything is loaded.
"""
from .base import GENERATORS, Condition, SampleResult, VideoGenerator, register, resolve_dtype
from .conditions import ConditionStore, encode_captions
from .ltx import LTXGenerator
from .memory import MemoryPlan, plan_memory
from .wan import WanGenerator

__all__ = ["GENERATORS", "Condition", "ConditionStore", "LTXGenerator", "MemoryPlan", "SampleResult", "VideoGenerator", "WanGenerator",
           "encode_captions", "plan_memory", "register", "resolve_dtype"]
