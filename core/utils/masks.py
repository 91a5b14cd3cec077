"""Boolean masks as 0/1 floating-point tensors, for branch-free arithmetic on the CPU."""

from __future__ import annotations

import torch


def float_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """`mask.to(dtype)` (1 where True, 0 where False), computed through a uint8 view of the same
    bytes: in torch 2.13's CPU build casting bool to float32 runs about seven times slower than
    casting uint8 (0.15 against 0.02 ms per 2**18 values, one thread; measured on this
    project's machine). No autograd: masks carry no gradient."""
    return mask.view(torch.uint8).to(dtype)
