"""Choosing a torch dtype for a device: the one rule both model sides (Ω and Ξ) use."""
from __future__ import annotations


def resolve_dtype(dtype, device):
    """float32 on CPU; bfloat16 on GPUs that support it, else float16 (T4-class). Strings like "float16" work.

    >>> import torch
    >>> resolve_dtype(None, "cpu") is torch.float32, resolve_dtype("float16", "cpu") is torch.float16
    (True, True)
    """
    import torch

    if dtype is not None:
        if isinstance(dtype, str):
            if not isinstance(getattr(torch, dtype, None), torch.dtype):
                raise ValueError(f"dtype={dtype!r} is not a torch dtype name (e.g. 'float32', 'bfloat16')")
            return getattr(torch, dtype)
        return dtype
    if device is not None and str(device).startswith("cuda") and torch.cuda.is_available():
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32
