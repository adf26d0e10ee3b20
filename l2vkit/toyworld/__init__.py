"""The toy world: synthetic videos with measurable ground truth (see docs/toy-world.md)."""
from .attributes import (ATTRIBUTE_VALUES, Attributes, caption, parse_caption, random_attributes, reordered_caption,
                         toy_captions)
from .measure import Measurement, accuracy, agreement, attribute_score, measure, measure_details, measure_or_none
from .render import render, trajectory
from ..quiet import quiet_loading
from .coupling_data import toy_coupling_data

__all__ = [
    "ATTRIBUTE_VALUES",
    "Attributes",
    "Measurement",
    "accuracy",
    "agreement",
    "attribute_score",
    "caption",
    "contrast_pairs",
    "load_concepts",
    "load_coupling",
    "load_generator",
    "load_vlm",
    "measure",
    "measure_details",
    "measure_or_none",
    "parse_caption",
    "random_attributes",
    "render",
    "reordered_caption",
    "toy_captions",
    "toy_coupling_data",
    "trajectory",
]


def contrast_pairs():
    """The contrast pairs shipped in ``data/contrast_pairs.yaml``, validated against the toy vocabulary."""
    from ..pairs import load_pairs
    from ..paths import data_path

    return load_pairs(data_path("contrast_pairs.yaml"), vocabulary=ATTRIBUTE_VALUES)


def load_vlm(*, device=None, dtype=None, folder=None):
    """The shipped toy VLM (a tiny Qwen2-VL trained on the toy world) as a ``VideoVLM``; ``folder``: another toy
    VLM trained by ``python -m l2vkit.toyworld.train_vlm`` (e.g. the shortcut VLM, ``data/toy_vlm_shortcut``)."""
    from ..vlm import VideoVLM

    with quiet_loading():
        return VideoVLM.from_pretrained("toy" if folder is None else str(folder), device=device, dtype=dtype)


def load_generator(*, device=None, dtype=None, folder=None):
    """The shipped toy generator (a tiny diffusers WanPipeline with the MiniLM text encoder) as a ``VideoGenerator``."""
    from ..paths import data_path
    from ..generator import VideoGenerator
    from ..threads import use_small_model_threads
    from .toy_generator import load_pipeline

    folder = folder or data_path("toy_generator")
    use_small_model_threads()  # tiny models: one thread stays fast when the CPU is busy (l2vkit.threads)
    with quiet_loading():
        pipe, settings = load_pipeline(folder, device=device, dtype=dtype)
    generator = VideoGenerator.from_pipeline(pipe, model_id=str(folder), frames=settings["frames"],
                                             height=settings["height"], width=settings["width"],
                                             text_len=settings["max_sequence_length"], steps=settings["steps"],
                                             guidance=settings["guidance"])
    generator.fps = None  # toy renders have no time base (motion is set per frame), unlike the Wan pipeline's 16 fps
    return generator


def load_coupling(path=None, *, vlm=None, generator=None, device=None):
    """:func:`l2vkit.coupling.load_coupling` with the shipped toy coupling Φ (fitted by ``python -m
    l2vkit.toyworld.train_coupling``) as the default ``path``; checked against the models when given."""
    from ..coupling import load_coupling as load
    from .preset import TOY

    return load(TOY.coupling_file() if path is None else path, vlm=vlm, generator=generator, device=device)


def load_concepts(path=None, *, generator=None):
    """``ConceptBank.load`` with the shipped toy concept bank (``python -m l2vkit.toyworld.train_concepts``) as the
    default ``path``; ``bank.pairs`` lists its pairs."""
    from ..concepts import ConceptBank
    from .preset import TOY

    return ConceptBank.load(TOY.concepts_file() if path is None else path, generator=generator)
