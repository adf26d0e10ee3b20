"""Quiet model loading: transformers' and diffusers' weight-loading bars hidden for small models."""
from __future__ import annotations

import contextlib


@contextlib.contextmanager
def quiet_loading():
    """Hide transformers' and diffusers' weight-loading bars inside the block (restored afterwards)."""
    import diffusers.utils.logging as diffusers_logging
    import transformers.utils.logging as transformers_logging

    states = [(m, m.is_progress_bar_enabled()) for m in (transformers_logging, diffusers_logging)]
    for module, _ in states:
        module.disable_progress_bar()
    try:
        yield
    finally:
        for module, enabled in states:
            if enabled:
                module.enable_progress_bar()
