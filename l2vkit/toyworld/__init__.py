"""The toy world: synthetic videos with measurable ground truth (see DESIGN.md §2)."""
from .attributes import ATTRIBUTE_VALUES, Attributes, caption, parse_caption, random_attributes
from .measure import Measurement, accuracy, measure, measure_details
from .render import render, trajectory

__all__ = [
    "ATTRIBUTE_VALUES",
    "Attributes",
    "Measurement",
    "accuracy",
    "caption",
    "contrast_pairs",
    "measure",
    "measure_details",
    "parse_caption",
    "random_attributes",
    "render",
    "trajectory",
]


def contrast_pairs():
    """The contrast pairs shipped in ``data/contrast_pairs.yaml``, validated against the toy vocabulary."""
    from ..pairs import load_pairs
    from ..paths import data_path

    return load_pairs(data_path("contrast_pairs.yaml"), vocabulary=ATTRIBUTE_VALUES)
