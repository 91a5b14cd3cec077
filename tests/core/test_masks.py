"""float_mask: the same 0/1 values as casting the boolean mask, for any layout; true_positions:
the same positions as torch.nonzero."""
from __future__ import annotations

import pytest
import torch

from core.utils.masks import float_mask, true_positions


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_float_mask_equals_cast(dtype):
    values = torch.randn(64, 9, generator=torch.Generator().manual_seed(0))
    for mask in (values > 0, (values > 0).t(), (values > 0)[:, ::2], (values > 0)[:0]):
        got = float_mask(mask, dtype)
        assert got.dtype == dtype and got.shape == mask.shape
        assert torch.equal(got, mask.to(dtype))
    assert float_mask(values > 0, dtype).sum() == (values > 0).sum()


def test_true_positions_equal_nonzero():
    g = torch.Generator().manual_seed(1)
    values = torch.rand(5000, generator=g)
    for mask in (values > 0.5, values > 2.0, values >= 0.0, (values > 0.3)[::3], (values * 4).long(), values[:0] > 0):
        got = true_positions(mask)
        assert got.dtype == torch.int64
        assert torch.equal(got, torch.nonzero(mask).squeeze(1))
