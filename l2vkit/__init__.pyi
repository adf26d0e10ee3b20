"""Type stubs for the lazy top-level package: the names ``l2vkit.__getattr__`` loads on first use."""
from ._version import __version__ as __version__
from .steering import steer as steer
from .steering import sweep as sweep
from .steering import SteeringResult as SteeringResult
from .vlm import VideoVLM as VideoVLM
from .vlm import TokenProbs as TokenProbs
from .generator import VideoGenerator as VideoGenerator
from .generator import Condition as Condition
from .generator import SampleResult as SampleResult
from .coupling import CouplingConfig as CouplingConfig
from .coupling import CouplingData as CouplingData
from .coupling import CouplingResult as CouplingResult
from .coupling import build_coupling_data as build_coupling_data
from .coupling import fit_coupling as fit_coupling
from .coupling import load_coupling as load_coupling
from .concepts import ConceptBank as ConceptBank
from .concepts import ConceptCache as ConceptCache
from .concepts import build_concept_cache as build_concept_cache
from .concepts import train_concepts as train_concepts
from .pairs import ContrastPair as ContrastPair
from .pairs import load_pairs as load_pairs
from .presets import Preset as Preset
from .presets import get_preset as get_preset
from .presets import register_preset as register_preset

__all__: list[str]
