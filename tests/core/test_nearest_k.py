"""Choosing each pixel's K nearest entries (bucketed `beyond_nearest`, `nearest_in_pixel`)
against a plain lexsort."""
import numpy as np
import pytest
import torch

import core.renderer.mesh.fragments as fragments
from core.renderer.mesh.fragments import beyond_nearest, depth_ranks, nearest_in_pixel


def _reference_ranks(pix: torch.Tensor, z: torch.Tensor) -> np.ndarray:
    """Rank by (depth, position) within each pixel, by numpy's lexsort."""
    pix_np, z_np = pix.numpy(), z.numpy()
    order = np.lexsort((np.arange(len(pix_np)), z_np, pix_np))
    ranks = np.empty(len(pix_np), dtype=np.int64)
    start = 0
    for p in np.unique(pix_np[order]):
        count = int((pix_np == p).sum())
        ranks[order[start : start + count]] = np.arange(count)
        start += count
    return ranks


def _scene(seed: int, dtype=torch.float32):
    """Entries like a blurred rasterization's: a front cluster, a back cluster, exact ties."""
    g = torch.Generator().manual_seed(seed)
    n = 6000
    pix = torch.randint(0, 150, (n,), generator=g) * 7  # sparse pixel ids with gaps
    front = 2.0 + 1e-4 * torch.rand(n, generator=g, dtype=torch.float64)
    back = 3.0 + torch.rand(n, generator=g, dtype=torch.float64)
    z = torch.where(torch.rand(n, generator=g) < 0.6, front, back)
    tied = torch.rand(n, generator=g) < 0.2
    z[tied] = z[tied].round(decimals=2)  # many equal depths within a pixel
    return pix, z.to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("k", [1, 3, 10, 50])
def test_beyond_nearest_is_exactly_the_entries_ranked_k_or_more(dtype, k):
    pix, z = _scene(k, dtype)
    expected = np.nonzero(_reference_ranks(pix, z) >= k)[0]
    assert np.array_equal(beyond_nearest(pix, z, k).numpy(), expected)
    assert np.array_equal(depth_ranks(pix, z).numpy(), _reference_ranks(pix, z))


def test_every_round_and_the_final_sort_agree_with_the_reference(monkeypatch):
    """With the sort threshold at 0 every round runs; with 1 round the sort does most work."""
    pix, z = _scene(7)
    expected = np.nonzero(_reference_ranks(pix, z) >= 10)[0]
    for rounds, sort_below in ((8, 0), (1, 0), (4, 10**9)):
        monkeypatch.setattr(fragments, "_MAX_ROUNDS", rounds)
        monkeypatch.setattr(fragments, "_SORT_BELOW", sort_below)
        assert np.array_equal(beyond_nearest(pix, z, 10).numpy(), expected), (rounds, sort_below)


def test_equal_depths_keep_the_earlier_entries():
    pix = torch.zeros(8, dtype=torch.long)
    z = torch.full((8,), 2.5)
    assert beyond_nearest(pix, z, 3).tolist() == [3, 4, 5, 6, 7]


def test_pixels_with_few_entries_keep_them_all():
    pix = torch.tensor([0, 5, 5, 9, 9, 9])
    z = torch.tensor([1.0, 2.0, 1.0, 3.0, 2.0, 1.0])
    assert beyond_nearest(pix, z, 3).numel() == 0
    assert beyond_nearest(pix, z, 2).tolist() == [3]


def test_infinite_depths_rank_last_instead_of_breaking_the_buckets():
    pix = torch.tensor([0] * 6 + [1] * 4 + [2] * 3)
    inf = float("inf")
    z = torch.tensor([1.0, inf, 2.0, 0.5, inf, 3.0, 1.0, 1.0, inf, 0.2, inf, inf, inf])
    expected = np.nonzero(_reference_ranks(pix, z) >= 2)[0]
    assert np.array_equal(beyond_nearest(pix, z, 2).numpy(), expected)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_nearest_in_pixel_is_rank_zero_with_ties_negative_depths_and_infinity(dtype):
    """The packed-key path (float32) and the two-pass path (float64) both pick, per pixel, the
    smallest depth and among equal ones the earliest entry; negative depths, -0.0 against 0.0
    and infinite depths keep their order."""
    pix, z = _scene(11, dtype)
    g = torch.Generator().manual_seed(3)
    flip = torch.rand(z.shape, generator=g) < 0.3
    z = torch.where(flip, -z, z)  # magnitudes reverse their order below zero
    z[:40] = torch.tensor([0.0, -0.0] * 20, dtype=dtype)
    z[40:60] = torch.inf
    z[60:70] = -torch.inf
    expected = np.nonzero(_reference_ranks(pix, z) == 0)[0]
    assert np.array_equal(nearest_in_pixel(pix, z).numpy(), expected)
    assert nearest_in_pixel(pix[:0], z[:0]).numel() == 0
