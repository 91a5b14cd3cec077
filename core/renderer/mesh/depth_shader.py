"""Depth shaders: fragments -> (N, H, W, 1) view-space depth maps, PyTorch3D's two kinds.

Pixels that no face covers read the camera's zfar (100 where the camera has none), so a depth
map has no holes for a loss to fall into. Like the other shaders, a call may override
`cameras`, `zfar` and `blend_params`.
"""
from __future__ import annotations

from typing import Union

import torch

from ..blending import check_sigma, sparse_fragments
from .fragments import Fragments, depth_order
from .shader import ShaderBase, _check_fragments


def _background_depth(shader: ShaderBase, kwargs: dict, shape, like: torch.Tensor) -> torch.Tensor:
    """The call's zfar at every pixel of a batch of `shape` (N, H, W, K), flat (N*H*W,): `zfar=`
    if given, else the cameras' (which must be given, as in PyTorch3D), else 100."""
    n, h, w, _ = shape
    cameras = shader._cameras(kwargs)
    zfar: Union[float, torch.Tensor] = kwargs.get("zfar", getattr(cameras, "zfar", 100.0))
    zfar = torch.as_tensor(zfar).to(like).reshape(-1)
    if zfar.numel() not in (1, n):
        raise ValueError(f"zfar has {zfar.numel()} values for a batch of {n} images (use 1 or {n})")
    return zfar.view(-1, 1).expand(n, h * w).reshape(-1)


class HardDepthShader(ShaderBase):
    """The depth of each pixel's nearest face; zfar where no face covers the pixel.

    Differentiable with respect to the vertices through the rasterizer's depths (zbuf).
    """

    def forward(self, fragments: Fragments, meshes, **kwargs) -> torch.Tensor:
        sparse = sparse_fragments(fragments)
        _check_fragments(sparse, meshes)
        n, h, w, _ = sparse.shape
        background = _background_depth(self, kwargs, sparse.shape, sparse.dists)
        nearest = sparse.nearest()
        return background.index_put((sparse.pix[nearest],), sparse.zbuf[nearest]).view(n, h, w, 1)


class SoftDepthShader(ShaderBase):
    """Depth blended over a pixel's K faces, nearest first, by their SoftRas coverage.

    With p_k = sigmoid(-dists_k / sigma) and c_k = min(p_1 + … + p_k, 1), face k weighs
    c_k - c_(k-1) and zfar takes what is left, 1 - c_K: inside a face the nearest face's depth,
    across an edge a blend towards the faces behind and then zfar. Gradients reach the vertices
    through both the distances and the depths.

    Computed on the filled slots only (PyTorch3D works on the dense (N, H, W, K) grid): the
    slots are put in (pixel, depth) order and the running sums taken in float64, one pass for
    the whole batch, so a pixel's sums carry no rounding from the pixels before it.
    """

    def forward(self, fragments: Fragments, meshes, **kwargs) -> torch.Tensor:
        sparse = sparse_fragments(fragments)
        _check_fragments(sparse, meshes)
        blend_params = kwargs.get("blend_params", self.blend_params)
        check_sigma(blend_params.sigma)
        n, h, w, _ = sparse.shape
        background = _background_depth(self, kwargs, sparse.shape, sparse.dists)
        if sparse.pix.numel() == 0:
            return background.view(n, h, w, 1).clone()
        if sparse.rank is not None:  # slots already ranked (fragments made from dense tensors)
            order = torch.sort(sparse.slot).indices
        else:
            order = depth_order(sparse.pix, sparse.zbuf.detach())
        pix = sparse.pix.index_select(0, order)
        coverage = torch.sigmoid(-sparse.dists.index_select(0, order) / blend_params.sigma)
        # running sums within each pixel: a global running sum minus its value before the pixel
        starts = torch.ones_like(pix, dtype=torch.bool)
        starts[1:] = pix[1:] != pix[:-1]
        group = torch.cumsum(starts, 0) - 1
        inclusive = torch.cumsum(coverage.double(), 0)
        exclusive = inclusive - coverage.double()
        before_pixel = exclusive[starts].index_select(0, group)
        reached = (inclusive - before_pixel).clamp(max=1.0)
        weights = (reached - (exclusive - before_pixel).clamp(max=1.0)).to(coverage.dtype)
        pixels = pix[starts]
        ends = torch.cat((starts[1:], starts.new_ones(1)))
        left = 1.0 - reached[ends].to(coverage.dtype)  # what zfar takes
        blended = torch.zeros_like(left).index_add(0, group, weights * sparse.zbuf.index_select(0, order))
        blended = blended + left * background.index_select(0, pixels)
        return background.index_put((pixels,), blended).view(n, h, w, 1)
