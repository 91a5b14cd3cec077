"""Phong / Gouraud / flat shading on hand-built fragments, plus PyTorch3D reference scenes.

Meshes and cameras are tiny stand-ins exposing only what the shading functions use, so these
tests do not depend on core.structures or core.renderer.cameras.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.renderer.lighting import AmbientLights, DirectionalLights, PointLights
from core.renderer.materials import Materials
from core.renderer.mesh.fragments import Fragments
from core.renderer.mesh.shading import (
    _apply_lighting,
    flat_shading,
    gouraud_shading,
    phong_shading,
)
from core.renderer.mesh.textures import TexturesUV, TexturesVertex
from tests.shared_data import require_shared


class StubMeshes:
    """Packed verts/faces/normals of a batch; normals are given or computed as PyTorch3D does."""

    def __init__(self, verts_list, faces_list, textures=None, verts_normals=None, faces_normals=None):
        offsets = np.cumsum([0] + [len(v) for v in verts_list[:-1]])
        self._verts = torch.cat(verts_list)
        self._faces = torch.cat([f + int(o) for f, o in zip(faces_list, offsets)])
        self._idx = torch.cat([torch.full((len(v),), i, dtype=torch.int64) for i, v in enumerate(verts_list)])
        self._n = len(verts_list)
        self.textures = textures
        self._verts_normals = verts_normals
        self._faces_normals = faces_normals

    def __len__(self):
        return self._n

    def verts_packed(self):
        return self._verts

    def faces_packed(self):
        return self._faces

    def verts_packed_to_mesh_idx(self):
        return self._idx

    def verts_normals_packed(self):
        if self._verts_normals is not None:
            return self._verts_normals
        v, f = self._verts, self._faces
        v0, v1, v2 = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
        n = torch.zeros_like(v)
        n = n.index_add(0, f[:, 1], torch.cross(v2 - v1, v0 - v1, dim=1))
        n = n.index_add(0, f[:, 2], torch.cross(v0 - v2, v1 - v2, dim=1))
        n = n.index_add(0, f[:, 0], torch.cross(v1 - v0, v2 - v0, dim=1))
        return F.normalize(n, eps=1e-6, dim=1)

    def faces_normals_packed(self):
        if self._faces_normals is not None:
            return self._faces_normals
        v, f = self._verts, self._faces
        v0, v1, v2 = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
        return F.normalize(torch.cross(v2 - v1, v0 - v1, dim=1), eps=1e-6, dim=1)


class StubCameras:
    def __init__(self, centers):
        self.centers = torch.as_tensor(centers, dtype=torch.float32)

    def get_camera_center(self):
        return self.centers


def _frags(pix_to_face, bary):
    pix_to_face = torch.as_tensor(pix_to_face, dtype=torch.int64)
    zeros = torch.zeros(pix_to_face.shape)
    return Fragments(pix_to_face, zeros, torch.as_tensor(bary, dtype=torch.float32), zeros)


def _unit(v):
    v = torch.as_tensor(v, dtype=torch.float64)
    return v / v.norm()


def _phong_ref(p, n, l, cam, texel, amb=0.5, dif=0.3, spe=0.2, shin=64.0):
    """Scalar reference of CONVENTIONS.md's colour formula for one fragment (all float64)."""
    n, l = _unit(n), _unit(l)
    v = _unit(torch.as_tensor(cam, dtype=torch.float64) - torch.as_tensor(p, dtype=torch.float64))
    nl = float(n @ l)
    r = -l + 2 * nl * n
    spec = (max(float(v @ r), 0.0) * (nl > 0)) ** shin
    return (amb + dif * max(nl, 0.0)) * torch.as_tensor(texel, dtype=torch.float64) + spe * spec


# Face-on triangle in the z = 0 plane with its centroid at the origin, facing +z.
TRI_VERTS = torch.tensor([[-1.0, -1.0, 0.0], [1.0, -1.0, 0.0], [0.0, 2.0, 0.0]])
TRI_FACES = torch.tensor([[0, 1, 2]])
UP = torch.tensor([[0.0, 0.0, 1.0]]).expand(3, 3)


def test_phong_face_on_triangle_lit_head_on():
    meshes = StubMeshes([TRI_VERTS], [TRI_FACES], verts_normals=UP)
    lights = DirectionalLights(direction=((0.0, 0.0, 1.0),))
    cams = StubCameras([[0.0, 0.0, 5.0]])
    texel = torch.tensor([0.5, 0.25, 1.0])
    bary = torch.tensor([[1 / 3, 1 / 3, 1 / 3], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]).reshape(1, 1, 3, 1, 3)
    frags = _frags(torch.tensor([0, 0, -1]).reshape(1, 1, 3, 1), bary)
    texels = texel.expand(1, 1, 3, 1, 3)
    out = phong_shading(meshes, frags, lights, cams, Materials(), texels)
    assert out.shape == (1, 1, 3, 1, 3)
    # Centroid: n·l = 1 and the camera is on the reflected ray → ambient + diffuse + full specular.
    torch.testing.assert_close(out[0, 0, 0, 0], (0.5 + 0.3) * texel + 0.2)
    # Vertex 0 at (-1, -1, 0): v = (1, 1, 5)/√27, r = (0, 0, 1) → specular 0.2 (5/√27)^64.
    expected = (0.5 + 0.3) * texel + 0.2 * (5 / math.sqrt(27)) ** 64
    torch.testing.assert_close(out[0, 0, 1, 0], expected)
    # Empty fragment: zero normal → ambient only.
    torch.testing.assert_close(out[0, 0, 2, 0], 0.5 * texel)


def test_phong_interpolates_positions_and_normals_point_light():
    normals = F.normalize(torch.tensor([[0.3, 0.0, 1.0], [0.0, -0.4, 1.0], [-0.2, 0.5, 1.0]]), dim=1)
    meshes = StubMeshes([TRI_VERTS], [TRI_FACES], verts_normals=normals)
    light_loc = torch.tensor([0.5, 1.0, 2.0])
    lights = PointLights(location=light_loc[None], ambient_color=((0.1, 0.2, 0.3),))
    cam = torch.tensor([-1.0, 0.5, 3.0])
    mats = Materials(specular_color=((0.5, 1.0, 2.0),), shininess=8)
    baries = torch.tensor([[0.2, 0.3, 0.5], [0.7, 0.1, 0.2]])
    frags = _frags(torch.zeros(1, 1, 2, 1), baries.reshape(1, 1, 2, 1, 3))
    texels = torch.tensor([[0.9, 0.8, 0.7], [0.2, 0.4, 0.6]]).reshape(1, 1, 2, 1, 3)
    out = phong_shading(meshes, frags, lights, StubCameras(cam[None]), mats, texels)
    for i, b in enumerate(baries):
        p = (b[:, None] * TRI_VERTS).sum(0)
        n = (b[:, None] * normals).sum(0)
        l = light_loc - p
        nl = float(_unit(n) @ _unit(l))
        v = _unit(cam - p)
        r = -_unit(l) + 2 * nl * _unit(n)
        spec = (max(float(v @ r), 0.0) * (nl > 0)) ** 8
        ref = (torch.tensor([0.1, 0.2, 0.3]).double() + 0.3 * max(nl, 0.0)) * texels[0, 0, i, 0].double()
        ref = ref + 0.2 * torch.tensor([0.5, 1.0, 2.0]).double() * spec
        assert spec > 1e-3  # the highlight contributes
        torch.testing.assert_close(out[0, 0, i, 0].double(), ref, atol=1e-6, rtol=1e-5)


def test_gouraud_lights_vertices_then_interpolates():
    normals = F.normalize(torch.tensor([[0.3, 0.0, 1.0], [0.0, -0.4, 1.0], [-0.2, 0.5, 1.0]]), dim=1)
    colors = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    meshes = StubMeshes([TRI_VERTS], [TRI_FACES], textures=TexturesVertex([colors]), verts_normals=normals)
    light_loc = torch.tensor([0.5, 1.0, 2.0])
    lights = PointLights(location=light_loc[None])
    cam = torch.tensor([-1.0, 0.5, 3.0])
    mats = Materials(shininess=8)
    b = torch.tensor([0.2, 0.3, 0.5])
    frags = _frags(torch.tensor([[[[0, -1]]]]), torch.stack([b, torch.zeros(3)]).reshape(1, 1, 1, 2, 3))
    out = gouraud_shading(meshes, frags, lights, StubCameras(cam[None]), mats)
    vert_cols = [
        _phong_ref(TRI_VERTS[i], normals[i], light_loc - TRI_VERTS[i], cam, colors[i], shin=8.0) for i in range(3)
    ]
    ref = sum(float(b[i]) * vert_cols[i] for i in range(3))
    torch.testing.assert_close(out[0, 0, 0, 0].double(), ref, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(out[0, 0, 0, 1], torch.zeros(3))  # empty slot
    # Gouraud differs from Phong here (lighting is non-linear in position/normal).
    texels = TexturesVertex([colors]).sample_textures(frags, faces_packed=TRI_FACES)
    phong = phong_shading(meshes, frags, lights, StubCameras(cam[None]), mats, texels)
    assert (phong[0, 0, 0, 0] - out[0, 0, 0, 0]).abs().max() > 1e-3


def test_gouraud_requires_vertex_textures():
    tex = TexturesUV([torch.rand(2, 2, 3)], [TRI_FACES], [torch.rand(3, 2)])
    meshes = StubMeshes([TRI_VERTS], [TRI_FACES], textures=tex, verts_normals=UP)
    frags = _frags(torch.zeros(1, 1, 1, 1), torch.full((1, 1, 1, 1, 3), 1 / 3))
    with pytest.raises(ValueError, match="TexturesVertex"):
        gouraud_shading(meshes, frags, PointLights(), StubCameras([[0, 0, 3]]), Materials())


def test_flat_uses_face_normal_and_centroid():
    # Vertex normals are tilted, but flat shading must ignore them and use the face normal (+z).
    tilted = F.normalize(torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [-1.0, -1.0, 1.0]]), dim=1)
    meshes = StubMeshes([TRI_VERTS], [TRI_FACES], verts_normals=tilted)
    lights = DirectionalLights(direction=((0.0, 0.0, 1.0),))
    cams = StubCameras([[0.0, 0.0, 5.0]])
    texel = torch.tensor([0.5, 0.25, 1.0])
    bary = torch.tensor([[1.0, 0.0, 0.0], [0.1, 0.1, 0.8], [0.0, 0.0, 0.0]]).reshape(1, 1, 3, 1, 3)
    frags = _frags(torch.tensor([0, 0, -1]).reshape(1, 1, 3, 1), bary)
    out = flat_shading(meshes, frags, lights, cams, Materials(), texel.expand(1, 1, 3, 1, 3))
    # Every covered fragment is shaded at the centroid (origin) with normal +z: full highlight.
    torch.testing.assert_close(out[0, 0, 0, 0], (0.5 + 0.3) * texel + 0.2)
    torch.testing.assert_close(out[0, 0, 1, 0], (0.5 + 0.3) * texel + 0.2)
    torch.testing.assert_close(out[0, 0, 2, 0], 0.5 * texel)
    phong = phong_shading(meshes, frags, lights, cams, Materials(), texel.expand(1, 1, 3, 1, 3))
    assert (phong[0, 0, 0, 0] - out[0, 0, 0, 0]).abs().max() > 1e-2


def test_batched_lights_and_cameras_per_mesh():
    # Two meshes (3 and 4 verts); light, camera and material differ per batch element.
    v1 = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.3]])
    f1 = torch.tensor([[0, 1, 2], [1, 3, 2]])
    g = torch.Generator().manual_seed(0)
    colors = [torch.rand(3, 3, generator=g), torch.rand(4, 3, generator=g)]
    meshes = StubMeshes([TRI_VERTS, v1], [TRI_FACES, f1], textures=TexturesVertex(colors))
    lights = PointLights(location=((0.0, 0.0, 3.0), (2.0, 1.0, 2.0)), diffuse_color=((0.3, 0.3, 0.3), (0.6, 0.5, 0.4)))
    cams = StubCameras([[0.0, 0.0, 5.0], [1.0, -1.0, 4.0]])
    mats = Materials(shininess=torch.tensor([64.0, 4.0]))
    # Element 1 hits packed faces 1 and 2 (its faces 0 and 1).
    pix_to_face = torch.tensor([[[[0]], [[0]]], [[[1]], [[2]]]])  # (2, 2, 1, 1)
    bary = torch.tensor([0.2, 0.3, 0.5]).expand(2, 2, 1, 1, 3)
    frags = _frags(pix_to_face, bary)
    for shade in ("phong", "gouraud", "flat"):
        texels = meshes.textures.sample_textures(frags, faces_packed=meshes.faces_packed())
        args = (meshes, frags, lights, cams, mats)
        out = {
            "phong": lambda: phong_shading(*args, texels),
            "gouraud": lambda: gouraud_shading(*args),
            "flat": lambda: flat_shading(*args, texels),
        }[shade]()
        for n, (verts, faces) in enumerate([(TRI_VERTS, TRI_FACES), (v1, f1)]):
            single = StubMeshes([verts], [faces], textures=TexturesVertex([colors[n]]))
            local = (pix_to_face[n : n + 1] - (1 if n else 0)).clamp(min=0)
            fr = _frags(local, bary[n : n + 1])
            tx = single.textures.sample_textures(fr, faces_packed=single.faces_packed())
            l_n = PointLights(location=lights.location[n : n + 1], diffuse_color=lights.diffuse_color[n : n + 1])
            m_n = Materials(shininess=mats.shininess[n : n + 1])
            c_n = StubCameras(cams.centers[n : n + 1])
            ref = {
                "phong": lambda: phong_shading(single, fr, l_n, c_n, m_n, tx),
                "gouraud": lambda: gouraud_shading(single, fr, l_n, c_n, m_n),
                "flat": lambda: flat_shading(single, fr, l_n, c_n, m_n, tx),
            }[shade]()
            torch.testing.assert_close(out[n : n + 1], ref, msg=f"{shade} batch element {n}")
    # Batch elements really are lit differently.
    assert (out[0] - out[1]).abs().max() > 1e-3


def test_apply_lighting_terms_and_ambient_lights():
    torch.manual_seed(0)
    points, normals = torch.randn(2, 3, 4, 1, 3), torch.randn(2, 3, 4, 1, 3)
    lights = DirectionalLights(ambient_color=((0.1, 0.2, 0.3), (0.4, 0.5, 0.6)))
    mats = Materials(ambient_color=((0.5, 1.0, 2.0),))
    cams = StubCameras([[0.0, 0.0, 3.0]])
    ambient, diffuse, specular = _apply_lighting(points, normals, lights, cams, mats)
    assert ambient.shape == (2, 1, 1, 1, 3)
    torch.testing.assert_close(ambient[1, 0, 0, 0], torch.tensor([0.2, 0.5, 1.2]))
    torch.testing.assert_close(diffuse, lights.diffuse(normals, points))
    torch.testing.assert_close(specular, lights.specular(normals, points, cams.centers, mats.shininess))
    # Packed inputs keep a broadcastable ambient.
    a, d, s = _apply_lighting(points.reshape(-1, 3), normals.reshape(-1, 3), DirectionalLights(), cams, mats)
    assert (a + d + s).shape == (24, 3)
    # AmbientLights: colour = ambient · texel exactly.
    meshes = StubMeshes([TRI_VERTS], [TRI_FACES], verts_normals=UP)
    frags = _frags(torch.zeros(1, 1, 1, 1), torch.full((1, 1, 1, 1, 3), 1 / 3))
    texel = torch.tensor([0.3, 0.6, 0.9]).expand(1, 1, 1, 1, 3)
    out = phong_shading(meshes, frags, AmbientLights(ambient_color=((0.5, 1.0, 0.5),)), cams, Materials(), texel)
    torch.testing.assert_close(out[0, 0, 0, 0], torch.tensor([0.15, 0.6, 0.45]))


def test_phong_gradcheck_wrt_verts_and_texels():
    verts = (TRI_VERTS + 0.05 * torch.randn(3, 3, generator=torch.Generator().manual_seed(0))).double()
    verts.requires_grad_()
    normals = F.normalize(torch.tensor([[0.3, 0.0, 1.0], [0.0, -0.4, 1.0], [-0.2, 0.5, 1.0]]), dim=1).double()
    texels = torch.rand(1, 1, 2, 1, 3, dtype=torch.float64, requires_grad=True)
    bary = torch.tensor([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]], dtype=torch.float64).reshape(1, 1, 2, 1, 3)
    zeros = torch.zeros(1, 1, 2, 1)
    frags = Fragments(torch.zeros(1, 1, 2, 1, dtype=torch.int64), zeros, bary, zeros)
    lights = PointLights(location=((0.5, 1.0, 2.0),))
    cams = StubCameras([[-0.5, 0.5, 3.0]])

    def f(v, t):
        m = StubMeshes([v], [TRI_FACES], verts_normals=normals)
        return phong_shading(m, frags, lights, cams, Materials(shininess=8), t)

    assert torch.autograd.gradcheck(f, (verts, texels))


def test_pix_to_face_out_of_range_raises():
    meshes = StubMeshes([TRI_VERTS], [TRI_FACES], verts_normals=UP)
    frags = _frags(torch.ones(1, 1, 1, 1), torch.full((1, 1, 1, 1, 3), 1 / 3))
    with pytest.raises(ValueError, match="packed faces"):
        phong_shading(meshes, frags, PointLights(), StubCameras([[0, 0, 3]]), Materials(), torch.ones(1, 1, 1, 1, 3))


# ---------------------------------------------------------------------------------------------
# PyTorch3D reference renders: shade the stored fragments and hard-blend, compare the images.
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "scene",
    ["s01_sphere2_hardphong_point_64", "s08_sphere4_ortho_hardphong_directional_128", "s17_cow_uv_hardphong_128"],
)
def test_phong_matches_pytorch3d_reference(scene):
    path = require_shared(f"reference/p3d/{scene}.npz")
    d = {k: torch.from_numpy(v) for k, v in np.load(path).items()}
    if "verts_rgb" in d:
        tex = TexturesVertex([d["verts_rgb"]])
    else:
        tex = TexturesUV([d["tex_map_u8"].float() / 255], [d["faces_uvs"]], [d["verts_uvs"]])
    meshes = StubMeshes([d["verts"]], [d["faces"]], textures=tex)
    frags = Fragments(d["pix_to_face"], d["zbuf"], d["bary_coords"], d["dists"])
    colors = (d["light_ambient_color"], d["light_diffuse_color"], d["light_specular_color"])
    if "light_location" in d:
        lights = PointLights(*colors, location=d["light_location"])
    else:
        lights = DirectionalLights(*colors, direction=d["light_direction"])
    mats = Materials(d["mat_ambient_color"], d["mat_diffuse_color"], d["mat_specular_color"], d["mat_shininess"])
    cams = StubCameras(d["derived_camera_center"])
    texels = tex.sample_textures(frags, faces_packed=meshes.faces_packed())
    shaded = phong_shading(meshes, frags, lights, cams, mats, texels)[..., 0, :]
    covered = d["pix_to_face"][..., 0] >= 0
    image = torch.where(covered[..., None], shaded, d["blend_background_color"])
    assert covered.sum() > 500
    torch.testing.assert_close(image, d["images"][..., :3], atol=2e-5, rtol=1e-5)
