"""float_mask: the same 0/1 values as casting the boolean mask, for any layout."""
from __future__ import annotations

import pytest
import torch

from core.utils.masks import float_mask


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_float_mask_equals_cast(dtype):
    values = torch.randn(64, 9, generator=torch.Generator().manual_seed(0))
    for mask in (values > 0, (values > 0).t(), (values > 0)[:, ::2], (values > 0)[:0]):
        got = float_mask(mask, dtype)
        assert got.dtype == dtype and got.shape == mask.shape
        assert torch.equal(got, mask.to(dtype))
    assert float_mask(values > 0, dtype).sum() == (values > 0).sum()
