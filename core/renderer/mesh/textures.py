"""Mesh textures: per-vertex features (`TexturesVertex`), UV-mapped images (`TexturesUV`) and
per-face texel grids (`TexturesAtlas`).

Both follow PyTorch3D's classes: a batch of N textures, one per mesh, available as a list, a padded
tensor and (for vertex features) a packed tensor, with `sample_textures(fragments, ...)` returning
the texture value at every rasterized fragment, shape (N, H, W, K, C). Everything is
differentiable with respect to the feature/map/uv tensors.
"""
from __future__ import annotations

import itertools
from typing import Any, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F

from ..utils import Device, make_device
from .utils import interpolate_face_attributes

TensorOrList = Union[torch.Tensor, Sequence[torch.Tensor]]
Index = Union[int, slice, Sequence[int], torch.Tensor]


def _list_to_padded(items: Sequence[torch.Tensor], pad_value: float = 0.0) -> torch.Tensor:
    """Stack tensors (L_i, ...) into (N, max L_i, ...), padding the first dimension with `pad_value`.

    Only the first dimension may differ: (V_i, C) vertex features and (F_i, R, R, C) atlases
    alike are padded along it.
    """
    return torch.nn.utils.rnn.pad_sequence(list(items), batch_first=True, padding_value=pad_value)


def _padded_to_list(padded: torch.Tensor, split_size: Sequence[int]) -> List[torch.Tensor]:
    """Inverse of `_list_to_padded`: element i keeps its first split_size[i] rows."""
    return [padded[i, : int(n)] for i, n in enumerate(split_size)]


def _check_tensor(name: str, value: Any) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(value).__name__}")
    return value


def _index_list(index: Index, n: int) -> Union[int, List[int]]:
    """Normalise an index into an int (single element) or a list of ints (a sub-batch)."""
    if isinstance(index, bool):
        raise TypeError("textures cannot be indexed with a bool")
    if isinstance(index, int):
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for a batch of {n} textures")
        return index % n
    if isinstance(index, slice):
        return list(range(n))[index]
    if isinstance(index, torch.Tensor):
        if index.dtype == torch.bool:
            if index.shape != (n,):
                raise IndexError(f"a boolean index must have shape ({n},); got {tuple(index.shape)}")
            return index.nonzero().flatten().tolist()
        if index.dim() > 1 or index.is_floating_point():
            raise IndexError("a tensor index must be a 1D integer or boolean tensor")
        index = index.flatten().tolist()
    if isinstance(index, (list, tuple)):
        out = []
        for i in index:
            if not isinstance(i, int) or isinstance(i, bool) or not -n <= i < n:
                raise IndexError(f"invalid index {i!r} for a batch of {n} textures")
            out.append(i % n)
        return out
    raise TypeError(f"textures index must be an int, slice, list or tensor; got {type(index).__name__}")


class TexturesBase:
    """Shared batch bookkeeping for the texture classes."""

    _N: int
    device: torch.device
    valid: torch.Tensor

    def isempty(self) -> bool:
        """True when the batch holds no textures (or every element is marked invalid)."""
        return self._N == 0 or bool(self.valid.eq(False).all())

    def _check_extend(self, N: int) -> None:
        if not isinstance(N, int) or isinstance(N, bool):
            raise ValueError("N must be an integer.")
        if N <= 0:
            raise ValueError("N must be > 0.")

    @staticmethod
    def _repeat_list(values: Sequence[int], N: int) -> List[int]:
        """Repeat every entry N times consecutively: [a, b] → [a, a, b, b] for N = 2."""
        return list(itertools.chain.from_iterable([v] * N for v in values))

    def to(self, device: Device) -> "TexturesBase":
        """Move every tensor (and list of tensors) to `device`, in place; returns self."""
        device = make_device(device)
        for key, value in list(vars(self).items()):
            if isinstance(value, torch.Tensor):
                setattr(self, key, value.to(device))
            elif isinstance(value, (list, tuple)) and value and all(isinstance(v, torch.Tensor) for v in value):
                setattr(self, key, [v.to(device) for v in value])
        self.device = device
        return self

    def sample_textures(self, fragments: Any, **kwargs: Any) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError()


class TexturesVertex(TexturesBase):
    """Per-vertex features (e.g. RGB), interpolated across faces with barycentric coordinates."""

    def __init__(self, verts_features: TensorOrList) -> None:
        """verts_features: list of N tensors (V_i, C), or a padded tensor (N, V, C)."""
        if isinstance(verts_features, (list, tuple)):
            verts_features = list(verts_features)
            for i, f in enumerate(verts_features):
                _check_tensor(f"verts_features[{i}]", f)
                if f.dim() != 2:
                    raise ValueError(
                        f"Expected verts_features to be a list of tensors of shape (V, C); "
                        f"element {i} has shape {tuple(f.shape)}"
                    )
            if verts_features:
                channels = {f.shape[1] for f in verts_features}
                if len(channels) > 1:
                    raise ValueError(f"verts_features elements have different channel counts {sorted(channels)}")
                devices = {f.device for f in verts_features}
                if len(devices) > 1:
                    raise ValueError("verts_features elements must all be on the same device")
            self._verts_features_list: Optional[List[torch.Tensor]] = verts_features
            self._verts_features_padded: Optional[torch.Tensor] = None
            self._N = len(verts_features)
            self.device = verts_features[0].device if verts_features else torch.device("cpu")
            # Meshes may overwrite this with its own vertex counts.
            self._num_verts_per_mesh = [len(f) for f in verts_features]
        elif isinstance(verts_features, torch.Tensor):
            if verts_features.dim() != 3:
                raise ValueError(
                    f"Expected verts_features to be of shape (N, V, C); got {tuple(verts_features.shape)}"
                )
            self._verts_features_padded = verts_features
            self._verts_features_list = None
            self._N = verts_features.shape[0]
            self.device = verts_features.device
            self._num_verts_per_mesh = [verts_features.shape[1]] * self._N
        else:
            raise TypeError(
                f"verts_features must be a tensor or a list of tensors; got {type(verts_features).__name__}"
            )
        self.valid = torch.ones((self._N,), dtype=torch.bool, device=self.device)

    def __repr__(self) -> str:
        return f"TexturesVertex(N={self._N}, num_verts_per_mesh={self._num_verts_per_mesh})"

    def _channels(self) -> int:
        if self._verts_features_padded is not None:
            return self._verts_features_padded.shape[-1]
        return self._verts_features_list[0].shape[-1] if self._verts_features_list else 3

    def verts_features_list(self) -> List[torch.Tensor]:
        """List of N tensors (V_i, C)."""
        if self._verts_features_list is None:
            if self.isempty():
                self._verts_features_list = [
                    torch.empty((0, self._channels()), dtype=torch.float32, device=self.device)
                ] * self._N
            else:
                self._verts_features_list = _padded_to_list(self._verts_features_padded, self._num_verts_per_mesh)
        return self._verts_features_list

    def verts_features_padded(self) -> torch.Tensor:
        """Tensor (N, max V_i, C), zero padded."""
        if self._verts_features_padded is None:
            if self.isempty():
                self._verts_features_padded = torch.zeros(
                    (self._N, 0, self._channels()), dtype=torch.float32, device=self.device
                )
            else:
                self._verts_features_padded = _list_to_padded(self._verts_features_list, pad_value=0.0)
        return self._verts_features_padded

    def verts_features_packed(self) -> torch.Tensor:
        """Tensor (sum V_i, C): the list concatenated, matching Meshes' packed vertices."""
        if self.isempty():
            return torch.zeros((0, self._channels()), dtype=torch.float32, device=self.device)
        return torch.cat(self.verts_features_list(), dim=0)

    def check_shapes(self, batch_size: int, max_num_verts: int, max_num_faces: int) -> bool:
        """Whether the padded features match a mesh batch with these sizes."""
        return tuple(self.verts_features_padded().shape[0:2]) == (batch_size, max_num_verts)

    def sample_textures(
        self, fragments: Any, faces_packed: Optional[torch.Tensor] = None, **kwargs: Any
    ) -> torch.Tensor:
        """Interpolate vertex features at each fragment → (N, H, W, K, C); zeros where empty.

        faces_packed: (F, 3) packed vertex indices of the mesh batch (required).
        """
        if faces_packed is None:
            raise ValueError("TexturesVertex.sample_textures needs faces_packed (the meshes' packed faces)")
        faces_verts_features = self.verts_features_packed()[faces_packed]
        return interpolate_face_attributes(fragments.pix_to_face, fragments.bary_coords, faces_verts_features)

    def faces_verts_textures_packed(self, faces_packed: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Features at each face's three vertices, (F, 3, C)."""
        if faces_packed is None:
            raise ValueError("faces_packed is required")
        return self.verts_features_packed()[faces_packed]

    def clone(self) -> "TexturesVertex":
        tex = self.__class__(self.verts_features_padded().clone())
        if self._verts_features_list is not None:
            tex._verts_features_list = [f.clone() for f in self._verts_features_list]
        tex._num_verts_per_mesh = list(self._num_verts_per_mesh)
        tex.valid = self.valid.clone()
        return tex

    def detach(self) -> "TexturesVertex":
        tex = self.__class__(self.verts_features_padded().detach())
        if self._verts_features_list is not None:
            tex._verts_features_list = [f.detach() for f in self._verts_features_list]
        tex._num_verts_per_mesh = list(self._num_verts_per_mesh)
        tex.valid = self.valid.detach()
        return tex

    def __getitem__(self, index: Index) -> "TexturesVertex":
        idx = _index_list(index, self._N)
        feats = self.verts_features_list()
        if isinstance(idx, int):
            idx = [idx]
        if not idx:
            tex = self.__class__(
                torch.empty((0, 0, self._channels()), dtype=torch.float32, device=self.device)
            )
        else:
            tex = self.__class__([feats[i] for i in idx])
        tex._num_verts_per_mesh = [self._num_verts_per_mesh[i] for i in idx]
        return tex

    def extend(self, N: int) -> "TexturesVertex":
        """Repeat each texture N times consecutively (batch [a, b] → [a, a, b, b] for N = 2)."""
        self._check_extend(N)
        tex = self.__class__(self.verts_features_padded().repeat_interleave(N, dim=0))
        tex._num_verts_per_mesh = self._repeat_list(self._num_verts_per_mesh, N)
        return tex

    def join_batch(self, textures: Sequence["TexturesVertex"]) -> "TexturesVertex":
        """A new batch: self's textures followed by those of each element of `textures`."""
        if not all(isinstance(t, TexturesVertex) for t in textures):
            raise ValueError("All textures must be of type TexturesVertex.")
        feats = list(self.verts_features_list())
        counts = list(self._num_verts_per_mesh)
        for t in textures:
            feats += t.verts_features_list()
            counts += t._num_verts_per_mesh
        tex = self.__class__(feats)
        tex._num_verts_per_mesh = counts
        return tex

    def join_scene(self) -> "TexturesVertex":
        """A batch of one texture holding all vertices (for a mesh batch joined into one scene)."""
        return self.__class__([torch.cat(self.verts_features_list(), dim=0)])


def _pad_texture_maps(maps: Sequence[torch.Tensor], align_corners: bool) -> torch.Tensor:
    """Stack maps (H_i, W_i, C) into (N, max H, max W, C), bilinearly resizing the smaller ones."""
    max_h = max(m.shape[0] for m in maps)
    max_w = max(m.shape[1] for m in maps)
    out = []
    for m in maps:
        if tuple(m.shape[:2]) != (max_h, max_w):
            resized = F.interpolate(
                m.permute(2, 0, 1)[None], size=(max_h, max_w), mode="bilinear", align_corners=align_corners
            )
            m = resized[0].permute(1, 2, 0)
        out.append(m)
    return torch.stack(out, dim=0)


class TexturesUV(TexturesBase):
    """One image per mesh plus per-face-vertex uv coordinates into it.

    Sampling uses grid (2u − 1, 1 − 2v) in `torch.nn.functional.grid_sample`: u runs left→right
    along the image's columns and v bottom→top along its rows.
    """

    def __init__(
        self,
        maps: TensorOrList,
        faces_uvs: TensorOrList,
        verts_uvs: TensorOrList,
        padding_mode: str = "border",
        align_corners: bool = True,
        sampling_mode: str = "bilinear",
    ) -> None:
        """maps: list of N (H, W, C) or padded (N, H, W, C) float images. faces_uvs: list of N
        (F_i, 3) or padded (N, F, 3) integer indices into verts_uvs. verts_uvs: list of N (T_i, 2)
        or padded (N, T, 2) uv coordinates. The last three arguments go to grid_sample.
        """
        if padding_mode not in ("zeros", "border", "reflection"):
            raise ValueError(f"padding_mode must be 'zeros', 'border' or 'reflection'; got {padding_mode!r}")
        if sampling_mode not in ("bilinear", "nearest", "bicubic"):
            raise ValueError(f"sampling_mode must be 'bilinear', 'nearest' or 'bicubic'; got {sampling_mode!r}")
        self.padding_mode = padding_mode
        self.align_corners = bool(align_corners)
        self.sampling_mode = sampling_mode

        self._init_faces_uvs(faces_uvs)
        self._init_verts_uvs(verts_uvs)
        self._maps_list: Optional[List[torch.Tensor]] = list(maps) if isinstance(maps, (list, tuple)) else None
        self._maps_padded = self._format_maps_padded(maps)
        if self._maps_padded.device != self.device:
            raise ValueError("maps must be on the same device as faces_uvs and verts_uvs")
        self.valid = torch.ones((self._N,), dtype=torch.bool, device=self.device)
        self._check_faces_uvs_range()

    # -- construction helpers -------------------------------------------------------------------
    def _init_faces_uvs(self, faces_uvs: TensorOrList) -> None:
        if isinstance(faces_uvs, (list, tuple)):
            faces_uvs = list(faces_uvs)
            for i, f in enumerate(faces_uvs):
                _check_tensor(f"faces_uvs[{i}]", f)
                if f.dim() != 2 or f.shape[-1] != 3:
                    raise ValueError(f"Expected faces_uvs[{i}] to be of shape (F, 3); got {tuple(f.shape)}")
                if f.is_floating_point() or f.is_complex() or f.dtype == torch.bool:
                    raise TypeError(f"faces_uvs[{i}] must be an integer (long) tensor; got {f.dtype}")
            self._faces_uvs_list: Optional[List[torch.Tensor]] = faces_uvs
            self._faces_uvs_padded: Optional[torch.Tensor] = None
            self._N = len(faces_uvs)
            self.device = faces_uvs[0].device if faces_uvs else torch.device("cpu")
            if any(f.device != self.device for f in faces_uvs):
                raise ValueError("faces_uvs elements must all be on the same device")
            # Meshes may overwrite this with its own face counts.
            self._num_faces_per_mesh = [len(f) for f in faces_uvs]
        elif isinstance(faces_uvs, torch.Tensor):
            if faces_uvs.dim() != 3 or faces_uvs.shape[-1] != 3:
                raise ValueError(f"Expected faces_uvs to be of shape (N, F, 3); got {tuple(faces_uvs.shape)}")
            if faces_uvs.is_floating_point() or faces_uvs.is_complex() or faces_uvs.dtype == torch.bool:
                raise TypeError(f"faces_uvs must be an integer (long) tensor; got {faces_uvs.dtype}")
            self._faces_uvs_padded = faces_uvs
            self._faces_uvs_list = None
            self._N = faces_uvs.shape[0]
            self.device = faces_uvs.device
            self._num_faces_per_mesh = [faces_uvs.shape[1]] * self._N
        else:
            raise TypeError(f"faces_uvs must be a tensor or a list of tensors; got {type(faces_uvs).__name__}")

    def _init_verts_uvs(self, verts_uvs: TensorOrList) -> None:
        if isinstance(verts_uvs, (list, tuple)):
            verts_uvs = list(verts_uvs)
            for i, v in enumerate(verts_uvs):
                _check_tensor(f"verts_uvs[{i}]", v)
                if v.dim() != 2 or v.shape[-1] != 2:
                    raise ValueError(f"Expected verts_uvs[{i}] to be of shape (T, 2); got {tuple(v.shape)}")
            if len(verts_uvs) != self._N:
                raise ValueError(
                    f"verts_uvs and faces_uvs must have the same batch dimension; got {len(verts_uvs)} and {self._N}"
                )
            if any(v.device != self.device for v in verts_uvs):
                raise ValueError("verts_uvs and faces_uvs must be on the same device")
            self._verts_uvs_list: Optional[List[torch.Tensor]] = verts_uvs
            self._verts_uvs_padded: Optional[torch.Tensor] = None
        elif isinstance(verts_uvs, torch.Tensor):
            if verts_uvs.dim() != 3 or verts_uvs.shape[-1] != 2 or verts_uvs.shape[0] != self._N:
                raise ValueError(
                    f"Expected verts_uvs to be of shape (N, T, 2) with N = {self._N}; got {tuple(verts_uvs.shape)}"
                )
            if verts_uvs.device != self.device:
                raise ValueError("verts_uvs and faces_uvs must be on the same device")
            self._verts_uvs_padded = verts_uvs
            self._verts_uvs_list = None
        else:
            raise TypeError(f"verts_uvs must be a tensor or a list of tensors; got {type(verts_uvs).__name__}")

    def _format_maps_padded(self, maps: TensorOrList) -> torch.Tensor:
        if isinstance(maps, torch.Tensor):
            if maps.dim() != 4 or maps.shape[0] != self._N:
                raise ValueError(
                    f"Expected maps to be of shape (N, H, W, C) with N = {self._N}; got {tuple(maps.shape)}"
                )
            if not maps.is_floating_point():
                raise TypeError(f"maps must be a floating point tensor (e.g. uint8 / 255); got {maps.dtype}")
            return maps
        if isinstance(maps, (list, tuple)):
            if len(maps) != self._N:
                raise ValueError(f"Expected one texture map per mesh: got {len(maps)} maps for {self._N} meshes")
            if self._N == 0:
                return torch.empty((0, 0, 0, 3), dtype=torch.float32, device=self.device)
            for i, m in enumerate(maps):
                _check_tensor(f"maps[{i}]", m)
                if m.dim() != 3:
                    raise ValueError(
                        f"Expected each texture map to be of shape (H, W, C); maps[{i}] has shape {tuple(m.shape)}"
                    )
                if not m.is_floating_point():
                    raise TypeError(f"maps[{i}] must be a floating point tensor (e.g. uint8 / 255); got {m.dtype}")
            if len({m.shape[2] for m in maps}) > 1:
                raise ValueError("Inconsistent number of channels in maps")
            if len({m.device for m in maps}) > 1:
                raise ValueError("maps must all be on the same device")
            return _pad_texture_maps(maps, align_corners=self.align_corners)
        raise TypeError(f"maps must be a tensor or a list of tensors; got {type(maps).__name__}")

    def _check_faces_uvs_range(self) -> None:
        """faces_uvs must index existing uvs (padded input may also use −1 as padding)."""
        if self._N == 0:
            return
        if self._faces_uvs_list is not None:
            for i, (f, v) in enumerate(zip(self._faces_uvs_list, self.verts_uvs_list())):
                if f.numel() and (int(f.min()) < 0 or int(f.max()) >= v.shape[0]):
                    raise ValueError(
                        f"faces_uvs[{i}] has indices in [{int(f.min())}, {int(f.max())}] but verts_uvs[{i}] "
                        f"has only {v.shape[0]} uvs"
                    )
        else:
            f = self._faces_uvs_padded
            t = self.verts_uvs_padded().shape[1]
            if f.numel() and (int(f.min()) < -1 or int(f.max()) >= t):
                raise ValueError(
                    f"faces_uvs has indices in [{int(f.min())}, {int(f.max())}] but verts_uvs has only {t} uvs per mesh"
                )

    def __repr__(self) -> str:
        return (
            f"TexturesUV(N={self._N}, maps={tuple(self._maps_padded.shape)}, padding_mode={self.padding_mode!r}, "
            f"align_corners={self.align_corners}, sampling_mode={self.sampling_mode!r})"
        )

    def _new(self, maps: TensorOrList, faces_uvs: TensorOrList, verts_uvs: TensorOrList) -> "TexturesUV":
        return self.__class__(
            maps,
            faces_uvs,
            verts_uvs,
            padding_mode=self.padding_mode,
            align_corners=self.align_corners,
            sampling_mode=self.sampling_mode,
        )

    # -- accessors ------------------------------------------------------------------------------
    def faces_uvs_padded(self) -> torch.Tensor:
        """(N, max F_i, 3) long, zero padded."""
        if self._faces_uvs_padded is None:
            if self.isempty():
                self._faces_uvs_padded = torch.zeros((self._N, 0, 3), dtype=torch.int64, device=self.device)
            else:
                self._faces_uvs_padded = _list_to_padded(self._faces_uvs_list, pad_value=0)
        return self._faces_uvs_padded

    def faces_uvs_list(self) -> List[torch.Tensor]:
        """List of N (F_i, 3) long tensors."""
        if self._faces_uvs_list is None:
            if self.isempty():
                self._faces_uvs_list = [torch.empty((0, 3), dtype=torch.int64, device=self.device)] * self._N
            else:
                self._faces_uvs_list = _padded_to_list(self._faces_uvs_padded, self._num_faces_per_mesh)
        return self._faces_uvs_list

    def verts_uvs_padded(self) -> torch.Tensor:
        """(N, max T_i, 2), zero padded."""
        if self._verts_uvs_padded is None:
            if self.isempty():
                self._verts_uvs_padded = torch.zeros((self._N, 0, 2), dtype=torch.float32, device=self.device)
            else:
                self._verts_uvs_padded = _list_to_padded(self._verts_uvs_list, pad_value=0.0)
        return self._verts_uvs_padded

    def verts_uvs_list(self) -> List[torch.Tensor]:
        """List of N (T_i, 2). From padded input every element keeps all T rows (uv counts are unknown)."""
        if self._verts_uvs_list is None:
            if self.isempty():
                self._verts_uvs_list = [torch.empty((0, 2), dtype=torch.float32, device=self.device)] * self._N
            else:
                self._verts_uvs_list = list(self._verts_uvs_padded.unbind(0))
        return self._verts_uvs_list

    def maps_padded(self) -> torch.Tensor:
        """(N, H, W, C): the maps, resized to a common size when given as a list of different sizes."""
        return self._maps_padded

    def maps_list(self) -> List[torch.Tensor]:
        """List of N (H_i, W_i, C): the maps as given."""
        if self._maps_list is not None:
            return self._maps_list
        return list(self._maps_padded.unbind(0))

    def check_shapes(self, batch_size: int, max_num_verts: int, max_num_faces: int) -> bool:
        """Whether the padded faces_uvs match a mesh batch with these sizes."""
        return tuple(self.faces_uvs_padded().shape[0:2]) == (batch_size, max_num_faces)

    def _faces_verts_uvs_packed(self) -> torch.Tensor:
        """uv of each packed face's three vertices, (sum F_i, 3, 2)."""
        if self.isempty():
            return torch.zeros((self._N, 3, 2), dtype=torch.float32, device=self.device)
        return torch.cat([v[f] for v, f in zip(self.verts_uvs_list(), self.faces_uvs_list())], dim=0)

    def _uv_to_grid(self, uvs: torch.Tensor) -> torch.Tensor:
        """uv in [0, 1]² → grid_sample coordinates (2u − 1, 1 − 2v)."""
        return torch.lerp(uvs.new_tensor([-1.0, 1.0]), uvs.new_tensor([1.0, -1.0]), uvs)

    # -- sampling -------------------------------------------------------------------------------
    def corner_uvs_packed(self) -> torch.Tensor:
        """uv of every packed face corner, (3 sum F_i, 2): corner i of face f in row 3f + i, the
        layout of the packed shading's per-corner tables."""
        return self._faces_verts_uvs_packed().reshape(-1, 2)

    def sample_uvs(self, uvs: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        """Texels (M, C) at uv coordinates (M, 2), each on the map of its batch element image (M,)
        (rows grouped by image, ascending): `sample_textures`' sampling for a flat list of
        fragments, which never lays them out as an (N, H, W, K) grid."""
        maps = self.maps_padded()
        maps_nchw = maps.permute(0, 3, 1, 2).to(device=uvs.device)
        grid = self._uv_to_grid(uvs).to(maps_nchw.dtype)
        counts = torch.bincount(image, minlength=maps.shape[0]).tolist()
        parts = [
            F.grid_sample(maps_nchw[n : n + 1], part.view(1, 1, -1, 2), mode=self.sampling_mode,
                          padding_mode=self.padding_mode, align_corners=self.align_corners)[0, :, 0].t()
            for n, part in enumerate(grid.split(counts)) if counts[n]
        ]
        return torch.cat(parts) if parts else maps.new_zeros(0, maps.shape[-1])

    def sample_textures(self, fragments: Any, **kwargs: Any) -> torch.Tensor:
        """Texture value at each fragment, (N, H, W, K, C).

        The fragment's packed face gives its uvs, interpolated with the barycentrics, then each
        batch element samples its own map. Empty fragments interpolate uv (0, 0).
        """
        pix_to_face = fragments.pix_to_face
        maps = self.maps_padded()
        N, H_out, W_out, K = pix_to_face.shape
        if N != maps.shape[0]:
            raise ValueError(f"fragments have batch size {N} but the textures have {maps.shape[0]}")
        _, H_in, W_in, C = maps.shape
        pixel_uvs = interpolate_face_attributes(pix_to_face, fragments.bary_coords, self._faces_verts_uvs_packed())
        # Fold K into the grid's width, (N, H, W·K, 2), so each map is sampled once per batch
        # element without being copied K times (every grid point is sampled independently).
        grid = self._uv_to_grid(pixel_uvs.reshape(N, H_out, W_out * K, 2))
        maps_nchw = maps.permute(0, 3, 1, 2)
        if maps_nchw.device != grid.device:
            maps_nchw = maps_nchw.to(grid.device)
        if grid.dtype != maps_nchw.dtype:
            grid = grid.to(maps_nchw.dtype)
        texels = F.grid_sample(
            maps_nchw, grid, mode=self.sampling_mode, padding_mode=self.padding_mode, align_corners=self.align_corners
        )  # (N, C, H, W·K)
        return texels.reshape(N, C, H_out, W_out, K).permute(0, 2, 3, 4, 1)

    def faces_verts_textures_packed(self, faces_packed: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Texture value at each packed face's three vertices, (sum F_i, 3, C)."""
        maps = self.maps_padded()
        if self.isempty():
            return torch.zeros((0, 3, maps.shape[-1]), dtype=maps.dtype, device=self.device)
        per_mesh = [v[f] for v, f in zip(self.verts_uvs_list(), self.faces_uvs_list())]
        max_f = max(p.shape[0] for p in per_mesh)
        uvs = torch.stack([F.pad(p, (0, 0, 0, 0, 0, max_f - p.shape[0])) for p in per_mesh])  # (N, F, 3, 2)
        grid = self._uv_to_grid(uvs).to(maps.dtype)
        sampled = F.grid_sample(
            maps.permute(0, 3, 1, 2),
            grid,
            mode=self.sampling_mode,
            padding_mode=self.padding_mode,
            align_corners=self.align_corners,
        )  # (N, C, F, 3)
        sampled = sampled.permute(0, 2, 3, 1)
        return torch.cat([sampled[i, : p.shape[0]] for i, p in enumerate(per_mesh)], dim=0)

    # -- batch operations -----------------------------------------------------------------------
    def clone(self) -> "TexturesUV":
        tex = self._new(self.maps_padded().clone(), self.faces_uvs_padded().clone(), self.verts_uvs_padded().clone())
        if self._maps_list is not None:
            tex._maps_list = [m.clone() for m in self._maps_list]
        if self._verts_uvs_list is not None:
            tex._verts_uvs_list = [v.clone() for v in self._verts_uvs_list]
        if self._faces_uvs_list is not None:
            tex._faces_uvs_list = [f.clone() for f in self._faces_uvs_list]
        tex._num_faces_per_mesh = list(self._num_faces_per_mesh)
        tex.valid = self.valid.clone()
        return tex

    def detach(self) -> "TexturesUV":
        tex = self._new(self.maps_padded().detach(), self.faces_uvs_padded().detach(), self.verts_uvs_padded().detach())
        if self._maps_list is not None:
            tex._maps_list = [m.detach() for m in self._maps_list]
        if self._verts_uvs_list is not None:
            tex._verts_uvs_list = [v.detach() for v in self._verts_uvs_list]
        if self._faces_uvs_list is not None:
            tex._faces_uvs_list = [f.detach() for f in self._faces_uvs_list]
        tex._num_faces_per_mesh = list(self._num_faces_per_mesh)
        tex.valid = self.valid.detach()
        return tex

    def __getitem__(self, index: Index) -> "TexturesUV":
        idx = _index_list(index, self._N)
        if isinstance(idx, int):
            idx = [idx]
        maps, faces, verts = self.maps_list(), self.faces_uvs_list(), self.verts_uvs_list()
        tex = self._new([maps[i] for i in idx], [faces[i] for i in idx], [verts[i] for i in idx])
        tex._num_faces_per_mesh = [self._num_faces_per_mesh[i] for i in idx]
        return tex

    def extend(self, N: int) -> "TexturesUV":
        """Repeat each texture N times consecutively (batch [a, b] → [a, a, b, b] for N = 2)."""
        self._check_extend(N)
        tex = self._new(
            self.maps_padded().repeat_interleave(N, dim=0),
            self.faces_uvs_padded().repeat_interleave(N, dim=0),
            self.verts_uvs_padded().repeat_interleave(N, dim=0),
        )
        tex._num_faces_per_mesh = self._repeat_list(self._num_faces_per_mesh, N)
        return tex

    def join_batch(self, textures: Sequence["TexturesUV"]) -> "TexturesUV":
        """A new batch: self's textures followed by those of each element of `textures`."""
        if not all(isinstance(t, TexturesUV) for t in textures):
            raise ValueError("All textures must be of type TexturesUV.")
        for attr in ("padding_mode", "align_corners", "sampling_mode"):
            if any(getattr(t, attr) != getattr(self, attr) for t in textures):
                raise ValueError(f"All textures must have the same {attr}.")
        maps, faces, verts = list(self.maps_list()), list(self.faces_uvs_list()), list(self.verts_uvs_list())
        counts = list(self._num_faces_per_mesh)
        for t in textures:
            maps += t.maps_list()
            faces += t.faces_uvs_list()
            verts += t.verts_uvs_list()
            counts += t._num_faces_per_mesh
        tex = self._new(maps, faces, verts)
        tex._num_faces_per_mesh = counts
        return tex

    def join_scene(self) -> "TexturesUV":
        """A batch of one texture for the whole batch joined into one scene.

        The maps go side by side into one atlas (top-aligned), each with a one-texel border
        repeating its edge, and the uvs are moved onto their map's place: sampling reads the
        same texels with the same weights as before, under either align_corners and either
        sampling mode, wherever the interpolated uv lies in [0, 1] or, with border padding, up
        to one texel beyond. Further out an atlas cannot keep a map's padding (nor can
        PyTorch3D's).
        """
        maps, faces, uvs = self.maps_list(), self.faces_uvs_list(), self.verts_uvs_list()
        atlas_h = max(m.shape[0] for m in maps) + 2
        atlas_w = sum(m.shape[1] + 2 for m in maps)
        corners = self.align_corners

        def to_texel(t: torch.Tensor, size: int) -> torch.Tensor:  # [0, 1] → texel position
            return t * (size - 1) if corners else t * size - 0.5

        def from_texel(p: torch.Tensor, size: int) -> torch.Tensor:
            return p / (size - 1) if corners else (p + 0.5) / size

        blocks, moved, shifted = [], [], []
        x0, uv_offset = 0, 0
        for m, f, uv in zip(maps, faces, uvs):
            h, w = m.shape[:2]
            padded = F.pad(m.permute(2, 0, 1)[None], (1, 1, 1, 1), mode="replicate")[0].permute(1, 2, 0)
            blocks.append(F.pad(padded, (0, 0, 0, 0, 0, atlas_h - h - 2)))
            x = x0 + 1 + to_texel(uv[:, 0], w)
            y = 1 + to_texel(1 - uv[:, 1], h)  # rows from the top
            moved.append(torch.stack((from_texel(x, atlas_w), 1 - from_texel(y, atlas_h)), dim=1))
            shifted.append(f + uv_offset)
            x0 += w + 2
            uv_offset += uv.shape[0]
        tex = self._new([torch.cat(blocks, dim=1)], [torch.cat(shifted)], [torch.cat(moved)])
        tex._num_faces_per_mesh = [sum(self._num_faces_per_mesh)]
        return tex


class TexturesAtlas(TexturesBase):
    """An R×R grid of texels per face (SoftRas's texture atlas), PyTorch3D's `TexturesAtlas`.

    A face's triangle is cut into R² small triangles, one per texel: texel (y, x) with
    x + y < R holds the small triangle whose barycentrics (w0, w1) lie in
    [x/R, (x+1)/R) × [y/R, (y+1)/R) below that cell's diagonal, and texel (R-1-y, R-1-x) the
    one above it. Sampling returns the texel under the fragment's barycentrics (no
    interpolation); gradients reach the atlas. `core.io.load_obj(create_texture_atlas=True)`
    builds atlases from OBJ files.
    """

    def __init__(self, atlas: TensorOrList) -> None:
        """atlas: list of N (F_i, R, R, C) tensors, or a padded (N, F, R, R, C) tensor."""
        if isinstance(atlas, (list, tuple)):
            atlas = list(atlas)
            for i, a in enumerate(atlas):
                _check_tensor(f"atlas[{i}]", a)
                if a.dim() != 4 or a.shape[1] != a.shape[2]:
                    raise ValueError(f"Expected atlas to be a list of tensors of shape (F, R, R, C); "
                                     f"element {i} has shape {tuple(a.shape)}")
            if len({tuple(a.shape[1:]) for a in atlas}) > 1:
                raise ValueError("atlas elements must share R and C (shapes (F_i, R, R, C))")
            self._atlas_list: Optional[List[torch.Tensor]] = atlas
            self._atlas_padded: Optional[torch.Tensor] = None
            self._N = len(atlas)
            self.device = atlas[0].device if atlas else torch.device("cpu")
            self._num_faces_per_mesh = [len(a) for a in atlas]  # Meshes sets its own counts
        elif isinstance(atlas, torch.Tensor):
            if atlas.dim() != 5 or atlas.shape[2] != atlas.shape[3]:
                raise ValueError(f"Expected atlas to be of shape (N, F, R, R, C); got {tuple(atlas.shape)}")
            self._atlas_padded = atlas
            self._atlas_list = None
            self._N = atlas.shape[0]
            self.device = atlas.device
            self._num_faces_per_mesh = [atlas.shape[1]] * self._N
        else:
            raise TypeError(f"atlas must be a tensor or a list of tensors; got {type(atlas).__name__}")
        self.valid = torch.ones((self._N,), dtype=torch.bool, device=self.device)

    def __repr__(self) -> str:
        return f"TexturesAtlas(N={self._N}, num_faces_per_mesh={self._num_faces_per_mesh})"

    def _texel_shape(self) -> tuple:
        source = self._atlas_padded if self._atlas_padded is not None else (self._atlas_list or [None])[0]
        return (0, 0, 3) if source is None else tuple(source.shape[-3:])

    def atlas_list(self) -> List[torch.Tensor]:
        """List of N tensors (F_i, R, R, C)."""
        if self._atlas_list is None:
            self._atlas_list = _padded_to_list(self._atlas_padded, self._num_faces_per_mesh)
        return self._atlas_list

    def atlas_padded(self) -> torch.Tensor:
        """Tensor (N, max F_i, R, R, C), zero padded."""
        if self._atlas_padded is None:
            if not self._atlas_list:
                self._atlas_padded = torch.zeros((self._N, 0, *self._texel_shape()), device=self.device)
            else:
                self._atlas_padded = _list_to_padded(self._atlas_list, pad_value=0.0)
        return self._atlas_padded

    def atlas_packed(self) -> torch.Tensor:
        """Tensor (sum F_i, R, R, C), matching Meshes' packed faces."""
        atlas = self.atlas_list()
        return torch.cat(atlas, dim=0) if atlas else torch.zeros((0, *self._texel_shape()), device=self.device)

    def check_shapes(self, batch_size: int, max_num_verts: int, max_num_faces: int) -> bool:
        """Whether the padded atlas matches a mesh batch with these sizes."""
        return tuple(self.atlas_padded().shape[0:2]) == (batch_size, max_num_faces)

    def sample_textures(self, fragments: Any, **kwargs: Any) -> torch.Tensor:
        """The texel under each fragment, (N, H, W, K, C); zeros where a slot is empty.

        PyTorch3D's lookup, except that barycentrics of exactly 1 (or above, unclipped) read the
        last texel instead of indexing past the grid.
        """
        atlas = self.atlas_packed()
        size = atlas.shape[1]
        pix_to_face = fragments.pix_to_face
        empty = pix_to_face < 0
        w01 = fragments.bary_coords[..., :2].masked_fill(empty[..., None], 0.0)
        cell = (w01 * size).to(torch.int64)
        lower = (w01.sum(-1) * size - cell.to(w01.dtype).sum(-1)) <= 1.0
        cell = torch.where(lower[..., None], cell, size - 1 - cell).clamp_max(size - 1)
        texels = atlas[pix_to_face.clamp_min(0), cell[..., 1], cell[..., 0]]
        return texels.masked_fill(empty[..., None], 0.0)

    def faces_verts_textures_packed(self, faces_packed: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The texels at each packed face's corners, (sum F_i, 3, C): v0 at barycentrics
        (1, 0), v1 at (0, 1), v2 at (0, 0)."""
        atlas = self.atlas_packed()
        return torch.stack((atlas[:, 0, -1], atlas[:, -1, 0], atlas[:, 0, 0]), dim=1)

    def _new(self, atlas: TensorOrList, counts: List[int]) -> "TexturesAtlas":
        tex = self.__class__(atlas)
        tex._num_faces_per_mesh = list(counts)
        return tex

    def clone(self) -> "TexturesAtlas":
        return self._new([a.clone() for a in self.atlas_list()], self._num_faces_per_mesh)

    def detach(self) -> "TexturesAtlas":
        return self._new([a.detach() for a in self.atlas_list()], self._num_faces_per_mesh)

    def __getitem__(self, index: Index) -> "TexturesAtlas":
        idx = _index_list(index, self._N)
        idx = [idx] if isinstance(idx, int) else idx
        atlas = self.atlas_list()
        return self._new([atlas[i] for i in idx], [self._num_faces_per_mesh[i] for i in idx])

    def extend(self, N: int) -> "TexturesAtlas":
        """Repeat each texture N times consecutively (batch [a, b] → [a, a, b, b] for N = 2)."""
        self._check_extend(N)
        atlas = self.atlas_list()
        return self._new([a for a in atlas for _ in range(N)], self._repeat_list(self._num_faces_per_mesh, N))

    def join_batch(self, textures: Sequence["TexturesAtlas"]) -> "TexturesAtlas":
        """A new batch: self's textures followed by those of each element of `textures`."""
        if not all(isinstance(t, TexturesAtlas) for t in textures):
            raise ValueError("All textures must be of type TexturesAtlas.")
        atlas, counts = list(self.atlas_list()), list(self._num_faces_per_mesh)
        for t in textures:
            atlas += t.atlas_list()
            counts += t._num_faces_per_mesh
        return self._new(atlas, counts)

    def join_scene(self) -> "TexturesAtlas":
        """A batch of one texture for the whole batch joined into one scene (atlases are per
        face, so joining is concatenation and samples exactly as before)."""
        return self._new([self.atlas_packed()], [sum(self._num_faces_per_mesh)])
