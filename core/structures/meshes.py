"""A batch of triangle meshes with list, padded and packed views (PyTorch3D 0.7.9 semantics).

`Meshes(verts, faces, textures=None)` accepts either lists of per-mesh tensors (sizes may differ,
empty meshes allowed) or padded tensors (N, V, 3) / (N, F, 3) with faces padded by -1 rows at the
end. The packed view (all meshes concatenated, faces offset into the packed verts) is built and
validated at construction; list/padded views, normals, areas and edges are derived lazily and
cached, and every cache that depends on vertex positions is dropped when the verts change.
Everything is plain torch, so gradients flow from any derived quantity back to the input verts.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F

Device = Union[str, torch.device]
MeshIndex = Union[int, slice, Sequence[int], torch.Tensor]

# Caches that depend on vertex positions (dropped whenever the verts change).
_GEOMETRY_CACHES = ("_verts_list", "_verts_padded", "_faces_normals_packed", "_faces_areas_packed")
# Every attribute holding a tensor (or None); used by clone / detach / to.
_TENSOR_ATTRS = (
    "_verts_packed", "_verts_padded", "_faces_packed", "_faces_padded",
    "_num_verts_per_mesh", "_num_faces_per_mesh",
    "_mesh_to_verts_packed_first_idx", "_mesh_to_faces_packed_first_idx",
    "_verts_packed_to_mesh_idx", "_faces_packed_to_mesh_idx", "_verts_padded_to_packed_idx",
    "_verts_normals_packed", "_faces_normals_packed", "_faces_areas_packed",
    "_edges_packed", "_edges_packed_to_mesh_idx", "_num_edges_per_mesh",
    "_mesh_to_edges_packed_first_idx", "_faces_packed_to_edges_packed", "valid",
    "_laplacian_packed",
)
_TENSOR_LIST_ATTRS = ("_verts_list", "_faces_list")


def _as_device(device: Device) -> torch.device:
    """torch.device for `device`; a bare "cuda" means the current CUDA device."""
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return device


def _exclusive_cumsum(counts: torch.Tensor) -> torch.Tensor:
    """[0, c0, c0 + c1, ...] with the length of `counts`."""
    return torch.cumsum(counts, 0) - counts


def _check_faces_dtype(faces: torch.Tensor, what: str) -> torch.Tensor:
    """Faces must hold integers; an empty tensor of any dtype is accepted and made int64."""
    if faces.numel() == 0:
        return faces.to(torch.int64)
    if faces.dtype.is_floating_point or faces.dtype.is_complex or faces.dtype == torch.bool:
        raise TypeError(f"{what} must be an integer tensor (vertex indices); got dtype {faces.dtype}")
    return faces.to(torch.int64)


def _check_verts_dtype(verts: torch.Tensor, what: str) -> None:
    if not verts.dtype.is_floating_point:
        raise TypeError(f"{what} must be a floating point tensor; got dtype {verts.dtype}")


class Meshes:
    """A batch of N triangle meshes; see the module docstring for the representations."""

    def __init__(
        self,
        verts: Union[Sequence[torch.Tensor], torch.Tensor],
        faces: Union[Sequence[torch.Tensor], torch.Tensor],
        textures: Any = None,
        *,
        verts_normals: Union[Sequence[torch.Tensor], torch.Tensor, None] = None,
    ) -> None:
        if textures is not None and not hasattr(textures, "sample_textures"):
            raise ValueError(f"textures must be a textures object with sample_textures(); got {type(textures)!r}")
        self.textures = textures
        self.equisized = False
        self._verts_list: Optional[List[torch.Tensor]] = None
        self._faces_list: Optional[List[torch.Tensor]] = None
        self._verts_padded: Optional[torch.Tensor] = None
        self._faces_padded: Optional[torch.Tensor] = None
        self._verts_padded_to_packed_idx: Optional[torch.Tensor] = None
        self._reset_derived()
        self._verts_normals_given = False

        verts_is_list = isinstance(verts, (list, tuple))
        faces_is_list = isinstance(faces, (list, tuple))
        if verts_is_list and faces_is_list:
            self._init_from_lists(list(verts), list(faces))
        elif torch.is_tensor(verts) and torch.is_tensor(faces):
            self._init_from_padded(verts, faces)
        else:
            raise ValueError(
                "verts and faces must both be lists of tensors or both be padded tensors "
                f"(N, V, 3) and (N, F, 3); got {type(verts).__name__} and {type(faces).__name__}"
            )
        self._validate_values()

        if textures is not None:
            tex_n = getattr(textures, "_N", None)
            if tex_n is not None and int(tex_n) != self._N:
                raise ValueError(f"textures have batch size {tex_n} but there are {self._N} meshes")
            # As in PyTorch3D: padded texture tensors are split by these meshes' sizes, so that
            # packed textures line up with packed vertices and faces.
            for name, counts in (("_num_verts_per_mesh", self.num_verts_per_mesh), ("_num_faces_per_mesh", self.num_faces_per_mesh)):
                if hasattr(textures, name):
                    setattr(textures, name, counts().tolist())
        if verts_normals is not None:
            self._set_verts_normals(verts_normals)

    # ------------------------------------------------------------------ construction
    def _reset_derived(self) -> None:
        """Forget normals, areas and edges (they are recomputed on demand)."""
        self._verts_normals_packed: Optional[torch.Tensor] = None
        self._faces_normals_packed: Optional[torch.Tensor] = None
        self._faces_areas_packed: Optional[torch.Tensor] = None
        self._edges_packed: Optional[torch.Tensor] = None
        self._edges_packed_to_mesh_idx: Optional[torch.Tensor] = None
        self._num_edges_per_mesh: Optional[torch.Tensor] = None
        self._mesh_to_edges_packed_first_idx: Optional[torch.Tensor] = None
        self._faces_packed_to_edges_packed: Optional[torch.Tensor] = None
        self._laplacian_packed: Optional[torch.Tensor] = None

    def _init_from_lists(self, verts: List[torch.Tensor], faces: List[torch.Tensor]) -> None:
        if len(verts) != len(faces):
            raise ValueError(f"verts and faces lists must have the same length; got {len(verts)} and {len(faces)}")
        self._N = len(verts)
        self.device = verts[0].device if verts and torch.is_tensor(verts[0]) else torch.device("cpu")
        vlist, flist = [], []
        for i, (v, f) in enumerate(zip(verts, faces)):
            if not torch.is_tensor(v) or not torch.is_tensor(f):
                raise TypeError(
                    f"verts and faces of mesh {i} must be tensors; got {type(v).__name__} and {type(f).__name__}"
                )
            if v.numel() == 0 and v.dim() == 1:
                v = v.reshape(0, 3)
            if f.numel() == 0 and f.dim() == 1:
                f = f.reshape(0, 3)
            if v.dim() != 2 or v.shape[1] != 3:
                raise ValueError(f"verts of mesh {i} must have shape (V, 3); got {tuple(v.shape)}")
            if f.dim() != 2 or f.shape[1] != 3:
                raise ValueError(
                    f"faces must be triangles: faces of mesh {i} must have shape (F, 3); got {tuple(f.shape)}"
                )
            _check_verts_dtype(v, f"verts of mesh {i}")
            f = _check_faces_dtype(f, f"faces of mesh {i}")
            if v.device != self.device or f.device != self.device:
                raise ValueError(
                    f"all verts and faces must be on one device; mesh {i} has {v.device}/{f.device}, "
                    f"expected {self.device}"
                )
            vlist.append(v)
            flist.append(f)
        self._verts_list, self._faces_list = vlist, flist
        self._nv = [int(v.shape[0]) for v in vlist]
        self._nf = [int(f.shape[0]) for f in flist]
        self._set_counts()
        self.equisized = len(set(self._nv)) <= 1 and len(set(self._nf)) <= 1
        dtype = vlist[0].dtype if vlist else torch.float32
        self._verts_packed = torch.cat(vlist, 0) if vlist else torch.zeros((0, 3), dtype=dtype, device=self.device)
        local = torch.cat(flist, 0) if flist else torch.zeros((0, 3), dtype=torch.int64, device=self.device)
        self._faces_packed = local + self._mesh_to_verts_packed_first_idx[self._faces_packed_to_mesh_idx, None]
        self._local_faces = local

    def _init_from_padded(self, verts: torch.Tensor, faces: torch.Tensor) -> None:
        if verts.dim() != 3 or verts.shape[2] != 3:
            raise ValueError(f"padded verts must have shape (N, V, 3); got {tuple(verts.shape)}")
        if faces.dim() != 3 or faces.shape[2] != 3:
            raise ValueError(
                f"faces must be triangles: padded faces must have shape (N, F, 3); got {tuple(faces.shape)}"
            )
        if verts.shape[0] != faces.shape[0]:
            raise ValueError(
                f"padded verts and faces must have the same batch size; got {verts.shape[0]} and {faces.shape[0]}"
            )
        if verts.device != faces.device:
            raise ValueError(f"verts and faces must be on one device; got {verts.device} and {faces.device}")
        _check_verts_dtype(verts, "padded verts")
        faces = _check_faces_dtype(faces, "padded faces")
        self.device = verts.device
        self._N, V = int(verts.shape[0]), int(verts.shape[1])
        not_pad = ~(faces == -1).all(dim=2)  # (N, F): a padding row is all -1
        if not_pad.shape[1] > 1 and bool((not_pad[:, :-1] < not_pad[:, 1:]).any()):
            raise ValueError("padded faces: padding rows (all -1) must come after the real faces of each mesh")
        self._nv = [V] * self._N
        self._nf = not_pad.sum(1).tolist()
        self._verts_padded, self._faces_padded = verts, faces
        self._set_counts()
        self.equisized = len(set(self._nf)) <= 1
        self._verts_packed = verts.reshape(-1, 3)
        local = faces[not_pad]
        self._faces_packed = local + self._mesh_to_verts_packed_first_idx[self._faces_packed_to_mesh_idx, None]
        self._local_faces = local

    def _set_counts(self) -> None:
        """Per-mesh counts, first indices and packed→mesh maps from the Python counts."""
        dev, N = self.device, self._N
        nv = torch.tensor(self._nv, dtype=torch.int64, device=dev)
        nf = torch.tensor(self._nf, dtype=torch.int64, device=dev)
        self._num_verts_per_mesh, self._num_faces_per_mesh = nv, nf
        self._V = max(self._nv, default=0)
        self._F = max(self._nf, default=0)
        self._mesh_to_verts_packed_first_idx = _exclusive_cumsum(nv)
        self._mesh_to_faces_packed_first_idx = _exclusive_cumsum(nf)
        ar = torch.arange(N, dtype=torch.int64, device=dev)
        self._verts_packed_to_mesh_idx = torch.repeat_interleave(ar, nv, output_size=sum(self._nv))
        self._faces_packed_to_mesh_idx = torch.repeat_interleave(ar, nf, output_size=sum(self._nf))
        self.valid = (nv > 0) & (nf > 0)
        self._any_valid = any(v > 0 and f > 0 for v, f in zip(self._nv, self._nf))

    def _validate_values(self) -> None:
        """One vectorised pass: face indices in [0, V_n) and finite verts (a single host sync)."""
        local, verts = self._local_faces, self._verts_packed
        limit = self._num_verts_per_mesh[self._faces_packed_to_mesh_idx]
        bad_faces = ((local < 0) | (local >= limit[:, None])).any(1)
        bad_verts = ~torch.isfinite(verts.detach()).all(1)
        any_bad_face, any_bad_vert = torch.stack([bad_faces.any(), bad_verts.any()]).tolist()
        if any_bad_face:
            i = int(self._faces_packed_to_mesh_idx[bad_faces.nonzero()[0, 0]])
            raise ValueError(
                f"faces of mesh {i} index vertices outside [0, {self._nv[i]}) "
                "(only whole rows of -1 are allowed, as padding in padded faces)"
            )
        if any_bad_vert:
            i = int(self._verts_packed_to_mesh_idx[bad_verts.nonzero()[0, 0]])
            raise ValueError(f"verts of mesh {i} contain NaN or Inf")
        del self._local_faces

    def _set_verts_normals(self, normals: Union[Sequence[torch.Tensor], torch.Tensor]) -> None:
        """Store user-given vertex normals (list of (V_n, 3) or padded (N, V, 3))."""
        if isinstance(normals, (list, tuple)):
            if len(normals) != self._N or any(
                not torch.is_tensor(n) or n.shape != (nv, 3) for n, nv in zip(normals, self._nv)
            ):
                raise ValueError("verts_normals must be a list of (V_n, 3) tensors, one per mesh")
            packed = torch.cat(list(normals), 0) if normals else self._verts_packed.new_zeros((0, 3))
        elif torch.is_tensor(normals):
            if tuple(normals.shape) != (self._N, self._V, 3):
                raise ValueError(
                    f"padded verts_normals must have shape ({self._N}, {self._V}, 3); got {tuple(normals.shape)}"
                )
            packed = normals.reshape(-1, 3)[self.verts_padded_to_packed_idx()]
        else:
            raise ValueError("verts_normals must be a list of tensors or a padded tensor")
        self._verts_normals_packed = packed.to(self.device)
        self._verts_normals_given = True

    # ------------------------------------------------------------------ basic protocol
    def __len__(self) -> int:
        return self._N

    def __repr__(self) -> str:
        return f"Meshes(N={self._N}, verts={self._nv}, faces={self._nf}, device={self.device})"

    def isempty(self) -> bool:
        """True when there are no meshes or no mesh has both verts and faces."""
        return not self._any_valid

    def __getitem__(self, index: MeshIndex) -> "Meshes":
        """Meshes selected by an int, slice, list of ints or 1-D bool/long tensor (not cloned)."""
        verts, faces = self.verts_list(), self.faces_list()
        tex_index: Any = index
        if isinstance(index, bool):
            raise IndexError(f"invalid mesh index {index!r}")
        if isinstance(index, int):
            sel = [range(self._N)[index]]
        elif isinstance(index, slice):
            sel = list(range(self._N))[index]
        elif isinstance(index, (list, tuple)):
            sel = [range(self._N)[int(i)] for i in index]
            tex_index = sel
        elif torch.is_tensor(index):
            if index.dim() != 1 or index.dtype.is_floating_point or index.dtype.is_complex:
                raise IndexError(
                    f"a tensor mesh index must be a 1-D bool or integer tensor; got {index.dtype} {tuple(index.shape)}"
                )
            if index.dtype == torch.bool:
                if index.shape[0] != self._N:
                    raise IndexError(f"bool mask has length {index.shape[0]} but there are {self._N} meshes")
                index = index.nonzero().flatten()
            sel = [range(self._N)[i] for i in index.tolist()]
            tex_index = sel
        else:
            raise IndexError(f"invalid mesh index of type {type(index).__name__}")
        textures = None if self.textures is None else self.textures[tex_index]
        return self.__class__(verts=[verts[i] for i in sel], faces=[faces[i] for i in sel], textures=textures)

    def get_mesh_verts_faces(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(verts (V_i, 3), faces (F_i, 3)) of mesh `index`, faces indexing its own verts."""
        if not isinstance(index, int) or isinstance(index, bool):
            raise ValueError(f"mesh index must be an int; got {type(index).__name__}")
        if not 0 <= index < self._N:
            raise ValueError(f"mesh index must be in [0, {self._N}); got {index}")
        return self.verts_list()[index], self.faces_list()[index]

    # ------------------------------------------------------------------ counts and maps
    def num_verts_per_mesh(self) -> torch.Tensor:
        """(N,) number of vertices of each mesh (for padded input: V for every mesh)."""
        return self._num_verts_per_mesh

    def num_faces_per_mesh(self) -> torch.Tensor:
        """(N,) number of faces of each mesh (padding rows not counted)."""
        return self._num_faces_per_mesh

    def mesh_to_verts_packed_first_idx(self) -> torch.Tensor:
        """(N,) index in verts_packed of each mesh's first vertex."""
        return self._mesh_to_verts_packed_first_idx

    def mesh_to_faces_packed_first_idx(self) -> torch.Tensor:
        """(N,) index in faces_packed of each mesh's first face."""
        return self._mesh_to_faces_packed_first_idx

    def verts_packed_to_mesh_idx(self) -> torch.Tensor:
        """(sum V_n,) mesh index of each packed vertex."""
        return self._verts_packed_to_mesh_idx

    def faces_packed_to_mesh_idx(self) -> torch.Tensor:
        """(sum F_n,) mesh index of each packed face."""
        return self._faces_packed_to_mesh_idx

    def verts_padded_to_packed_idx(self) -> torch.Tensor:
        """(sum V_n,) x such that verts_padded().reshape(-1, 3)[x] == verts_packed()."""
        if self._verts_padded_to_packed_idx is None:
            first = self._mesh_to_verts_packed_first_idx[self._verts_packed_to_mesh_idx]
            local = torch.arange(self._verts_packed.shape[0], device=self.device) - first
            self._verts_padded_to_packed_idx = self._verts_packed_to_mesh_idx * self._V + local
        return self._verts_padded_to_packed_idx

    # ------------------------------------------------------------------ verts / faces views
    def verts_packed(self) -> torch.Tensor:
        """(sum V_n, 3) all vertices concatenated."""
        return self._verts_packed

    def verts_list(self) -> List[torch.Tensor]:
        """List of (V_n, 3) vertex tensors."""
        if self._verts_list is None:
            self._verts_list = list(self._verts_packed.split(self._nv, 0))
        return self._verts_list

    def verts_padded(self) -> torch.Tensor:
        """(N, max V_n, 3) vertices, padded with zeros."""
        if self._verts_padded is None:
            self._verts_padded = self._pad(self._verts_packed, self.verts_padded_to_packed_idx(), self._V, 0.0)
        return self._verts_padded

    def faces_packed(self) -> torch.Tensor:
        """(sum F_n, 3) faces indexing into verts_packed."""
        return self._faces_packed

    def faces_list(self) -> List[torch.Tensor]:
        """List of (F_n, 3) faces, each indexing its own mesh's verts."""
        if self._faces_list is None:
            self._faces_list = list(self._local_faces_packed().split(self._nf, 0))
        return self._faces_list

    def faces_padded(self) -> torch.Tensor:
        """(N, max F_n, 3) per-mesh faces, padded with rows of -1."""
        if self._faces_padded is None:
            self._faces_padded = self._pad(self._local_faces_packed(), self._faces_padded_idx(), self._F, -1)
        return self._faces_padded

    def _local_faces_packed(self) -> torch.Tensor:
        offset = self._mesh_to_verts_packed_first_idx[self._faces_packed_to_mesh_idx]
        return self._faces_packed - offset[:, None]

    def _faces_padded_idx(self) -> torch.Tensor:
        first = self._mesh_to_faces_packed_first_idx[self._faces_packed_to_mesh_idx]
        local = torch.arange(self._faces_packed.shape[0], device=self.device) - first
        return self._faces_packed_to_mesh_idx * self._F + local

    def _pad(self, packed: torch.Tensor, idx: torch.Tensor, width: int, fill: float) -> torch.Tensor:
        """Scatter packed rows into an (N, width, C) tensor filled with `fill` (differentiable)."""
        out = packed.new_full((self._N * width, packed.shape[1]), fill)
        return out.index_copy(0, idx, packed).view(self._N, width, packed.shape[1])

    # ------------------------------------------------------------------ normals and areas
    def _compute_face_areas_normals(self) -> None:
        if self._faces_normals_packed is not None and self._faces_areas_packed is not None:
            return
        tri = self._verts_packed[self._faces_packed]  # (F, 3, 3)
        cross = torch.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], dim=1)
        norm = torch.linalg.vector_norm(cross, dim=1)
        self._faces_areas_packed = norm / 2
        self._faces_normals_packed = cross / norm.clamp(min=1e-6)[:, None]

    def faces_normals_packed(self) -> torch.Tensor:
        """(sum F_n, 3) unit normals cross(v1 - v0, v2 - v0) / max(|.|, 1e-6)."""
        self._compute_face_areas_normals()
        return self._faces_normals_packed

    def faces_areas_packed(self) -> torch.Tensor:
        """(sum F_n,) triangle areas."""
        self._compute_face_areas_normals()
        return self._faces_areas_packed

    def faces_normals_list(self) -> List[torch.Tensor]:
        """List of (F_n, 3) face normals."""
        return list(self.faces_normals_packed().split(self._nf, 0))

    def faces_normals_padded(self) -> torch.Tensor:
        """(N, max F_n, 3) face normals, zero padded."""
        return self._pad(self.faces_normals_packed(), self._faces_padded_idx(), self._F, 0.0)

    def has_verts_normals(self) -> bool:
        """Whether vertex normals are present (given or already computed)."""
        return self._verts_normals_packed is not None

    def verts_normals_packed(self) -> torch.Tensor:
        """(sum V_n, 3) area-weighted vertex normals: normalised sum of cross(v2-v1, v0-v1) over faces."""
        if self._verts_normals_packed is None:
            verts, faces = self._verts_packed, self._faces_packed
            tri = verts.index_select(0, faces.reshape(-1)).view(-1, 3, 3)  # (faster than verts[faces], fwd and bwd)
            n = torch.cross(tri[:, 2] - tri[:, 1], tri[:, 0] - tri[:, 1], dim=1)
            acc = torch.zeros_like(verts)
            for k in range(3):
                acc = acc.index_add(0, faces[:, k], n)
            self._verts_normals_packed = F.normalize(acc, eps=1e-6, dim=1)
        return self._verts_normals_packed

    def verts_normals_list(self) -> List[torch.Tensor]:
        """List of (V_n, 3) vertex normals."""
        return list(self.verts_normals_packed().split(self._nv, 0))

    def verts_normals_padded(self) -> torch.Tensor:
        """(N, max V_n, 3) vertex normals, zero padded."""
        return self._pad(self.verts_normals_packed(), self.verts_padded_to_packed_idx(), self._V, 0.0)

    # ------------------------------------------------------------------ edges
    def _compute_edges(self) -> None:
        if self._edges_packed is not None:
            return
        faces = self._faces_packed
        nfaces, nverts = faces.shape[0], max(self._verts_packed.shape[0], 1)
        # Edge k of a face is the one opposite its vertex k: (v1, v2), (v2, v0), (v0, v1).
        edges = torch.cat([faces[:, [1, 2]], faces[:, [2, 0]], faces[:, [0, 1]]], 0).sort(dim=1).values
        key = edges[:, 0] * nverts + edges[:, 1]
        unique, inverse = torch.unique(key, sorted=True, return_inverse=True)
        self._edges_packed = torch.stack([unique // nverts, unique % nverts], dim=1)
        owner = self._faces_packed_to_mesh_idx.repeat(3)
        e2m = torch.zeros(unique.shape[0], dtype=torch.int64, device=self.device).scatter_(0, inverse, owner)
        self._edges_packed_to_mesh_idx = e2m
        self._faces_packed_to_edges_packed = inverse.reshape(3, nfaces).t()
        counts = torch.bincount(e2m, minlength=self._N)
        self._num_edges_per_mesh = counts
        self._mesh_to_edges_packed_first_idx = _exclusive_cumsum(counts)

    def edges_packed(self) -> torch.Tensor:
        """(sum E_n, 2) unique undirected edges (v_a < v_b), sorted, indexing verts_packed."""
        self._compute_edges()
        return self._edges_packed

    def edges_packed_to_mesh_idx(self) -> torch.Tensor:
        """(sum E_n,) mesh index of each packed edge."""
        self._compute_edges()
        return self._edges_packed_to_mesh_idx

    def num_edges_per_mesh(self) -> torch.Tensor:
        """(N,) number of unique edges of each mesh."""
        self._compute_edges()
        return self._num_edges_per_mesh

    def mesh_to_edges_packed_first_idx(self) -> torch.Tensor:
        """(N,) index in edges_packed of each mesh's first edge."""
        self._compute_edges()
        return self._mesh_to_edges_packed_first_idx

    def faces_packed_to_edges_packed(self) -> torch.Tensor:
        """(sum F_n, 3) for each face, the packed index of the edge opposite each of its vertices."""
        self._compute_edges()
        return self._faces_packed_to_edges_packed

    # ------------------------------------------------------------------ laplacian
    def laplacian_packed(self) -> torch.Tensor:
        """(sum V_n, sum V_n) sparse uniform Laplacian of the packed verts (core.ops.laplacian).

        L[i, i] = -1 and L[i, j] = 1 / deg(i) for each edge (i, j); it depends on the topology
        only, so it is built once (in the verts' dtype). Empty meshes give a (0, 0) matrix.
        """
        if self._laplacian_packed is None:
            from core.ops.laplacian_matrices import (
                laplacian,  # local: core.ops sits above core.structures
            )

            if self.isempty():
                empty = torch.zeros((0, 0), dtype=self._verts_packed.dtype, device=self.device)
                self._laplacian_packed = empty.to_sparse()
            else:
                self._laplacian_packed = laplacian(self._verts_packed.detach(), self.edges_packed())
        return self._laplacian_packed

    # ------------------------------------------------------------------ modifying verts
    def _replace_verts_packed(self, new_packed: torch.Tensor, keep_given_normals: bool) -> None:
        """Install new packed verts and drop every cache that depended on the old ones."""
        self._verts_packed = new_packed
        for name in _GEOMETRY_CACHES:
            setattr(self, name, None)
        if not (keep_given_normals and self._verts_normals_given):
            self._verts_normals_packed = None
            self._verts_normals_given = False

    def offset_verts_(self, vert_offsets_packed: torch.Tensor) -> "Meshes":
        """Add (3,) or (sum V_n, 3) offsets to the vertices in place; returns self."""
        packed = self._verts_packed
        if not torch.is_tensor(vert_offsets_packed):
            raise TypeError("vert_offsets_packed must be a tensor")
        uniform = tuple(vert_offsets_packed.shape) == (3,)
        if not uniform and vert_offsets_packed.shape != packed.shape:
            raise ValueError(
                f"vert offsets must have shape (3,) or {tuple(packed.shape)}; got {tuple(vert_offsets_packed.shape)}"
            )
        self._replace_verts_packed(packed + vert_offsets_packed.to(packed.device), keep_given_normals=uniform)
        return self

    def offset_verts(self, vert_offsets_packed: torch.Tensor) -> "Meshes":
        """Out-of-place offset_verts_: a new Meshes with offset vertices."""
        return self.clone().offset_verts_(vert_offsets_packed)

    def scale_verts_(self, scale: Union[float, torch.Tensor]) -> "Meshes":
        """Multiply each mesh's vertices by a scalar or a (N,) tensor, in place; returns self."""
        if not torch.is_tensor(scale):
            scale = torch.full((self._N,), float(scale), device=self.device, dtype=self._verts_packed.dtype)
        scale = scale.to(self.device).reshape(-1)
        if scale.numel() == 1:
            scale = scale.expand(self._N)
        if scale.shape[0] != self._N:
            raise ValueError(f"scale must be a scalar or have shape ({self._N},); got {tuple(scale.shape)}")
        factor = scale[self._verts_packed_to_mesh_idx][:, None]
        self._replace_verts_packed(self._verts_packed * factor, keep_given_normals=True)
        return self

    def scale_verts(self, scale: Union[float, torch.Tensor]) -> "Meshes":
        """Out-of-place scale_verts_."""
        return self.clone().scale_verts_(scale)

    def update_padded(self, new_verts_padded: torch.Tensor) -> "Meshes":
        """A new Meshes with verts_padded replaced (same topology and textures, caches rebuilt)."""
        expected = (self._N, self._V, 3)
        if not torch.is_tensor(new_verts_padded) or tuple(new_verts_padded.shape) != expected:
            got = tuple(new_verts_padded.shape) if torch.is_tensor(new_verts_padded) else type(new_verts_padded)
            raise ValueError(f"new_verts_padded must have shape {expected}; got {got}")
        # Same topology: share every index tensor, swap the vertices. No value check here, so that
        # projected coordinates (which may be Inf on the camera plane) can travel in a Meshes;
        # the rasterizer checks the world-space vertices it is given.
        new = self._map(lambda t: t, self.textures)
        packed = new_verts_padded.reshape(-1, 3)
        if not (self.equisized and self._nv and self._V == self._nv[0]):
            packed = packed[self.verts_padded_to_packed_idx()]
        new._replace_verts_packed(packed, keep_given_normals=False)
        new._verts_padded = new_verts_padded
        return new

    # ------------------------------------------------------------------ copies and devices
    def _map(self, fn: Any, textures: Any) -> "Meshes":
        other = self.__class__.__new__(self.__class__)
        other.__dict__.update(self.__dict__)
        for name in _TENSOR_ATTRS:
            value = getattr(self, name)
            setattr(other, name, None if value is None else fn(value))
        for name in _TENSOR_LIST_ATTRS:
            value = getattr(self, name)
            setattr(other, name, None if value is None else [fn(t) for t in value])
        other.textures = textures
        return other

    def clone(self) -> "Meshes":
        """Deep copy: every tensor cloned (still differentiable), textures cloned."""
        tex = None if self.textures is None else self.textures.clone()
        return self._map(lambda t: t.clone(), tex)

    def detach(self) -> "Meshes":
        """Copy with every tensor detached from the autograd graph; textures detached."""
        tex = None if self.textures is None else self.textures.detach()
        return self._map(lambda t: t.detach(), tex)

    def to(self, device: Device, copy: bool = False) -> "Meshes":
        """self if already on `device` (and not copy), else a copy moved to `device`."""
        device = _as_device(device)
        if device == self.device:
            return self.clone() if copy else self
        tex = None if self.textures is None else self.textures.to(device)
        other = self._map(lambda t: t.to(device), tex)
        other.device = device
        return other

    def cpu(self) -> "Meshes":
        return self.to("cpu")

    def cuda(self) -> "Meshes":
        return self.to("cuda")

    # ------------------------------------------------------------------ batching
    def extend(self, N: int) -> "Meshes":
        """A new Meshes holding each mesh N times in a row (mesh0 x N, mesh1 x N, ...)."""
        if not isinstance(N, int) or isinstance(N, bool):
            raise ValueError(f"N must be an int; got {type(N).__name__}")
        if N <= 0:
            raise ValueError(f"N must be > 0; got {N}")
        verts, faces = [], []
        for v, f in zip(self.verts_list(), self.faces_list()):
            verts.extend(v.clone() for _ in range(N))
            faces.extend(f.clone() for _ in range(N))
        tex = None if self.textures is None else self.textures.extend(N)
        return self.__class__(verts=verts, faces=faces, textures=tex)

    def split(self, split_sizes: Sequence[int]) -> List["Meshes"]:
        """Consecutive sub-batches of the given sizes."""
        if not all(isinstance(s, int) for s in split_sizes):
            raise ValueError("split_sizes must be a list of ints")
        out, start = [], 0
        for s in split_sizes:
            out.append(self[start:start + s])
            start += s
        return out

    def submeshes(self, face_indices: Union[Sequence[Sequence[torch.Tensor]], Sequence[torch.Tensor], torch.Tensor]) -> "Meshes":
        """A batch of submeshes: for each mesh n, one submesh per index tensor in face_indices[n].

        face_indices: one entry per mesh, each a list of 1-D long tensors (face ids of that
        mesh, one tensor per submesh; an empty list gives no submesh), or an (S_n, F) tensor,
        or an (N, S, F) tensor for S submeshes of F faces each. A submesh keeps only the
        vertices its faces use, in ascending order of their old index, and its faces are
        renumbered to match. Vertex textures follow their vertices; other textures cannot be
        cut this way (ValueError), as in PyTorch3D.
        """
        if self.textures is not None and not hasattr(self.textures, "verts_features_list"):
            raise ValueError("Submesh extraction only works with no textures or TexturesVertex.")
        if len(face_indices) != self._N:
            raise ValueError("You must specify exactly one set of submeshes for each mesh in this Meshes object.")
        sub_verts, sub_faces, kept_features = [], [], []
        features = None if self.textures is None else self.textures.verts_features_list()
        for n, (face_ids_per_mesh, faces, verts) in enumerate(zip(face_indices, self.faces_list(), self.verts_list())):
            for face_ids in face_ids_per_mesh:
                faces_to_keep = faces[face_ids]
                # Kept vertex ids, sorted; each face corner becomes the rank of its old id.
                kept, renumbered = torch.unique(faces_to_keep, sorted=True, return_inverse=True)
                sub_verts.append(verts[kept])
                sub_faces.append(renumbered.reshape(-1, 3))
                if features is not None:
                    kept_features.append(features[n][kept])
        textures = None if features is None else type(self.textures)(kept_features)
        return self.__class__(verts=sub_verts, faces=sub_faces, textures=textures)

    def get_bounding_boxes(self) -> torch.Tensor:
        """(N, 3, 2) per-mesh [min, max] along each axis."""
        boxes = [torch.stack([v.min(0).values, v.max(0).values], dim=1) for v in self.verts_list()]
        return torch.stack(boxes, 0)

    def sample_textures(self, fragments: Any) -> torch.Tensor:
        """Texel colours for `fragments`, delegated to the textures with the packed faces."""
        if self.textures is None:
            raise ValueError("Meshes has no textures to sample")
        return self.textures.sample_textures(fragments, faces_packed=self.faces_packed())


def join_meshes_as_batch(meshes: Sequence[Meshes], include_textures: bool = True) -> Meshes:
    """Concatenate several Meshes batches into one batch (textures joined with join_batch)."""
    if isinstance(meshes, Meshes):
        raise ValueError("join_meshes_as_batch expects a list of Meshes, not a Meshes")
    meshes = list(meshes)
    if not all(isinstance(m, Meshes) for m in meshes):
        raise ValueError("join_meshes_as_batch expects a list of Meshes")
    verts = [v for m in meshes for v in m.verts_list()]
    faces = [f for m in meshes for f in m.faces_list()]
    if not meshes or not include_textures:
        return Meshes(verts=verts, faces=faces)
    has_tex = [m.textures is not None for m in meshes]
    if not any(has_tex):
        return Meshes(verts=verts, faces=faces)
    if not all(has_tex):
        raise ValueError("join_meshes_as_batch: either all or none of the meshes must have textures")
    first = meshes[0].textures
    if any(type(m.textures) is not type(first) for m in meshes):
        raise ValueError("join_meshes_as_batch: all meshes must have the same type of textures")
    tex = first.join_batch([m.textures for m in meshes[1:]])
    return Meshes(verts=verts, faces=faces, textures=tex)


def join_meshes_as_scene(meshes: Union[Meshes, Sequence[Meshes]], include_textures: bool = True) -> Meshes:
    """One mesh holding every mesh of a batch (or of a list of batches), as one scene to render.

    Vertices and faces are concatenated in packed order; textures are joined with their
    `join_scene` (UV maps into one atlas that samples as before), as in PyTorch3D.
    """
    if not isinstance(include_textures, (bool, int)):
        # Catches join_meshes_as_scene(mesh1, mesh2), which would otherwise drop mesh2 silently.
        raise ValueError(
            f"include_textures must be a bool; got {type(include_textures).__name__} "
            "(to join several Meshes pass them as a list)"
        )
    batch = meshes if isinstance(meshes, Meshes) else join_meshes_as_batch(meshes, include_textures)
    textures = batch.textures.join_scene() if include_textures and batch.textures is not None else None
    return Meshes(verts=[batch.verts_packed()], faces=[batch.faces_packed()], textures=textures)
