"""Blending the K fragments of each pixel into an RGBA image (PyTorch3D's formulas).

The soft blends work on the rasterizer's sparse fragments: per-pixel sums and products are
scatter-adds over the filled slots only, and the product of (1 - p) is accumulated as a sum of
log-sigmoids, which is exact and keeps gradients finite where p is close to 1.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

from core.utils.masks import float_mask, true_positions

from .mesh.fragments import Fragments, SparseFragments

_Z_INV_EPS = 1e-10
# Softmax share below which a slot's colour is not shaded (see softmax_contributors).
NEGLIGIBLE_SHARE = 1e-10
# Every pixel's softmax denominator is at least the background term's floor _Z_INV_EPS, so a
# depth weight under exp(_NEGLIGIBLE_DEPTH_EXPONENT) = NEGLIGIBLE_SHARE * _Z_INV_EPS has a share
# below NEGLIGIBLE_SHARE wherever it is: such weights are set to exactly 0 (see _depth_weights).
_NEGLIGIBLE_DEPTH_EXPONENT = math.log(NEGLIGIBLE_SHARE * _Z_INV_EPS)
# exp() of arguments under this gives less than _Z_INV_EPS, which the background term clamps to.
_BACKGROUND_EXPONENT_FLOOR = math.log(_Z_INV_EPS) - 1.0


class BlendParams(NamedTuple):
    """sigma: width of the sigmoid edge (squared NDC units); gamma: depth softness; background RGB."""

    sigma: float = 1e-4
    gamma: float = 1e-4
    background_color: Union[torch.Tensor, Sequence[float]] = (1.0, 1.0, 1.0)


def sparse_fragments(fragments: Fragments) -> SparseFragments:
    """The sparse form of `fragments`, built from the dense tensors when they were made by hand."""
    if fragments.sparse is not None:
        return fragments.sparse
    n, h, w, k = fragments.pix_to_face.shape
    slot = true_positions(fragments.pix_to_face.reshape(-1) >= 0)
    return SparseFragments(
        (n, h, w, k),
        slot // k,
        fragments.pix_to_face.reshape(-1)[slot],
        fragments.zbuf.reshape(-1)[slot],
        fragments.bary_coords.reshape(-1, 3)[slot],
        fragments.dists.reshape(-1)[slot],
        rank=slot % k,
        slots_by_depth=None,  # rows in slot order; slot 0 is the nearest face only if depths ascend
    )


def background_rgb(blend_params: BlendParams, like: torch.Tensor) -> torch.Tensor:
    """The background colour of `blend_params` as a (3,) tensor of `like`'s dtype and device."""
    bg = blend_params.background_color
    bg = bg.to(like) if torch.is_tensor(bg) else torch.tensor(bg, dtype=like.dtype, device=like.device)
    if bg.shape[-1] != 3:
        raise ValueError(f"background_color must have 3 channels; got shape {tuple(bg.shape)}")
    return bg


def check_sigma(sigma: float, label: str = "BlendParams sigma") -> None:
    """ValueError naming `label` unless sigma > 0 (NaN included)."""
    if not sigma > 0:
        raise ValueError(f"{label} must be > 0; got {sigma}")


def _check_sigma(blend_params: BlendParams) -> None:
    if not blend_params.sigma > 0 or not blend_params.gamma > 0:
        raise ValueError(f"BlendParams sigma and gamma must be > 0; got sigma={blend_params.sigma}, gamma={blend_params.gamma}")


def hard_rgb_blend(colors: torch.Tensor, fragments: Fragments, blend_params: BlendParams) -> torch.Tensor:
    """Colour of the nearest fragment, or the background; alpha 1 where covered, else 0.

    colors: (N, H, W, K, 3). Returns (N, H, W, 4).
    """
    covered = fragments.pix_to_face[..., 0] >= 0
    bg = background_rgb(blend_params, colors)
    rgb = torch.where(covered[..., None], colors[..., 0, :], bg)
    return torch.cat((rgb, covered[..., None].to(colors.dtype)), dim=-1)


def _transparency(sparse: SparseFragments, sigma: float, like: torch.Tensor) -> torch.Tensor:
    """prod_k (1 - sigmoid(-d_k / sigma)) over each pixel's filled slots, (N*H*W,), as the exp of
    a sum of log-sigmoids (1 - sigmoid(-x) = sigmoid(x))."""
    n, h, w, _ = sparse.shape
    return torch.exp(like.new_zeros(n * h * w).index_add(0, sparse.pix, F.logsigmoid(sparse.dists / sigma)))


def silhouette_alpha(sparse: SparseFragments, sigma: float, like: torch.Tensor) -> torch.Tensor:
    """1 - prod_k (1 - sigmoid(-d_k / sigma)) over each pixel's filled slots, shape (N, H, W)."""
    n, h, w, _ = sparse.shape
    return (1.0 - _transparency(sparse, sigma, like)).view(n, h, w)


def sigmoid_alpha_blend(colors: torch.Tensor, fragments: Fragments, blend_params: BlendParams) -> torch.Tensor:
    """SoftRas silhouette blend: RGB of the nearest slot, alpha = 1 - prod(1 - sigmoid(-d/sigma))."""
    _check_sigma(blend_params)
    alpha = silhouette_alpha(sparse_fragments(fragments), blend_params.sigma, colors)
    return torch.cat((colors[..., 0, :], alpha[..., None]), dim=-1)


def _depth_weights(
    sparse: SparseFragments, gamma: float, znear, zfar, like: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor]:
    """SoftRas depth weights exp((z_inv - z_max) / gamma) per slot, and z_max per pixel.

    z_inv falls as depth grows, so a pixel's largest z_inv is its nearest fragment's (on equal
    depths the first slot's, which is the one torch.max picks in PyTorch3D and the one its
    gradient reaches). Weights of negligible share (under exp(_NEGLIGIBLE_DEPTH_EXPONENT)) are
    exactly 0, with zero gradient: neither the image nor any gradient changes by a representable
    amount, the backward pass can skip their fragments, and exp() never underflows (which
    runs about ten times slower than exp() of normal results on the CPU).
    """
    n, h, w, _ = sparse.shape
    znear = _per_slot("znear", znear, sparse, like)
    zfar = _per_slot("zfar", zfar, sparse, like)
    z_inv = (zfar - sparse.zbuf) / (zfar - znear)
    nearest = sparse.nearest_by_depth()
    z_max = like.new_full((n * h * w,), _Z_INV_EPS).index_put(
        (sparse.pix.index_select(0, nearest),), z_inv.index_select(0, nearest).clamp_min(_Z_INV_EPS)
    )
    exponent = (z_inv - z_max.index_select(0, sparse.pix)) / gamma
    significant = float_mask(exponent >= _NEGLIGIBLE_DEPTH_EXPONENT, exponent.dtype)
    return torch.exp(exponent.clamp_min(_NEGLIGIBLE_DEPTH_EXPONENT)) * significant, z_max


class SoftmaxTerms(NamedTuple):
    """The parts of SoftRas's softmax blend that do not depend on colour.

    weights: (M,) sigmoid(-d/sigma) * exp((z_inv - z_max)/gamma) per filled slot;
    delta: (N*H*W,) the background's weight per pixel; alpha: (N*H*W,) 1 - prod(1 - sigmoid).
    """

    weights: torch.Tensor
    delta: torch.Tensor
    alpha: torch.Tensor


def softmax_terms(
    sparse: SparseFragments,
    blend_params: BlendParams,
    znear: Union[float, torch.Tensor] = 1.0,
    zfar: Union[float, torch.Tensor] = 100.0,
) -> SoftmaxTerms:
    """Compute :class:`SoftmaxTerms` once, for choosing the slots to shade and for blending."""
    _check_sigma(blend_params)
    sigma, gamma = blend_params.sigma, blend_params.gamma
    depth, z_max = _depth_weights(sparse, gamma, znear, zfar, sparse.dists)
    weights = torch.sigmoid(-sparse.dists / sigma) * depth
    # (the floor on the exponent changes no value: exp() of it is already under the clamp)
    delta = torch.exp(((_Z_INV_EPS - z_max) / gamma).clamp_min(_BACKGROUND_EXPONENT_FLOOR)).clamp_min(_Z_INV_EPS)
    return SoftmaxTerms(weights, delta, silhouette_alpha(sparse, sigma, sparse.dists).reshape(-1))


def _softmax_denominator(pix: torch.Tensor, weights: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """Each pixel's softmax denominator, (N*H*W,): the sum of its slots' weights plus the
    background term delta."""
    return torch.zeros_like(delta).index_add(0, pix, weights) + delta


def softmax_contributors(sparse: SparseFragments, terms: SoftmaxTerms) -> torch.Tensor:
    """Ascending positions of the slots whose colour can change the blended image.

    A slot's colour enters its pixel with the share w_k / (sum_j w_j + background term) of the
    softmax. Slots whose share is below ``NEGLIGIBLE_SHARE`` (1e-10, far under float32's 6e-8
    resolution even summed over K = 50 slots) change neither the image nor any gradient by a
    representable amount, so shaders skip them; their weights still enter the blend exactly.
    """
    with torch.no_grad():
        weights = terms.weights.detach()
        denom = _softmax_denominator(sparse.pix, weights, terms.delta)
        return true_positions(weights > NEGLIGIBLE_SHARE * denom.index_select(0, sparse.pix))


def softmax_blend_sparse(
    colors: torch.Tensor,
    sparse: SparseFragments,
    blend_params: BlendParams,
    znear: Union[float, torch.Tensor] = 1.0,
    zfar: Union[float, torch.Tensor] = 100.0,
    terms: Optional[SoftmaxTerms] = None,
    rows: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """`softmax_rgb_blend` on per-slot colours (M, 3) aligned with `sparse`; returns (N, H, W, 4).

    ``terms``: :func:`softmax_terms` of the same inputs, when the caller already has them.
    ``rows``: when given, `colors` belong to these rows of `sparse` only and every other row's
    colour counts as zero (the rows :func:`softmax_contributors` leaves out).
    """
    n, h, w, _ = sparse.shape
    npix = n * h * w
    if terms is None:
        terms = softmax_terms(sparse, blend_params, znear, zfar)
    pix, weights = sparse.pix, terms.weights
    if rows is not None:
        pix, weights = pix.index_select(0, rows), weights.index_select(0, rows)
    denom = _softmax_denominator(sparse.pix, terms.weights, terms.delta)
    bg = background_rgb(blend_params, colors)
    # Channel by channel: 1-D index_add runs about three times faster than one over (M, 3) rows.
    rgb = [
        (colors.new_zeros(npix).index_add_(0, pix, weights * channel) + terms.delta * bg[c]) / denom
        for c, channel in enumerate(colors.unbind(1))
    ]
    return torch.stack((*rgb, terms.alpha), dim=1).view(n, h, w, 4)


def softmax_blend_shares(
    fragments: Fragments,
    blend_params: BlendParams,
    znear: Union[float, torch.Tensor] = 1.0,
    zfar: Union[float, torch.Tensor] = 100.0,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Each slot's share of its pixel's `softmax_rgb_blend` colour, (N, H, W, K) with 0 in empty
    slots, and the background colour's share, (N, H, W); per pixel they sum to 1.

    Not in PyTorch3D: it shows what gamma does (small gamma gives the nearest slot nearly all
    of the colour, large gamma spreads it over the faces behind) and sigma (which lets faces
    beside the pixel and the background in).
    """
    sparse = sparse_fragments(fragments)
    n, h, w, _ = sparse.shape
    terms = softmax_terms(sparse, blend_params, znear, zfar)
    denom = _softmax_denominator(sparse.pix, terms.weights, terms.delta)
    shares = sparse.dense(terms.weights / denom.index_select(0, sparse.pix), 0.0)
    return shares, (terms.delta / denom).view(n, h, w)


def silhouette_alpha_gradient(fragments: Fragments, sigma: float) -> torch.Tensor:
    """∂α/∂d of each slot, (N, H, W, K) with 0 in empty slots: how a pixel's soft coverage
    α = 1 − Π_k (1 − sigmoid(−d_k / σ)) (the alpha of `sigmoid_alpha_blend` and
    `softmax_rgb_blend`) changes with the squared distance d_k of each of its faces.

    In closed form ∂α/∂d_k = −T p_k / σ, with p_k = sigmoid(−d_k / σ) and T = Π_j (1 − p_j) the
    pixel's transparency: always ≤ 0 (a face moving away lowers the coverage), largest where a
    pixel is half covered, and 0 to float precision once another face covers it fully. Not in
    PyTorch3D: it shows where a silhouette loss can move the mesh, the band σ opens around its
    edges (and where a K too small for the blur radius leaves it out).
    """
    check_sigma(sigma, "sigma")
    sparse = sparse_fragments(fragments)
    transparency = _transparency(sparse, sigma, sparse.dists).index_select(0, sparse.pix)
    return sparse.dense(-transparency * torch.sigmoid(-sparse.dists / sigma) / sigma, 0.0)


def softmax_rgb_blend(
    colors: torch.Tensor,
    fragments: Fragments,
    blend_params: BlendParams,
    znear: Union[float, torch.Tensor] = 1.0,
    zfar: Union[float, torch.Tensor] = 100.0,
) -> torch.Tensor:
    """SoftRas RGB blend of colors (N, H, W, K, 3): depth-weighted softmax with a background term.

    Returns (N, H, W, 4) whose alpha is 1 - prod_k (1 - sigmoid(-d_k / sigma)).
    """
    sparse = sparse_fragments(fragments)
    return softmax_blend_sparse(colors.reshape(-1, colors.shape[-1])[sparse.slot], sparse, blend_params, znear, zfar)


def _per_slot(name: str, value, sparse: SparseFragments, like: torch.Tensor):
    """A per-image camera value (float, or tensor of 1 or N) for each slot's image.

    One value shared by every image (the usual case) stays a scalar: no per-slot gather.
    """
    if not torch.is_tensor(value):
        return value
    n, h, w, _ = sparse.shape
    value = value.to(like).reshape(-1)
    if value.numel() not in (1, n):
        raise ValueError(f"{name} has {value.numel()} values for a batch of {n} images (use 1 or {n})")
    if value.numel() == 1 or bool((value == value[0]).all()):
        return value[0]
    return value.index_select(0, sparse.pix // (h * w))
