"""Near-plane clipping (RasterizationSettings.z_clip_value, PyTorch3D's default znear / 2).

Truth is independent of the rasterizer: rays cast through the pixel centres in float64 numpy,
intersected with the world-space triangles. A camera at the origin looking down +z (R = I,
T = 0, so view = world) with a 90° or 120° field of view keeps the arithmetic plain:
NDC x = x / (z tan(fov / 2)).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

from core import renderer as R
from core.renderer.mesh import rasterize_meshes as raster_module
from core.structures import Meshes
from tests.core.ray_casting import pixel_rays, ray_hits

EYE = torch.eye(3)[None]
ORIGIN = torch.zeros(1, 3)


def _camera(fov: float = 90.0, dtype=torch.float32, **kw) -> R.FoVPerspectiveCameras:
    return R.FoVPerspectiveCameras(fov=fov, R=EYE.to(dtype), T=ORIGIN.to(dtype), **kw)


# Two triangles crossing the plane z = 0.5 in front of a 90° camera: the first with two
# vertices behind it (cut to a triangle), the second with one (cut to a quadrilateral).
CROSSING = np.array(
    [
        [[0.1, 0.9, 2.0], [-0.9, -0.2, 0.2], [0.6, -0.5, -0.3]],
        [[-1.0, 0.8, 1.2], [0.9, -0.9, 1.6], [0.1, 0.2, 0.2]],
    ]
)


def _mesh(triangles: np.ndarray, dtype=torch.float32) -> Meshes:
    verts = torch.tensor(triangles.reshape(-1, 3), dtype=dtype)
    faces = torch.arange(verts.shape[0]).reshape(-1, 3)
    return Meshes([verts], [faces])


@pytest.mark.parametrize("face", [0, 1])
def test_coverage_and_barycentrics_match_ray_casting(face):
    size, fov, z_clip = 64, 90.0, 0.5
    tri = CROSSING[face : face + 1]
    settings = R.RasterizationSettings(image_size=size)
    frags = R.MeshRasterizer(_camera(fov), settings)(_mesh(tri))
    assert settings.z_clip_value is None  # resolved from znear = 1
    t, bary = ray_hits(pixel_rays(size, fov), tri[0])
    hit = (bary.min(-1) > 0) & (t >= z_clip)
    # pixels within 1e-6 of an edge or of the clip plane may go either way
    clear = (np.abs(bary).min(-1) > 1e-6) & (np.abs(t - z_clip) > 1e-6)
    covered = frags.pix_to_face[0, ..., 0].numpy() >= 0
    assert hit.sum() > 200 and (hit & (t < 1.0)).sum() > 0  # the cut matters here
    assert np.array_equal(covered[clear], hit[clear])

    # The returned barycentrics are the original face's (perspective-correct) ones: they
    # interpolate the original world vertices to the point the pixel's ray hits.
    got = frags.bary_coords[0, ..., 0, :].numpy()[covered & clear]
    np.testing.assert_allclose(got, bary[covered & clear], atol=2e-5)
    np.testing.assert_allclose(frags.zbuf[0, ..., 0].numpy()[covered & clear], t[covered & clear], rtol=1e-5)
    assert frags.zbuf[0, ..., 0][frags.pix_to_face[0, ..., 0] >= 0].min() >= z_clip - 1e-6


def test_without_clipping_faces_through_the_near_plane_render_in_full_or_not_at_all():
    """What clipping changes: without a z_clip (none resolves without perspective correction)
    a face with a vertex behind the camera is dropped, and one that only reaches inside the
    clip plane is drawn in full."""
    size = 32
    mesh = _mesh(CROSSING)
    clipped = R.MeshRasterizer(_camera(), R.RasterizationSettings(image_size=size))(mesh)
    unclipped = R.MeshRasterizer(_camera(), R.RasterizationSettings(image_size=size, perspective_correct=False))(mesh)
    assert set(torch.unique(clipped.pix_to_face).tolist()) == {-1, 0, 1}
    assert set(torch.unique(unclipped.pix_to_face).tolist()) == {-1, 1}  # face 0 has a vertex at z < 0
    assert clipped.zbuf[clipped.pix_to_face >= 0].min() >= 0.5 - 1e-6
    assert unclipped.zbuf[unclipped.pix_to_face >= 0].min() < 0.4


def test_inside_a_room_every_pixel_sees_a_wall_at_the_right_depth():
    """A camera inside a box with a 120° view: the side walls run from behind the camera to in
    front of it. Clipped, they cover every pixel at the depth where the pixel's ray leaves the
    box; without clipping they were dropped, leaving holes. (The box is off-centre so that no
    pixel centre looks exactly along one of its edges.)"""
    size, fov = 48, 120.0
    lo, hi = np.array([-1.03, -0.97, -1.0]), np.array([0.96, 1.02, 1.01])
    corners = np.array([[(lo, hi)[i][0], (lo, hi)[j][1], (lo, hi)[k][2]] for i in (0, 1) for j in (0, 1) for k in (0, 1)])
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = torch.tensor([f for a, b, c, d in quads for f in ((a, b, c), (a, c, d))])
    mesh = Meshes([torch.tensor(corners, dtype=torch.float32)], [faces])
    frags = R.MeshRasterizer(_camera(fov), R.RasterizationSettings(image_size=size))(mesh)
    rays = pixel_rays(size, fov)
    with np.errstate(divide="ignore"):
        exits = np.where(rays > 0, hi / rays, np.where(rays < 0, lo / rays, np.inf))
    depth = exits.min(-1)  # the ray t·d leaves the box at the first wall it reaches
    assert (frags.pix_to_face[0, ..., 0] >= 0).all()
    np.testing.assert_allclose(frags.zbuf[0, ..., 0].numpy(), depth, rtol=1e-5)
    old = R.MeshRasterizer(_camera(fov), R.RasterizationSettings(image_size=size, perspective_correct=False))(mesh)
    assert (old.pix_to_face[0, ..., 0] < 0).sum() > size * size // 4


def test_split_faces_appear_once_per_pixel_and_twins_are_needed(monkeypatch):
    """Soft rasterization (blur, K = 8): a face cut to a quadrilateral is rasterized as two
    triangles, and near their shared diagonal a pixel lies within the blur radius of both.
    PyTorch3D keeps the nearer one only; without that rule the same face fills two slots."""
    settings = R.RasterizationSettings(image_size=48, blur_radius=1e-3, faces_per_pixel=8)
    mesh = _mesh(CROSSING[1:])

    def repeated(frags) -> int:
        p2f = frags.pix_to_face[0]
        same = (p2f[..., :, None] == p2f[..., None, :]) & (p2f[..., :, None] >= 0)
        return int(same.sum() - (p2f >= 0).sum())

    frags = R.MeshRasterizer(_camera(), settings)(mesh)
    assert repeated(frags) == 0
    # The half kept is the one containing the pixel: every pixel whose ray meets the visible
    # part of the face is inside it (negative distance), the diagonal between the halves
    # included, where PyTorch3D's nearer-half rule left the sign to rounding.
    t, bary = ray_hits(pixel_rays(48, 90.0), CROSSING[1])
    hit = (bary.min(-1) > 1e-6) & (t > 0.5 + 1e-6)
    slot0 = frags.pix_to_face[0, ..., 0].numpy()
    assert hit.sum() > 300 and (slot0[hit] == 0).all()
    assert (frags.dists[0, ..., 0].numpy()[hit] < 0).all()
    monkeypatch.setattr(raster_module, "_one_of_twins", lambda rows, twins: rows)
    assert repeated(R.MeshRasterizer(_camera(), settings)(mesh)) > 0


def test_resolved_clip_value_follows_pytorch3d():
    """z_clip_value None → znear / 2 for perspective-correct rasterization with a camera that
    has znear; an explicit value wins; PerspectiveCameras (no znear) do not clip."""
    tri = np.array([[[0.0, 0.5, 3.0], [-0.5, -0.5, 0.8], [0.5, -0.5, 0.8]]])  # nearest at z 0.8
    mesh = _mesh(tri)

    def nearest_depth(cameras, **settings) -> float:
        frags = R.MeshRasterizer(cameras, R.RasterizationSettings(image_size=64, **settings))(mesh)
        return float(frags.zbuf[frags.pix_to_face >= 0].min())

    assert nearest_depth(_camera()) < 1.0  # znear 1 → clip at 0.5: nothing cut
    assert nearest_depth(_camera(znear=2.0)) >= 1.0 - 1e-6  # clip at 1.0
    assert nearest_depth(_camera(), z_clip_value=1.5) >= 1.5 - 1e-6
    sfm = R.PerspectiveCameras(focal_length=1.0, R=EYE, T=ORIGIN)
    assert nearest_depth(sfm) < 1.0
    assert nearest_depth(sfm, z_clip_value=1.5) >= 1.5 - 1e-6


def test_batch_with_a_clipped_face_equals_its_elements_alone():
    inside = np.array([[[0.2, 0.4, 2.0], [-0.5, -0.3, 2.5], [0.4, -0.4, 1.8]]])
    meshes = [_mesh(inside), _mesh(CROSSING), _mesh(inside)]
    settings = R.RasterizationSettings(image_size=24, blur_radius=1e-3, faces_per_pixel=4)
    batch = Meshes([m.verts_list()[0] for m in meshes], [m.faces_list()[0] for m in meshes])
    together = R.MeshRasterizer(_camera(), settings)(batch)
    offsets = np.cumsum([0] + [m.faces_packed().shape[0] for m in meshes])
    for i, mesh in enumerate(meshes):
        alone = R.MeshRasterizer(_camera(), settings)(mesh)
        p2f = together.pix_to_face[i]
        assert torch.equal(torch.where(p2f >= 0, p2f - int(offsets[i]), p2f), alone.pix_to_face[0])
        for name in ("zbuf", "bary_coords", "dists"):
            assert torch.equal(getattr(together, name)[i], getattr(alone, name)[0]), name


def test_gradcheck_through_clipped_faces_hard_and_soft():
    """float64 gradcheck of bary/zbuf (hard) and dists (soft) with respect to world vertices,
    both clipped faces included. The cut positions move with the vertices and are part of
    the derivative (PyTorch3D detaches one of the two)."""
    size, blur = 8, 2e-3
    cams = _camera(dtype=torch.float64)
    faces = torch.arange(6).reshape(2, 3)
    verts = torch.tensor(CROSSING.reshape(-1, 3), dtype=torch.float64, requires_grad=True)
    # Selection must not change under the finite-difference step: no pixel centre near an edge
    # of a clipped face (the cut and the diagonal between twins included) or the blur cut-off.
    probe = R.MeshRasterizer(cams, R.RasterizationSettings(image_size=size, blur_radius=8e-3, faces_per_pixel=6))
    d2 = probe(Meshes([verts.detach()], [faces])).dists
    d2 = d2[d2 != -1].abs()
    assert d2.min() > 1e-4 and (d2 - blur).abs().min() > 1e-5
    hard = R.MeshRasterizer(cams, R.RasterizationSettings(image_size=size))
    soft = R.MeshRasterizer(cams, R.RasterizationSettings(image_size=size, blur_radius=blur, faces_per_pixel=3))
    gen = torch.Generator().manual_seed(0)
    weights_bary = torch.rand(1, size, size, 1, 3, generator=gen, dtype=torch.float64)
    weights_z = torch.rand(1, size, size, 1, generator=gen, dtype=torch.float64)
    weights_d = torch.rand(1, size, size, 3, generator=gen, dtype=torch.float64)

    def hard_loss(v):
        frags = hard(Meshes([v], [faces]))
        valid = (frags.pix_to_face >= 0).to(v.dtype)
        return (frags.bary_coords * weights_bary * valid[..., None]).sum() + (frags.zbuf * weights_z * valid).sum()

    def soft_loss(v):
        frags = soft(Meshes([v], [faces]))
        return (frags.dists * weights_d * (frags.pix_to_face >= 0).to(v.dtype)).sum()

    assert set(torch.unique(hard(Meshes([verts.detach()], [faces])).pix_to_face).tolist()) == {-1, 0, 1}
    assert gradcheck(hard_loss, (verts,), eps=1e-7, atol=1e-5, rtol=1e-4)
    assert gradcheck(soft_loss, (verts,), eps=1e-7, atol=1e-5, rtol=1e-4)


def test_faces_wholly_in_front_are_untouched():
    """No face reaching behind the plane: the same fragments, bit for bit, as without clipping."""
    tri = np.array([[[0.0, 0.5, 3.0], [-0.5, -0.5, 2.0], [0.5, -0.5, 2.5]]])
    projected = R.MeshRasterizer(_camera()).transform(_mesh(tri))
    base = dict(image_size=32, blur_radius=1e-3, faces_per_pixel=3, perspective_correct=True, clip_barycentric_coords=True)
    with_clip = raster_module.rasterize_meshes(projected, z_clip_value=1.9, **base)
    no_clip = raster_module.rasterize_meshes(projected, z_clip_value=None, **base)
    assert (with_clip[0] >= 0).sum() > 20
    for got, want in zip(with_clip, no_clip):
        assert torch.equal(got, want)


def _clip_polygon(points: np.ndarray, colours: np.ndarray, z_clip: float):
    """Sutherland–Hodgman against z >= z_clip, in world space; colours interpolated along edges."""
    out_p, out_c = [], []
    for i in range(len(points)):
        a, b = points[i], points[(i + 1) % len(points)]
        ca, cb = colours[i], colours[(i + 1) % len(points)]
        if a[2] >= z_clip:
            out_p.append(a)
            out_c.append(ca)
        if (a[2] >= z_clip) != (b[2] >= z_clip):
            t = (z_clip - a[2]) / (b[2] - a[2])
            out_p.append(a + t * (b - a))
            out_c.append(ca + t * (cb - ca))
    return out_p, out_c


def test_shaded_image_equals_a_mesh_clipped_by_hand():
    """End to end: the room rendered with flat shading and vertex colours equals the same room
    clipped beforehand in world space (polygons cut at z = 0.5 and fanned into triangles,
    colours interpolated along the cut edges) and rendered with no face behind the plane."""
    size, fov, z_clip = 40, 120.0, 0.5
    lo, hi = np.array([-1.03, -0.97, -1.0]), np.array([0.96, 1.02, 1.01])
    corners = np.array([[(lo, hi)[i][0], (lo, hi)[j][1], (lo, hi)[k][2]] for i in (0, 1) for j in (0, 1) for k in (0, 1)])
    colours = np.random.default_rng(3).uniform(0.2, 1.0, (8, 3))
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = [f for a, b, c, d in quads for f in ((a, b, c), (a, c, d))]
    verts_cut, colours_cut, faces_cut = [], [], []
    for face in faces:
        points, cols = _clip_polygon(corners[list(face)], colours[list(face)], z_clip)
        first = len(verts_cut)
        verts_cut += points
        colours_cut += cols
        faces_cut += [(first, first + i, first + i + 1) for i in range(1, len(points) - 1)]

    def render(verts, faces, cols):
        mesh = Meshes(
            [torch.tensor(np.array(verts), dtype=torch.float32)], [torch.tensor(faces)],
            textures=R.TexturesVertex([torch.tensor(np.array(cols), dtype=torch.float32)]),
        )
        cams = _camera(fov)
        lights = R.PointLights(location=[[0.2, 0.3, 0.0]])
        renderer = R.MeshRenderer(
            R.MeshRasterizer(cams, R.RasterizationSettings(image_size=size)),
            R.HardFlatShader(cameras=cams, lights=lights),
        )
        return renderer(mesh)[0].numpy()

    ours = render(corners, faces, colours)
    by_hand = render(verts_cut, faces_cut, colours_cut)
    assert (ours[..., 3] == 1).all()
    err = np.abs(ours - by_hand)
    assert err.mean() < 1e-5 and (err > 1e-3).mean() < 0.005, (err.mean(), (err > 1e-3).mean())
