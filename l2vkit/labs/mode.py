"""The fast lab mode: one switch that makes every notebook and lab cheap enough for a shared lab machine.

A notebook's config cell reads ``FAST = fast_mode()`` and picks fewer seeds, videos or training steps when it is on;
the text's claims hold in both modes (each is asserted in a cell). Turn it on for a whole session with the
environment variable ``L2VKIT_FAST=1`` (set it before starting Jupyter, or ``%env L2VKIT_FAST=1`` before the config
cell), or for one notebook by writing ``FAST = True`` in its config cell. The test suite runs the notebooks in fast
mode; the slow tier and ``make docs`` run the full mode, which reproduces the published figures (CI builds the
site in fast mode, to keep its time down).

>>> fast_mode({"L2VKIT_FAST": "1"}), fast_mode({"L2VKIT_FAST": "no"}), fast_mode({})
(True, False, False)
"""
from __future__ import annotations

import os
from typing import Mapping

FAST_ENV = "L2VKIT_FAST"
_ON = ("1", "true", "yes", "on")
_OFF = ("", "0", "false", "no", "off")


def fast_mode(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the fast lab mode is on: ``$L2VKIT_FAST`` is one of 1/true/yes/on (off: unset, 0/false/no/off)."""
    value = (os.environ if environ is None else environ).get(FAST_ENV, "").strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise ValueError(f"{FAST_ENV}={value!r} is neither on ({', '.join(_ON)}) nor off ({', '.join(_OFF[1:])} or unset)")
