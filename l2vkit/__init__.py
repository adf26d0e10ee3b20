"""l2vkit: logits-to-video interpretability for video vision-language models.

Importing the package is cheap: the main objects below are loaded on first use (like diffusers' lazy module), so
torch, transformers, diffusers and plotting libraries load only inside what needs them. ``dir(l2vkit)`` lists them
and ``l2vkit/__init__.pyi`` gives type checkers and editors their real signatures.

>>> import l2vkit
>>> "steer" in dir(l2vkit) and "VideoGenerator" in l2vkit.__all__
True
"""
from . import _deprecated  # noqa: F401  (light; loaded up front so lookups of moved names never add to this namespace)
from ._version import __version__

#: public name → the module that defines it
_LAZY = {
    # steering and its result
    "steer": "l2vkit.steering", "sweep": "l2vkit.steering", "SteeringResult": "l2vkit.steering",
    # the two model sides, Ω and Ξ
    "VideoVLM": "l2vkit.vlm", "TokenProbs": "l2vkit.vlm",
    "VideoGenerator": "l2vkit.generator", "Condition": "l2vkit.generator", "SampleResult": "l2vkit.generator",
    # the coupling Φ
    "CouplingConfig": "l2vkit.coupling", "CouplingData": "l2vkit.coupling", "CouplingResult": "l2vkit.coupling",
    "build_coupling_data": "l2vkit.coupling", "fit_coupling": "l2vkit.coupling", "load_coupling": "l2vkit.coupling",
    # concepts and contrast pairs
    "ConceptBank": "l2vkit.concepts", "ConceptCache": "l2vkit.concepts", "build_concept_cache": "l2vkit.concepts",
    "train_concepts": "l2vkit.concepts", "ContrastPair": "l2vkit.pairs", "load_pairs": "l2vkit.pairs",
    # presets
    "Preset": "l2vkit.presets", "get_preset": "l2vkit.presets", "register_preset": "l2vkit.presets",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'l2vkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
