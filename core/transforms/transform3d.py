"""Batched 3D homogeneous transforms in PyTorch3D's row-vector convention.

A point p (as a row vector [x, y, z, 1]) is mapped by `p @ M`, where M has shape (N, 4, 4): the
translation sits in the last *row*. Composition `a.compose(b)` applies a first, then b, i.e. its
matrix is `A @ B`. Everything is plain tensor algebra, so gradients flow through all operations.

Unlike PyTorch3D, which casts inputs to float32 by default, floating tensors keep their dtype
(float64 works end to end); mixed dtypes are promoted when matrices are multiplied.
"""
from __future__ import annotations

import math
import os
import warnings
from typing import List, Optional, Sequence, Union

import torch

Device = Union[str, torch.device]
Index = Union[int, slice, Sequence[int], torch.Tensor]


def _make_device(device: Device) -> torch.device:
    """Return a torch.device; a bare "cuda" gets the current CUDA device index."""
    device = torch.device(device) if isinstance(device, str) else device
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{torch.cuda.current_device()}")
    return device


def _broadcast_bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched a @ b where either batch may be 1; dtypes are promoted to a common one."""
    if a.dim() == 2:
        a = a[None]
    if b.dim() == 2:
        b = b[None]
    if a.shape[0] != b.shape[0]:
        if a.shape[0] != 1 and b.shape[0] != 1:
            raise ValueError(f"Expected batch dim for bmm to be equal or 1; got {a.shape[0]}, {b.shape[0]}")
        if a.shape[0] == 1:
            a = a.expand(b.shape[0], -1, -1)
        else:
            b = b.expand(a.shape[0], -1, -1)
    dtype = torch.promote_types(a.dtype, b.dtype)
    return a.to(dtype).bmm(b.to(dtype))


class Transform3d:
    """A batch of N 4x4 transforms applied to row vectors (`points @ M`).

    A Transform3d keeps its own matrix plus a list of transforms composed after it, so that
    `inverse()` can invert each piece with its cheap closed form (transpose for rotations,
    negation for translations) before falling back to a general matrix inverse.
    """

    def __init__(
        self,
        dtype: torch.dtype = torch.float32,
        device: Device = "cpu",
        matrix: Optional[torch.Tensor] = None,
    ) -> None:
        if matrix is None:
            self._matrix = torch.eye(4, dtype=dtype, device=_make_device(device)).view(1, 4, 4)
        else:
            if not isinstance(matrix, torch.Tensor):
                raise TypeError(f"matrix must be a torch.Tensor; got {type(matrix).__name__}")
            if matrix.ndim not in (2, 3) or matrix.shape[-2:] != (4, 4):
                raise ValueError(f"matrix must have shape (4, 4) or (N, 4, 4); got {tuple(matrix.shape)}")
            dtype, device = matrix.dtype, matrix.device
            self._matrix = matrix.view(-1, 4, 4)
        self._transforms: List["Transform3d"] = []
        self.dtype = dtype
        self.device = _make_device(device)

    def __len__(self) -> int:
        return self.get_matrix().shape[0]

    def __getitem__(self, index: Index) -> "Transform3d":
        """Select transforms of the batch; an int keeps the batch dimension (N=1)."""
        if isinstance(index, int):
            index = [index]
        return Transform3d(matrix=self.get_matrix()[index])

    def compose(self, *others: "Transform3d") -> "Transform3d":
        """Return a transform applying self first, then each of `others` in order."""
        for other in others:
            if not isinstance(other, Transform3d):
                raise ValueError(f"Only possible to compose Transform3d objects; got {type(other).__name__}")
        out = Transform3d(dtype=self.dtype, device=self.device)
        out._matrix = self._matrix.clone()
        out._transforms = self._transforms + list(others)
        return out

    def get_matrix(self) -> torch.Tensor:
        """The (N, 4, 4) matrix of the whole composition (row-vector convention)."""
        matrix = self._matrix.clone()
        for other in self._transforms:
            matrix = _broadcast_bmm(matrix, other.get_matrix())
        return matrix

    def _get_matrix_inverse(self) -> torch.Tensor:
        """Inverse of this transform's own matrix (subclasses override with closed forms)."""
        return torch.inverse(self._matrix)

    def inverse(self, invert_composed: bool = False) -> "Transform3d":
        """Return the inverse transform.

        With invert_composed=False every composed piece is inverted on its own and the pieces are
        chained in reverse order; with True the composed matrix is inverted at once.
        """
        tinv = Transform3d(dtype=self.dtype, device=self.device)
        if invert_composed:
            tinv._matrix = torch.inverse(self.get_matrix())
            return tinv
        i_matrix = self._get_matrix_inverse()
        if self._transforms:
            last = Transform3d(dtype=self.dtype, device=self.device)
            last._matrix = i_matrix
            tinv._transforms = [t.inverse() for t in reversed(self._transforms)] + [last]
        else:
            tinv._matrix = i_matrix
        return tinv

    def stack(self, *others: "Transform3d") -> "Transform3d":
        """A batch holding self's transforms followed by those of each of `others`.

        Stacking is concatenation along the batch: `a.stack(b).transform_points(cat([xa, xb]))`
        equals `cat([a.transform_points(xa), b.transform_points(xb)])`. The result keeps only
        the composed matrices (its inverse is a general matrix inverse).
        """
        for other in others:
            if not isinstance(other, Transform3d):
                raise ValueError(f"Only possible to stack Transform3d objects; got {type(other).__name__}")
        out = Transform3d(dtype=self.dtype, device=self.device)
        out._matrix = torch.cat([t.get_matrix() for t in (self, *others)], dim=0)
        return out

    def transform_points(self, points: torch.Tensor, eps: Optional[float] = None) -> torch.Tensor:
        """Apply the transform to points (P, 3) or (N, P, 3), with the homogeneous divide.

        With `eps`, the divisor w is clamped to |w| >= eps keeping its sign (w == 0 counts as
        positive), which keeps gradients finite for points near the camera plane.
        """
        if not isinstance(points, torch.Tensor):
            raise TypeError(f"points must be a torch.Tensor; got {type(points).__name__}")
        if points.dim() not in (2, 3) or points.shape[-1] != 3:
            raise ValueError(f"Expected points to have shape (P, 3) or (N, P, 3); got {tuple(points.shape)}")
        batch = points[None] if points.dim() == 2 else points
        ones = torch.ones(*batch.shape[:2], 1, dtype=batch.dtype, device=batch.device)
        homogeneous = torch.cat([batch, ones], dim=2)
        out = _broadcast_bmm(homogeneous, self.get_matrix())
        denom = out[..., 3:]
        if eps is not None:
            sign = denom.sign() + (denom == 0.0).type_as(denom)
            denom = sign * torch.clamp(denom.abs(), eps)
        out = out[..., :3] / denom
        if out.shape[0] == 1 and points.dim() == 2:
            out = out.reshape(points.shape)
        return out

    def transform_normals(self, normals: torch.Tensor) -> torch.Tensor:
        """Apply the inverse transpose of the 3x3 part to normals (P, 3) or (N, P, 3); no renormalisation."""
        if not isinstance(normals, torch.Tensor):
            raise TypeError(f"normals must be a torch.Tensor; got {type(normals).__name__}")
        if normals.dim() not in (2, 3) or normals.shape[-1] != 3:
            raise ValueError(f"Expected normals to have shape (P, 3) or (N, P, 3); got {tuple(normals.shape)}")
        mat = self.get_matrix()[:, :3, :3]
        out = _broadcast_bmm(normals, mat.transpose(1, 2).inverse())
        if out.shape[0] == 1 and normals.dim() == 2:
            out = out.reshape(normals.shape)
        return out

    def translate(self, *args, **kwargs) -> "Transform3d":
        """self followed by Translate(*args)."""
        return self.compose(Translate(*args, device=self.device, **kwargs))

    def scale(self, *args, **kwargs) -> "Transform3d":
        """self followed by Scale(*args)."""
        return self.compose(Scale(*args, device=self.device, **kwargs))

    def rotate(self, *args, **kwargs) -> "Transform3d":
        """self followed by Rotate(*args)."""
        return self.compose(Rotate(*args, device=self.device, **kwargs))

    def rotate_axis_angle(self, *args, **kwargs) -> "Transform3d":
        """self followed by RotateAxisAngle(*args), e.g. `rotate_axis_angle(90, "Y")`."""
        return self.compose(RotateAxisAngle(*args, device=self.device, **kwargs))

    def clone(self) -> "Transform3d":
        """A deep copy (tensors cloned, so still connected to the autograd graph)."""
        other = Transform3d(dtype=self.dtype, device=self.device)
        other._matrix = self._matrix.clone()
        other._transforms = [t.clone() for t in self._transforms]
        return other

    def to(self, device: Device, copy: bool = False, dtype: Optional[torch.dtype] = None) -> "Transform3d":
        """Move to `device` (and `dtype`); returns self when nothing changes and copy is False."""
        device_ = _make_device(device)
        dtype_ = self.dtype if dtype is None else dtype
        unchanged = self.device == device_ and self.dtype == dtype_
        if unchanged and not copy:
            return self
        other = self.clone()
        if unchanged:
            return other
        other.device, other.dtype = device_, dtype_
        other._matrix = other._matrix.to(device=device_, dtype=dtype_)
        other._transforms = [t.to(device_, copy=copy, dtype=dtype_) for t in other._transforms]
        return other

    def cpu(self) -> "Transform3d":
        return self.to("cpu")

    def cuda(self) -> "Transform3d":
        return self.to("cuda")


def _pick_dtype(value: object, dtype: Optional[torch.dtype]) -> torch.dtype:
    """Explicit dtype, else the dtype of a floating tensor input, else float32."""
    if dtype is not None:
        return dtype
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.dtype
    return torch.float32


def _pick_device(value: object, device: Optional[Device]) -> torch.device:
    """Explicit device, else the device of a tensor input, else the CPU."""
    if device is not None:
        return _make_device(device)
    if isinstance(value, torch.Tensor):
        return value.device
    return torch.device("cpu")


def _handle_input(
    x, y, z, dtype: torch.dtype, device: torch.device, name: str, allow_singleton: bool = False
) -> torch.Tensor:
    """Turn (x, y, z) scalars/1-D tensors, or one (N, 3) tensor x, into an (N, 3) tensor."""
    if isinstance(x, torch.Tensor) and x.dim() == 2:
        if x.shape[1] != 3:
            raise ValueError(f"{name}: expected a tensor of shape (N, 3); got {tuple(x.shape)}")
        if y is not None or z is not None:
            raise ValueError(f"{name}: expected y and z to be None when x has shape (N, 3)")
        return x.to(device=device, dtype=dtype)
    if allow_singleton and y is None and z is None:
        y = z = x
    if y is None or z is None:
        raise ValueError(f"{name}: give x, y and z, or one (N, 3) tensor")
    coords = []
    for c in (x, y, z):
        if isinstance(c, torch.Tensor):
            t = c.to(device=device, dtype=dtype)
        else:
            t = torch.tensor(c, dtype=dtype, device=device)
        t = t.view(1) if t.dim() == 0 else t
        if t.dim() != 1:
            raise ValueError(f"{name}: each coordinate must be a scalar or 1-D tensor; got shape {tuple(t.shape)}")
        coords.append(t)
    n = max(c.shape[0] for c in coords)
    if any(c.shape[0] not in (1, n) for c in coords):
        raise ValueError(f"{name}: got non-broadcastable sizes {[c.shape[0] for c in coords]}")
    return torch.stack([c.expand(n) for c in coords], dim=1)


class Translate(Transform3d):
    """Translation by (x, y, z): the vector lands in the last row of the matrix."""

    def __init__(self, x, y=None, z=None, dtype: Optional[torch.dtype] = None, device: Optional[Device] = None) -> None:
        dtype_, device_ = _pick_dtype(x, dtype), _pick_device(x, device)
        xyz = _handle_input(x, y, z, dtype_, device_, "Translate")
        super().__init__(dtype=dtype_, device=device_)
        mat = torch.eye(4, dtype=dtype_, device=device_).repeat(xyz.shape[0], 1, 1)
        mat[:, 3, :3] = xyz
        self._matrix = mat

    def _get_matrix_inverse(self) -> torch.Tensor:
        mask = torch.ones(1, 4, 4, dtype=self._matrix.dtype, device=self._matrix.device)
        mask[0, 3, :3] = -1.0
        return self._matrix * mask


class Scale(Transform3d):
    """Axis-aligned scaling; a single value scales all three axes."""

    def __init__(self, x, y=None, z=None, dtype: Optional[torch.dtype] = None, device: Optional[Device] = None) -> None:
        dtype_, device_ = _pick_dtype(x, dtype), _pick_device(x, device)
        xyz = _handle_input(x, y, z, dtype_, device_, "Scale", allow_singleton=True)
        super().__init__(dtype=dtype_, device=device_)
        ones = torch.ones(xyz.shape[0], 1, dtype=dtype_, device=device_)
        self._matrix = torch.diag_embed(torch.cat([xyz, ones], dim=1))

    def _get_matrix_inverse(self) -> torch.Tensor:
        return torch.diag_embed(1.0 / torch.diagonal(self._matrix, dim1=1, dim2=2))


def _check_valid_rotation_matrix(R: torch.Tensor, tol: float) -> None:
    """Warn unless R (N, 3, 3) is orthogonal within `tol` and has determinant 1."""
    with torch.no_grad():
        eye = torch.eye(3, dtype=R.dtype, device=R.device).expand(R.shape[0], 3, 3)
        orthogonal = torch.allclose(R.bmm(R.transpose(1, 2)), eye, atol=tol)
        det = torch.linalg.det(R)
        if not (orthogonal and torch.allclose(det, torch.ones_like(det))):
            warnings.warn("R is not a valid rotation matrix")


class Rotate(Transform3d):
    """Rotation by R (3, 3) or (N, 3, 3), applied to row vectors as `p @ R`.

    As in PyTorch3D, R is checked (orthogonal within `orthogonal_tol`, determinant 1; a warning
    otherwise) only when the environment variable PYTORCH3D_CHECK_ROTATION_MATRICES is "1",
    since the check costs a host synchronisation.
    """

    def __init__(
        self,
        R: torch.Tensor,
        dtype: Optional[torch.dtype] = None,
        device: Optional[Device] = None,
        orthogonal_tol: float = 1e-5,
    ) -> None:
        if not isinstance(R, torch.Tensor):
            raise TypeError(f"Rotate: R must be a torch.Tensor; got {type(R).__name__}")
        dtype_, device_ = _pick_dtype(R, dtype), _pick_device(R, device)
        if R.dim() == 2:
            R = R[None]
        if R.dim() != 3 or R.shape[-2:] != (3, 3):
            raise ValueError(f"Rotate: R must have shape (3, 3) or (N, 3, 3); got {tuple(R.shape)}")
        super().__init__(dtype=dtype_, device=device_)
        mat = torch.eye(4, dtype=dtype_, device=device_).repeat(R.shape[0], 1, 1)
        R = R.to(device=device_, dtype=dtype_)
        if os.environ.get("PYTORCH3D_CHECK_ROTATION_MATRICES", "0") == "1":
            _check_valid_rotation_matrix(R, orthogonal_tol)
        mat[:, :3, :3] = R
        self._matrix = mat

    def _get_matrix_inverse(self) -> torch.Tensor:
        return self._matrix.transpose(1, 2).contiguous()


def _axis_angle_matrix(axis: str, angle: torch.Tensor) -> torch.Tensor:
    """(N, 3, 3) matrices rotating column vectors by `angle` (radians, (N,)) about X, Y or Z,
    counter-clockwise when looking down the axis (right-handed)."""
    cos, sin = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(angle), torch.zeros_like(angle)
    rows = {
        "X": ((one, zero, zero), (zero, cos, -sin), (zero, sin, cos)),
        "Y": ((cos, zero, sin), (zero, one, zero), (-sin, zero, cos)),
        "Z": ((cos, -sin, zero), (sin, cos, zero), (zero, zero, one)),
    }[axis]
    return torch.stack([torch.stack(row, dim=-1) for row in rows], dim=-2)


class RotateAxisAngle(Rotate):
    """Rotation by `angle` about the X, Y or Z axis (PyTorch3D's `RotateAxisAngle`).

    angle: a scalar or an (N,) tensor, in degrees unless degrees=False; every batch element
    turns about the same axis. A positive angle turns counter-clockwise looking down the axis
    towards the origin (right-handed), e.g. 90° about Z maps (1, 0, 0) to (0, 1, 0).
    """

    def __init__(
        self,
        angle,
        axis: str = "X",
        degrees: bool = True,
        dtype: Optional[torch.dtype] = None,
        device: Optional[Device] = None,
    ) -> None:
        axis = axis.upper() if isinstance(axis, str) else axis
        if axis not in ("X", "Y", "Z"):
            raise ValueError(f"Expected axis to be one of ['X', 'Y', 'Z']; got {axis!r}")
        dtype_, device_ = _pick_dtype(angle, dtype), _pick_device(angle, device)
        if isinstance(angle, torch.Tensor):
            if angle.dim() > 1:
                raise ValueError(f"RotateAxisAngle: expected angle of shape (N,); got {tuple(angle.shape)}")
            angle = angle.to(device=device_, dtype=dtype_)
        else:
            angle = torch.tensor(angle, dtype=dtype_, device=device_)
        angle = angle.reshape(-1)
        if degrees:
            angle = angle * (math.pi / 180.0)
        # The matrix for column vectors, transposed for PyTorch3D's row vectors.
        super().__init__(_axis_angle_matrix(axis, angle).transpose(1, 2), dtype=dtype_, device=device_)
