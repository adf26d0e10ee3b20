"""Moved: the commands live in the :mod:`l2vkit.cli` package, one module per command (old names warn)."""
from __future__ import annotations


def __getattr__(name):
    from ._deprecated import moved_attribute

    return moved_attribute(__name__, name)
