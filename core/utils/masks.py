"""Boolean masks on the CPU, fast: as 0/1 floating-point tensors for branch-free arithmetic, and
the positions of their True entries."""

from __future__ import annotations

import numpy as np
import torch


def float_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """`mask.to(dtype)` (1 where True, 0 where False), computed through a uint8 view of the same
    bytes: in torch 2.13's CPU build casting bool to float32 runs about seven times slower than
    casting uint8 (0.15 against 0.02 ms per 2**18 values, one thread; measured on this
    project's machine). No autograd: masks carry no gradient."""
    return mask.view(torch.uint8).to(dtype)


def true_positions(mask: torch.Tensor) -> torch.Tensor:
    """Ascending positions (int64) of the True (non-zero) entries of a 1-D tensor, as
    `torch.nonzero(mask).squeeze(1)`. On the CPU through numpy's flatnonzero on the same memory:
    torch 2.13's CPU nonzero runs about ten times slower (0.72 against 0.07 ms for 150k values,
    one thread; measured on this project's machine). No autograd."""
    if mask.device.type != "cpu":
        return torch.nonzero(mask).squeeze(1)
    return torch.from_numpy(np.flatnonzero(mask.numpy()).astype(np.int64, copy=False))
