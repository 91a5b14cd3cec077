"""Batched cameras with PyTorch3D 0.7.9 names, keywords, defaults and numerics.

Conventions (as in PyTorch3D): row vectors, `X_view = X_world @ R + T`; view space is +X left,
+Y up, +Z into the scene; NDC is +X left, +Y up with the shorter image side spanning [-1, 1];
screen space is +X right, +Y down with the origin at the top-left image corner (pixel centres at
+0.5). FoV cameras map view z to [0, 1] between znear and zfar; the SfM-style cameras
(`PerspectiveCameras`, `OrthographicCameras`) follow the multi-view geometry convention and may be
defined in NDC (`in_ndc=True`) or in screen space (`in_ndc=False` with `image_size`).

As in PyTorch3D, passing R or T as keywords to `get_world_to_view_transform`,
`get_full_projection_transform`, `transform_points*` or `get_camera_center` also *stores* them on
the camera, so that later steps of a render (e.g. shading with `get_camera_center()`) see the same
extrinsics. Floating tensors keep their dtype (float64 works end to end); everything is
differentiable with respect to R, T and the intrinsics.
"""
from __future__ import annotations

import copy
import math
from typing import Any, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

from ..transforms import Rotate, Transform3d, Translate
from .utils import Device, TensorProperties, make_device

# Default extrinsics: identity rotation, zero translation, batch of 1.
_R = torch.eye(3)[None]  # (1, 3, 3)
_T = torch.zeros(1, 3)  # (1, 3)

_BatchFloat = Union[float, Sequence[float], torch.Tensor]
_Index = Union[int, slice, List[int], torch.Tensor]

# Attribute names nn.Module uses for its own bookkeeping (excluded when cloning a camera).
_MODULE_KEYS = frozenset(vars(torch.nn.Module()))


def _float_dtype(*values: Any) -> torch.dtype:
    """float32, promoted to the widest floating dtype among the tensor arguments."""
    dtype = torch.float32
    for v in values:
        if isinstance(v, torch.Tensor) and v.is_floating_point():
            dtype = torch.promote_types(dtype, v.dtype)
    return dtype


def _as_tensor(value: Any, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Scalar, sequence or tensor → tensor of dtype on device (keeps the autograd graph)."""
    if isinstance(value, torch.Tensor):
        return value.to(device=device, dtype=dtype)
    return torch.tensor(value, dtype=dtype, device=device)


class CamerasBase(TensorProperties):
    """Base class of all cameras: extrinsics R (N, 3, 3), T (N, 3) plus per-class intrinsics.

    Spaces: world → view (`get_world_to_view_transform`) → camera projection space, which is NDC
    or screen depending on `in_ndc()` (`get_projection_transform`), → NDC
    (`get_ndc_camera_transform`) → screen (`transform_points_screen`).
    """

    # Constructor keywords gathered by __getitem__ ("_in_ndc" is passed as "in_ndc").
    _FIELDS: Tuple[str, ...] = ()
    # Fields that are one value for the whole batch rather than a batch of values.
    _SHARED_FIELDS: Tuple[str, ...] = ()

    def __init__(self, dtype: torch.dtype = torch.float32, device: Device = "cpu", **kwargs: Any) -> None:
        super().__init__(dtype=dtype, device=device, **kwargs)
        R, T = getattr(self, "R", None), getattr(self, "T", None)
        if isinstance(R, torch.Tensor) and (R.dim() != 3 or R.shape[1:] != (3, 3)):
            raise ValueError(f"{type(self).__name__}: R must have shape (N, 3, 3); got {tuple(R.shape)}")
        if isinstance(T, torch.Tensor) and (T.dim() != 2 or T.shape[1:] != (3,)):
            raise ValueError(f"{type(self).__name__}: T must have shape (N, 3); got {tuple(T.shape)}")

    # ----- per-class pieces -----
    # Camera attributes that compute_projection_matrix takes, in order; each may be overridden per call.
    _projection_args: Tuple[str, ...] = ()

    def compute_projection_matrix(self, *args: Any) -> torch.Tensor:
        """The (N, 4, 4) calibration matrix K (column-vector convention) from `_projection_args`."""
        raise NotImplementedError()

    def get_projection_transform(self, **kwargs: Any) -> Transform3d:
        """View → camera projection space (NDC or screen); the keyword K, or any of
        `_projection_args`, overrides the camera's own."""
        K = kwargs.get("K", self.K)
        if K is not None:
            _check_K(K, self._N)
        else:
            K = self.compute_projection_matrix(*(kwargs.get(name, getattr(self, name)) for name in self._projection_args))
        return Transform3d(matrix=K.transpose(1, 2).contiguous(), device=self.device)

    def unproject_points(self, xy_depth: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """Camera projection space (xy plus depth) → world (or view) coordinates."""
        raise NotImplementedError()

    def is_perspective(self) -> bool:
        raise NotImplementedError()

    def in_ndc(self) -> bool:
        """Whether the camera's projection space is NDC (else screen)."""
        raise NotImplementedError()

    # ----- shared machinery -----
    def get_camera_center(self, **kwargs: Any) -> torch.Tensor:
        """Camera centres in world coordinates, (N, 3): the translation of the inverse world→view."""
        w2v = self.get_world_to_view_transform(**kwargs)
        return w2v.inverse().get_matrix()[:, 3, :3]

    def get_world_to_view_transform(self, **kwargs: Any) -> Transform3d:
        """World → view transform from R, T (keywords R=, T= override and are stored)."""
        R = kwargs.get("R", self.R)
        T = kwargs.get("T", self.T)
        self.R = R
        self.T = T
        return get_world_to_view_transform(R=R, T=T)

    def _to_projection_space(self, world_coordinates: bool, **kwargs: Any) -> Transform3d:
        """World (or view, when not world_coordinates) → camera projection space."""
        if world_coordinates:
            return self.get_full_projection_transform(**kwargs)
        return self.get_projection_transform(**kwargs)

    def get_full_projection_transform(self, **kwargs: Any) -> Transform3d:
        """World → camera projection space: world→view composed with the projection."""
        self.R = kwargs.get("R", self.R)
        self.T = kwargs.get("T", self.T)
        world_to_view = self.get_world_to_view_transform(R=self.R, T=self.T)
        return world_to_view.compose(self.get_projection_transform(**kwargs))

    def transform_points(self, points: torch.Tensor, eps: Optional[float] = None, **kwargs: Any) -> torch.Tensor:
        """World points (P, 3) or (N, P, 3) → camera projection space (NDC or screen)."""
        return self.get_full_projection_transform(**kwargs).transform_points(points, eps=eps)

    def get_ndc_camera_transform(self, **kwargs: Any) -> Transform3d:
        """Camera projection space → PyTorch3D NDC: identity for NDC cameras, else screen→NDC."""
        if self.in_ndc():
            return Transform3d(device=self.device, dtype=torch.float32)
        image_size = kwargs.get("image_size", self.get_image_size())
        return get_screen_to_ndc_transform(self, with_xyflip=False, image_size=image_size)

    def transform_points_ndc(self, points: torch.Tensor, eps: Optional[float] = None, **kwargs: Any) -> torch.Tensor:
        """World points → NDC (+X left, +Y up, origin at the image centre)."""
        world_to_ndc = self.get_full_projection_transform(**kwargs)
        if not self.in_ndc():
            world_to_ndc = world_to_ndc.compose(self.get_ndc_camera_transform(**kwargs))
        return world_to_ndc.transform_points(points, eps=eps)

    def transform_points_screen(
        self, points: torch.Tensor, eps: Optional[float] = None, with_xyflip: bool = True, **kwargs: Any
    ) -> torch.Tensor:
        """World points → screen (+X right, +Y down, origin top-left); needs image_size=(H, W)."""
        points_ndc = self.transform_points_ndc(points, eps=eps, **kwargs)
        image_size = kwargs.get("image_size", self.get_image_size())
        ndc_to_screen = get_ndc_to_screen_transform(self, with_xyflip=with_xyflip, image_size=image_size)
        return ndc_to_screen.transform_points(points_ndc, eps=eps)

    def get_znear(self) -> Optional[torch.Tensor]:
        """The near plane when the camera has one, else None."""
        return getattr(self, "znear", None)

    def get_image_size(self) -> Optional[torch.Tensor]:
        """Stored (height, width) image size, or None."""
        return getattr(self, "image_size", None)

    def clone(self) -> "CamerasBase":  # type: ignore[override]
        """A copy with every tensor cloned (still attached to the autograd graph)."""
        other = type(self).__new__(type(self))
        torch.nn.Module.__init__(other)
        attrs = {k: v for k, v in vars(self).items() if k not in _MODULE_KEYS}
        attrs.update(self._parameters)
        attrs.update(self._buffers)
        for name, value in attrs.items():
            value = value.clone() if isinstance(value, torch.Tensor) else copy.deepcopy(value)
            setattr(other, name, value)
        return other

    def __getitem__(self, index: _Index) -> "CamerasBase":  # type: ignore[override]
        """Cameras selected by an int, slice, list of ints, or bool/long tensor (same class)."""
        n = len(self)
        if isinstance(index, bool) or not isinstance(index, (int, slice, list, torch.Tensor)):
            raise ValueError(f"Invalid index type {type(index)}: expected int, slice, List[int] or bool/long tensor")
        if isinstance(index, int):
            index = [index]
        elif isinstance(index, slice):
            index = list(range(n))[index]
        elif isinstance(index, list):
            if not all(isinstance(i, int) and not isinstance(i, bool) for i in index):
                raise ValueError("Invalid index: a list index must hold only ints")
        elif index.dtype == torch.bool:
            if index.dim() != 1 or index.shape[0] != n:
                raise ValueError(f"Boolean index of shape {tuple(index.shape)} does not match {n} cameras")
        elif index.dtype in (torch.int64, torch.int32):
            index = index.tolist()
            index = [index] if isinstance(index, int) else index
        else:
            raise ValueError(f"Invalid index tensor dtype {index.dtype}; expected bool or long")
        if isinstance(index, list) and any(i >= n or i < -n for i in index):
            raise IndexError(f"Index out of bounds for {n} cameras: {index}")

        kwargs = {}
        for field in self._FIELDS:
            val = getattr(self, field, None)
            if val is None:
                continue
            key = field[1:] if field.startswith("_") else field
            if isinstance(val, torch.Tensor):
                kwargs[key] = val[index]
            else:
                kwargs[key] = val
        kwargs["device"] = self.device
        return self.__class__(**kwargs)


# ---------------------------------------------------------------------------------------------
# Field-of-view cameras (OpenGL-style frusta, z mapped to [0, 1])
# ---------------------------------------------------------------------------------------------


class _FoVUnprojection:
    """unproject_points for the FoV cameras, whose projection stores a scaled depth as z."""

    def unproject_points(
        self, xy_depth: torch.Tensor, world_coordinates: bool = True, scaled_depth_input: bool = False, **kwargs: Any
    ) -> torch.Tensor:
        """NDC xy plus depth → world (or view) points; depth is view z unless scaled_depth_input."""
        to_ndc = self._to_projection_space(world_coordinates, **kwargs)
        if scaled_depth_input:
            xy_sdepth = xy_depth
        else:
            K = self.get_projection_transform(**kwargs).get_matrix()
            shape = [K.shape[0]] + [1] * (xy_depth.dim() - 1)
            ndc_z = self._scaled_depth(xy_depth[..., 2:3], K[:, 2, 2].reshape(shape), K[:, 3, 2].reshape(shape))
            xy_sdepth = torch.cat((xy_depth[..., :2], ndc_z), dim=-1)
        return to_ndc.inverse().transform_points(xy_sdepth)


class FoVPerspectiveCameras(_FoVUnprojection, CamerasBase):
    """Perspective cameras given by a vertical field of view, znear/zfar and pixel aspect ratio.

    Projection (column-vector form, transposed for row vectors):
        [[1/(tan(fov/2)·aspect), 0, 0, 0], [0, 1/tan(fov/2), 0, 0],
         [0, 0, zfar/(zfar−znear), −zfar·znear/(zfar−znear)], [0, 0, 1, 0]]
    """

    _FIELDS = ("K", "znear", "zfar", "aspect_ratio", "fov", "R", "T", "degrees")
    _SHARED_FIELDS = ("degrees",)

    def __init__(
        self,
        znear: _BatchFloat = 1.0,
        zfar: _BatchFloat = 100.0,
        aspect_ratio: _BatchFloat = 1.0,
        fov: _BatchFloat = 60.0,
        degrees: bool = True,
        R: torch.Tensor = _R,
        T: torch.Tensor = _T,
        K: Optional[torch.Tensor] = None,
        device: Device = "cpu",
    ) -> None:
        super().__init__(device=device, znear=znear, zfar=zfar, aspect_ratio=aspect_ratio, fov=fov, R=R, T=T, K=K)
        self.degrees = degrees

    def compute_projection_matrix(self, znear, zfar, fov, aspect_ratio, degrees: bool) -> torch.Tensor:
        """The (N, 4, 4) calibration matrix K (column-vector convention)."""
        dtype = _float_dtype(znear, zfar, fov, aspect_ratio)
        znear, zfar, fov, aspect_ratio = (_as_tensor(v, dtype, self.device) for v in (znear, zfar, fov, aspect_ratio))
        # tan in float64, the rest in the working dtype: this reproduces PyTorch3D's projection
        # matrix bit for bit, which keeps depth ties among the K nearest faces breaking the same way.
        fov64 = fov.double()
        if degrees:
            fov64 = (math.pi / 180) * fov64
        tan_half_fov = torch.tan(fov64 / 2).to(dtype)
        max_y = tan_half_fov * znear
        min_y = -max_y
        max_x = max_y * aspect_ratio
        min_x = -max_x
        K = torch.zeros((self._N, 4, 4), dtype=dtype, device=self.device)
        K[:, 0, 0] = 2.0 * znear / (max_x - min_x)
        K[:, 1, 1] = 2.0 * znear / (max_y - min_y)
        K[:, 0, 2] = (max_x + min_x) / (max_x - min_x)
        K[:, 1, 2] = (max_y + min_y) / (max_y - min_y)
        K[:, 3, 2] = 1.0
        K[:, 2, 2] = zfar / (zfar - znear)
        K[:, 2, 3] = -(zfar * znear) / (zfar - znear)
        return K

    _projection_args = ("znear", "zfar", "fov", "aspect_ratio", "degrees")

    @staticmethod
    def _scaled_depth(depth: torch.Tensor, scale: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        """NDC z of view depth, from the projection's K[2, 2] (scale) and K[3, 2] (offset)."""
        return (scale * depth + offset) / depth

    def is_perspective(self) -> bool:
        return True

    def in_ndc(self) -> bool:
        return True


class FoVOrthographicCameras(_FoVUnprojection, CamerasBase):
    """Orthographic cameras given by the frustum box (min/max x, y), znear/zfar and scale_xyz.

    x_ndc = 2/(max_x − min_x)·s_x·x − (max_x + min_x)/(max_x − min_x), likewise y;
    z_ndc = s_z·z/(zfar − znear) − znear/(zfar − znear).
    """

    _FIELDS = ("K", "znear", "zfar", "R", "T", "max_y", "min_y", "max_x", "min_x", "scale_xyz")

    def __init__(
        self,
        znear: _BatchFloat = 1.0,
        zfar: _BatchFloat = 100.0,
        max_y: _BatchFloat = 1.0,
        min_y: _BatchFloat = -1.0,
        max_x: _BatchFloat = 1.0,
        min_x: _BatchFloat = -1.0,
        scale_xyz=((1.0, 1.0, 1.0),),
        R: torch.Tensor = _R,
        T: torch.Tensor = _T,
        K: Optional[torch.Tensor] = None,
        device: Device = "cpu",
    ) -> None:
        super().__init__(
            device=device, znear=znear, zfar=zfar, max_y=max_y, min_y=min_y, max_x=max_x, min_x=min_x,
            scale_xyz=scale_xyz, R=R, T=T, K=K,
        )

    def compute_projection_matrix(self, znear, zfar, max_x, min_x, max_y, min_y, scale_xyz) -> torch.Tensor:
        """The (N, 4, 4) calibration matrix K (column-vector convention)."""
        values = (znear, zfar, max_x, min_x, max_y, min_y, scale_xyz)
        dtype = _float_dtype(*values)
        znear, zfar, max_x, min_x, max_y, min_y, scale_xyz = (_as_tensor(v, dtype, self.device) for v in values)
        scale_xyz = scale_xyz.reshape(-1, 3)
        K = torch.zeros((self._N, 4, 4), dtype=dtype, device=self.device)
        K[:, 0, 0] = (2.0 / (max_x - min_x)) * scale_xyz[:, 0]
        K[:, 1, 1] = (2.0 / (max_y - min_y)) * scale_xyz[:, 1]
        K[:, 0, 3] = -(max_x + min_x) / (max_x - min_x)
        K[:, 1, 3] = -(max_y + min_y) / (max_y - min_y)
        K[:, 3, 3] = 1.0
        K[:, 2, 2] = (1.0 / (zfar - znear)) * scale_xyz[:, 2]
        K[:, 2, 3] = -znear / (zfar - znear)
        return K

    _projection_args = ("znear", "zfar", "max_x", "min_x", "max_y", "min_y", "scale_xyz")

    @staticmethod
    def _scaled_depth(depth: torch.Tensor, scale: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        """NDC z of view depth, from the projection's K[2, 2] (scale) and K[3, 2] (offset)."""
        return scale * depth + offset

    def is_perspective(self) -> bool:
        return False

    def in_ndc(self) -> bool:
        return True


# ---------------------------------------------------------------------------------------------
# Multi-view-geometry cameras (focal length and principal point, NDC or screen space)
# ---------------------------------------------------------------------------------------------


class _SfMCameras(CamerasBase):
    """Shared constructor and screen→NDC handling of PerspectiveCameras/OrthographicCameras."""

    _FIELDS = ("K", "R", "T", "focal_length", "principal_point", "_in_ndc", "image_size")
    _SHARED_FIELDS = ("_in_ndc",)
    _orthographic = False

    def __init__(
        self,
        focal_length=1.0,
        principal_point=((0.0, 0.0),),
        R: torch.Tensor = _R,
        T: torch.Tensor = _T,
        K: Optional[torch.Tensor] = None,
        device: Device = "cpu",
        in_ndc: bool = True,
        image_size: Optional[Union[List, Tuple, torch.Tensor]] = None,
    ) -> None:
        if not isinstance(in_ndc, bool):
            raise TypeError(f"{type(self).__name__}: in_ndc must be a bool; got {type(in_ndc).__name__}")
        extra = {}
        if image_size is not None:
            size = image_size if isinstance(image_size, torch.Tensor) else torch.tensor(image_size)
            extra["image_size"] = size.reshape(-1, 2)  # a bare (H, W) means one size for all
        super().__init__(
            device=device, focal_length=focal_length, principal_point=principal_point,
            R=R, T=T, K=K, _in_ndc=in_ndc, **extra,
        )
        if image_size is not None:
            if (self.image_size < 1).any():
                raise ValueError("image_size provided has invalid values (each side must be >= 1)")
        else:
            self.image_size = None
        if self.focal_length.ndim == 1:  # (N,) → (N, 1)
            self.focal_length = self.focal_length[:, None]
        if self.focal_length.ndim != 2 or self.focal_length.shape[1] not in (1, 2):
            shape = tuple(self.focal_length.shape)
            raise ValueError(f"focal_length must have shape (N,), (N, 1) or (N, 2); got {shape}")
        self.focal_length = self.focal_length.expand(-1, 2)
        if self.principal_point.ndim != 2 or self.principal_point.shape[1] != 2:
            raise ValueError(f"principal_point must have shape (N, 2); got {tuple(self.principal_point.shape)}")

    _projection_args = ("focal_length", "principal_point")

    def compute_projection_matrix(self, focal_length: torch.Tensor, principal_point: torch.Tensor) -> torch.Tensor:
        """The (N, 4, 4) calibration matrix K from focal lengths and principal points."""
        return _get_sfm_calibration_matrix(
            self._N, self.device, focal_length, principal_point, orthographic=self._orthographic
        )

    def unproject_points(
        self, xy_depth: torch.Tensor, world_coordinates: bool = True, from_ndc: bool = False, **kwargs: Any
    ) -> torch.Tensor:
        """Projection-space xy plus view depth → world (or view) points; from_ndc: xy is in NDC."""
        to_camera = self._to_projection_space(world_coordinates, **kwargs)
        if from_ndc:
            to_camera = to_camera.compose(self.get_ndc_camera_transform())
        if not self._orthographic:  # the projection stores 1/Z as z
            xy_depth = torch.cat((xy_depth[..., :2], 1.0 / xy_depth[..., 2:3]), dim=-1)
        return to_camera.inverse().transform_points(xy_depth)

    def get_principal_point(self, **kwargs: Any) -> torch.Tensor:
        """The (N, 2) principal point read back from the projection matrix."""
        proj = self.get_projection_transform(**kwargs).get_matrix()
        return proj[:, 3, :2] if self._orthographic else proj[:, 2, :2]

    def get_ndc_camera_transform(self, **kwargs: Any) -> Transform3d:
        """Identity in NDC; in screen space, undo the principal-point sign then scale to NDC.

        A screen-space principal point is given in image coordinates (+X right, +Y down) while
        projected points are in PyTorch3D's (+X left, +Y up), hence the shift by −2·p first.
        """
        if self.in_ndc():
            return Transform3d(device=self.device, dtype=torch.float32)
        principal_point = self.get_principal_point(**kwargs)
        fix = torch.eye(4, dtype=principal_point.dtype, device=self.device).repeat(self._N, 1, 1)
        fix[:, :2, 3] = -2.0 * principal_point
        fix_transform = Transform3d(matrix=fix.transpose(1, 2).contiguous(), device=self.device)
        image_size = kwargs.get("image_size", self.get_image_size())
        return fix_transform.compose(get_screen_to_ndc_transform(self, with_xyflip=False, image_size=image_size))

    def in_ndc(self) -> bool:
        return self._in_ndc


class PerspectiveCameras(_SfMCameras):
    """Pinhole cameras: x = fx·X/Z + px, y = fy·Y/Z + py, z = 1/Z (NDC or screen space).

    With in_ndc=False, focal_length and principal_point are in pixels and image_size=((H, W),) is
    needed for NDC/screen conversion.
    """

    _orthographic = False

    def is_perspective(self) -> bool:
        return True


class OrthographicCameras(_SfMCameras):
    """Orthographic cameras: x = fx·X + px, y = fy·Y + py, z = Z (NDC or screen space)."""

    _orthographic = True

    def is_perspective(self) -> bool:
        return False


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _check_K(K: torch.Tensor, n: int) -> None:
    if not isinstance(K, torch.Tensor) or tuple(K.shape) != (n, 4, 4):
        shape = tuple(K.shape) if isinstance(K, torch.Tensor) else type(K).__name__
        raise ValueError(f"Expected K to have shape ({n}, 4, 4); got {shape}")


def _get_sfm_calibration_matrix(
    N: int, device: torch.device, focal_length, principal_point, orthographic: bool = False
) -> torch.Tensor:
    """(N, 4, 4) K of the multi-view cameras (column-vector convention).

    Perspective: [[fx, 0, px, 0], [0, fy, py, 0], [0, 0, 0, 1], [0, 0, 1, 0]];
    orthographic: [[fx, 0, 0, px], [0, fy, 0, py], [0, 0, 1, 0], [0, 0, 0, 1]].
    """
    dtype = _float_dtype(focal_length, principal_point)
    focal_length = _as_tensor(focal_length, dtype, device)
    principal_point = _as_tensor(principal_point, dtype, device).reshape(-1, 2)
    if focal_length.ndim in (0, 1):
        fx = fy = focal_length
    elif focal_length.shape[1] == 1:
        fx = fy = focal_length[:, 0]
    else:
        fx, fy = focal_length.unbind(1)
    px, py = principal_point.unbind(1)
    K = torch.zeros((N, 4, 4), dtype=dtype, device=device)
    K[:, 0, 0] = fx
    K[:, 1, 1] = fy
    if orthographic:
        K[:, 0, 3] = px
        K[:, 1, 3] = py
        K[:, 2, 2] = 1.0
        K[:, 3, 3] = 1.0
    else:
        K[:, 0, 2] = px
        K[:, 1, 2] = py
        K[:, 3, 2] = 1.0
        K[:, 2, 3] = 1.0
    return K


def get_world_to_view_transform(R: torch.Tensor = _R, T: torch.Tensor = _T) -> Transform3d:
    """World → view transform `X @ R + T` for R (N, 3, 3) and T (N, 3) of equal batch."""
    if not isinstance(R, torch.Tensor) or not isinstance(T, torch.Tensor):
        raise TypeError("R and T must be torch tensors")
    if T.dim() != 2 or T.shape[1:] != (3,):
        raise ValueError(f"Expected T to have shape (N, 3); got {tuple(T.shape)}")
    if R.dim() != 3 or R.shape[1:] != (3, 3):
        raise ValueError(f"Expected R to have shape (N, 3, 3); got {tuple(R.shape)}")
    if T.shape[0] != R.shape[0]:
        raise ValueError(f"Expected R, T to have the same batch dimension; got {R.shape[0]}, {T.shape[0]}")
    return Rotate(R, device=R.device).compose(Translate(T, device=T.device))


def get_ndc_to_screen_transform(
    cameras: CamerasBase, with_xyflip: bool = False, image_size: Optional[Union[List, Tuple, torch.Tensor]] = None
) -> Transform3d:
    """PyTorch3D NDC → screen: x_s = s·x − W/2 (s = min(H, W)/2), then optionally flip x and y.

    With the flip, x_s = W/2 − s·x_ndc: NDC +1 (left edge) maps to 0 and pixel centres to +0.5.
    """
    if image_size is None:
        raise ValueError("For NDC to screen conversion, image_size=(height, width) needs to be specified.")
    size = image_size if isinstance(image_size, torch.Tensor) else torch.tensor(image_size, device=cameras.device)
    size = size.to(device=cameras.device, dtype=_float_dtype(size)).reshape(-1, 2)
    height, width = size.unbind(1)
    scale = size.min(dim=1).values / 2.0
    K = torch.zeros((cameras._N, 4, 4), dtype=size.dtype, device=cameras.device)
    K[:, 0, 0] = scale
    K[:, 1, 1] = scale
    K[:, 0, 3] = -width / 2.0
    K[:, 1, 3] = -height / 2.0
    K[:, 2, 2] = 1.0
    K[:, 3, 3] = 1.0
    transform = Transform3d(matrix=K.transpose(1, 2).contiguous(), device=cameras.device)
    if with_xyflip:
        flip = torch.diag(torch.tensor([-1.0, -1.0, 1.0, 1.0], dtype=size.dtype, device=cameras.device))
        transform = transform.compose(Transform3d(matrix=flip.expand(cameras._N, 4, 4).contiguous()))
    return transform


def get_screen_to_ndc_transform(
    cameras: CamerasBase, with_xyflip: bool = False, image_size: Optional[Union[List, Tuple, torch.Tensor]] = None
) -> Transform3d:
    """Screen → PyTorch3D NDC: the inverse of `get_ndc_to_screen_transform`."""
    return get_ndc_to_screen_transform(cameras, with_xyflip=with_xyflip, image_size=image_size).inverse()


def _broadcast_args(*args: Any, device: Device = "cpu", dtype: torch.dtype = torch.float32) -> List[torch.Tensor]:
    """Each argument → tensor with a batch dimension, then batch-of-1 broadcast to the max batch.

    Tensors keep their dtype; other inputs become `dtype`. Mismatched batches raise ValueError.
    """
    device_ = make_device(device)
    tensors = []
    for a in args:
        t = a.to(device_) if isinstance(a, torch.Tensor) else torch.tensor(a, dtype=dtype, device=device_)
        tensors.append(t.view(1) if t.dim() == 0 else t)
    sizes = [t.shape[0] for t in tensors]
    n = max(sizes)
    if any(s not in (1, n) for s in sizes):
        raise ValueError(f"Got non-broadcastable sizes {sizes}")
    return [t.expand(n, *t.shape[1:]) for t in tensors]


def camera_position_from_spherical_angles(
    distance: _BatchFloat, elevation: _BatchFloat, azimuth: _BatchFloat, degrees: bool = True, device: Device = "cpu"
) -> torch.Tensor:
    """Camera positions (N, 3) at `distance` from the origin: elevation above the xz-plane,
    azimuth about +Y measured from +Z (x = d·cos(e)·sin(a), y = d·sin(e), z = d·cos(e)·cos(a))."""
    dist, elev, azim = _broadcast_args(distance, elevation, azimuth, device=device)
    if degrees:
        elev = math.pi / 180.0 * elev
        azim = math.pi / 180.0 * azim
    x = dist * torch.cos(elev) * torch.sin(azim)
    y = dist * torch.sin(elev)
    z = dist * torch.cos(elev) * torch.cos(azim)
    return torch.stack([x, y, z], dim=1).view(-1, 3)


def look_at_rotation(camera_position, at=((0, 0, 0),), up=((0, 1, 0),), device: Device = "cpu") -> torch.Tensor:
    """Rotations (N, 3, 3) for cameras at `camera_position` looking at `at` with world `up`.

    The columns of R are the camera's x, y, z axes in world coordinates: z towards `at`,
    x = normalize(up × z), y = normalize(z × x); if x degenerates (up parallel to z) it is
    rebuilt as normalize(y × z), as PyTorch3D does.
    """
    camera_position, at, up = _broadcast_args(camera_position, at, up, device=device)
    for t, name in ((camera_position, "camera_position"), (at, "at"), (up, "up")):
        if t.dim() != 2 or t.shape[-1] != 3:
            raise ValueError(f"Expected arg {name} to have shape (N, 3); got {tuple(t.shape)}")
    z_axis = F.normalize(at - camera_position, eps=1e-5)
    x_axis = F.normalize(torch.cross(up, z_axis, dim=1), eps=1e-5)
    y_axis = F.normalize(torch.cross(z_axis, x_axis, dim=1), eps=1e-5)
    is_close = torch.isclose(x_axis, x_axis.new_zeros(()), atol=5e-3).all(dim=1, keepdim=True)
    if is_close.any():
        replacement = F.normalize(torch.cross(y_axis, z_axis, dim=1), eps=1e-5)
        x_axis = torch.where(is_close, replacement, x_axis)
    R = torch.cat((x_axis[:, None, :], y_axis[:, None, :], z_axis[:, None, :]), dim=1)
    return R.transpose(1, 2)


def look_at_view_transform(
    dist: _BatchFloat = 1.0,
    elev: _BatchFloat = 0.0,
    azim: _BatchFloat = 0.0,
    degrees: bool = True,
    eye: Optional[Union[Sequence, torch.Tensor]] = None,
    at=((0, 0, 0),),
    up=((0, 1, 0),),
    device: Device = "cpu",
) -> Tuple[torch.Tensor, torch.Tensor]:
    """(R, T) of look-at cameras, from spherical angles about `at` or from an explicit `eye`.

    C = eye, or `at` + camera_position_from_spherical_angles(dist, elev, azim);
    R = look_at_rotation(C, at, up); T = −Rᵀ C, so that C @ R + T = 0.
    """
    if eye is not None:
        eye, at, up = _broadcast_args(eye, at, up, device=device)
        C = eye
    else:
        dist, elev, azim, at, up = _broadcast_args(dist, elev, azim, at, up, device=device)
        C = camera_position_from_spherical_angles(dist, elev, azim, degrees=degrees, device=device) + at
    R = look_at_rotation(C, at, up, device=device)
    T = -torch.bmm(R.transpose(1, 2), C[:, :, None])[:, :, 0]
    return R, T
