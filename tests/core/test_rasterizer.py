"""Rasterizer tests against independent truth computed in numpy.

Most cases build meshes whose vertices are already in NDC (x, y) with view-space z and call
`rasterize_meshes` directly, so that the expected coverage, depth, barycentrics and distances
follow from plane geometry alone: pixel centres x = (W-1-2col)/S, y = (H-1-2row)/S with
S = min(H, W); a point is inside a triangle when its barycentrics (from a 3x3 linear solve)
are all positive; the distance is the exact point-to-segment distance. A brute-force numpy
rasterizer written from CONVENTIONS.md's rules (per pixel, per face) checks random scenes.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core import renderer as R
from core.renderer.mesh import rasterize_meshes as RM
from core.structures import Meshes

# ----------------------------------------------------------------------------- independent truth


def pixel_centres(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """NDC x of each column and y of each row (CONVENTIONS.md: +X left, +Y up, short side [-1, 1])."""
    s = min(h, w)
    xs = np.array([(w - 1 - 2 * c) / s for c in range(w)], dtype=np.float64)
    ys = np.array([(h - 1 - 2 * r) / s for r in range(h)], dtype=np.float64)
    return xs, ys


def solve_bary(tri_xy: np.ndarray, px: float, py: float) -> np.ndarray:
    """Affine barycentrics of (px, py) in a 2D triangle by a linear solve (independent of edge functions)."""
    a = np.array([[tri_xy[0, 0], tri_xy[1, 0], tri_xy[2, 0]], [tri_xy[0, 1], tri_xy[1, 1], tri_xy[2, 1]], [1.0, 1.0, 1.0]])
    return np.linalg.solve(a, np.array([px, py, 1.0]))


def seg_dist2(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Squared distance from p to the segment ab."""
    ab = b - a
    t = float(np.dot(p - a, ab) / np.dot(ab, ab))
    t = min(1.0, max(0.0, t))
    q = a + t * ab
    return float(np.dot(p - q, p - q))


def tri_dist2(p: np.ndarray, tri_xy: np.ndarray) -> float:
    return min(seg_dist2(p, tri_xy[i], tri_xy[(i + 1) % 3]) for i in range(3))


def ref_rasterize(face_verts, face_img, n, h, w, k, blur=0.0, persp=False, clip=False, cull=False):
    """Brute-force per-pixel, per-face rasterizer following CONVENTIONS.md, in float64 numpy."""
    fv = np.asarray(face_verts, dtype=np.float64)
    face_img = np.asarray(face_img)
    xs, ys = pixel_centres(h, w)
    p2f = -np.ones((n, h, w, k), dtype=np.int64)
    zbuf = -np.ones((n, h, w, k))
    bary = -np.ones((n, h, w, k, 3))
    dists = -np.ones((n, h, w, k))
    for b in range(n):
        for r in range(h):
            for c in range(w):
                p = np.array([xs[c], ys[r]])
                cands = []
                for f in np.nonzero(face_img == b)[0]:
                    v = fv[f]
                    xy, z = v[:, :2], v[:, 2]
                    # signed area as edge(v2, v0, v1)
                    area = (xy[2, 0] - xy[0, 0]) * (xy[1, 1] - xy[0, 1]) - (xy[2, 1] - xy[0, 1]) * (xy[1, 0] - xy[0, 0])
                    if abs(area) <= 1e-8 or (cull and area < 0) or (z < 1e-8).any():
                        continue
                    g = math.sqrt(blur) if blur > 0 else 0.0
                    if not (xy[:, 0].min() - g <= p[0] <= xy[:, 0].max() + g and xy[:, 1].min() - g <= p[1] <= xy[:, 1].max() + g):
                        continue
                    wts = solve_bary(xy, p[0], p[1])
                    if persp:
                        top = wts * np.array([z[1] * z[2], z[2] * z[0], z[0] * z[1]])
                        wts = top / max(top.sum(), 1e-8)
                    inside = bool((wts > 0).all())
                    if clip:
                        wts = np.clip(wts, 0, None)
                        wts = wts / max(wts.sum(), 1e-5)
                    zz = float(wts @ z)
                    if zz < 0:
                        continue
                    d2 = tri_dist2(p, xy)
                    if not inside and not (blur > 0 and d2 < blur):
                        continue
                    cands.append((zz, int(f), wts, -d2 if inside else d2))
                cands.sort(key=lambda t: (t[0], t[1]))
                for slot, (zz, f, wts, d) in enumerate(cands[:k]):
                    p2f[b, r, c, slot] = f
                    zbuf[b, r, c, slot] = zz
                    bary[b, r, c, slot] = wts
                    dists[b, r, c, slot] = d
    return p2f, zbuf, bary, dists


def ndc_meshes(tris_per_mesh, dtype=torch.float64) -> Meshes:
    """Meshes whose triangles are given directly as (F, 3, 3) NDC-x, NDC-y, view-z arrays (one per mesh)."""
    verts, faces = [], []
    for tris in tris_per_mesh:
        t = torch.as_tensor(np.asarray(tris, dtype=np.float64), dtype=dtype).reshape(-1, 3)
        verts.append(t)
        faces.append(torch.arange(t.shape[0], dtype=torch.int64).reshape(-1, 3))
    return Meshes(verts=verts, faces=faces)


def raster(meshes, image_size, k=1, **kw):
    out = R.rasterize_meshes(meshes, image_size=image_size, faces_per_pixel=k, **kw)
    return [t.detach().numpy() for t in out]


def packed_face_verts(meshes: Meshes) -> tuple[np.ndarray, np.ndarray]:
    fv = meshes.verts_packed()[meshes.faces_packed()].detach().numpy()
    return fv, meshes.faces_packed_to_mesh_idx().numpy()


# A generic triangle: no pixel centre of an 8/16/32-pixel grid lies on or very near an edge.
TRI = np.array([[0.71, -0.62, 2.0], [-0.55, -0.31, 3.0], [0.13, 0.83, 4.0]])


def expected_coverage(tri_xy, h, w):
    xs, ys = pixel_centres(h, w)
    inside = np.zeros((h, w), dtype=bool)
    for r in range(h):
        for c in range(w):
            b = solve_bary(tri_xy, xs[c], ys[r])
            # keep test geometry unambiguous: no pixel centre on (or within rounding of) an edge
            assert np.abs(b).min() > 1e-6, f"pixel ({r}, {c}) lies on an edge of the test triangle"
            inside[r, c] = (b > 0).all()
    return inside


# ----------------------------------------------------------------------------- analytic single triangle


@pytest.mark.parametrize("flip", [False, True], ids=["ccw", "cw"])
@pytest.mark.parametrize("size", [8, 16, 32])
def test_single_triangle_matches_geometry(size, flip):
    tri = TRI[[0, 2, 1]] if flip else TRI
    p2f, zbuf, bary, dists = raster(ndc_meshes([tri]), size)
    cover = expected_coverage(tri[:, :2], size, size)
    assert cover.sum() > 3
    np.testing.assert_array_equal(p2f[0, ..., 0] == 0, cover)
    np.testing.assert_array_equal(p2f[0, ..., 0][~cover], -1)

    xs, ys = pixel_centres(size, size)
    # plane z = a x + b y + c through the three vertices (orthographic: depth is affine in NDC)
    abc = np.linalg.solve(np.c_[tri[:, :2], np.ones(3)], tri[:, 2])
    rows, cols = np.nonzero(cover)
    for r, c in zip(rows, cols):
        p = np.array([xs[c], ys[r]])
        assert zbuf[0, r, c, 0] == pytest.approx(abc[0] * p[0] + abc[1] * p[1] + abc[2], abs=1e-7)
        b = bary[0, r, c, 0]
        assert b.sum() == pytest.approx(1.0, abs=1e-7) and (b > 0).all()
        np.testing.assert_allclose(b @ tri[:, :2], p, atol=1e-7)  # sum_i b_i v_i = p
        assert dists[0, r, c, 0] == pytest.approx(-tri_dist2(p, tri[:, :2]), abs=1e-7)
        assert dists[0, r, c, 0] < 0
    # empty pixels: -1 in all four outputs
    assert (zbuf[0, ..., 0][~cover] == -1).all()
    assert (dists[0, ..., 0][~cover] == -1).all()
    assert (bary[0, ..., 0, :][~cover] == -1).all()


def test_quad_covers_exact_pixel_block():
    # Quad over NDC [-0.5, 0.5]^2 split along x == y. On 8x8 the pixel centres are +-0.125,
    # +-0.375, +-0.625, +-0.875, so the covered block is rows/cols 2..5.
    q = [[0.5, 0.5, 1.0], [-0.5, 0.5, 1.0], [-0.5, -0.5, 1.0], [0.5, -0.5, 1.0]]
    tris = np.array([[q[0], q[1], q[2]], [q[0], q[2], q[3]]])
    p2f, zbuf, _, _ = raster(ndc_meshes([tris]), 8)
    xs, ys = pixel_centres(8, 8)
    block = np.zeros((8, 8), dtype=bool)
    block[2:6, 2:6] = True
    assert (p2f[0, ..., 0][~block] == -1).all()
    for r in range(2, 6):
        for c in range(2, 6):
            if ys[r] > xs[c]:
                assert p2f[0, r, c, 0] == 0  # face 0 holds the half with y > x
            elif ys[r] < xs[c]:
                assert p2f[0, r, c, 0] == 1
            else:
                # exactly on the shared edge: every weight test is "> 0", so at most one face
                assert p2f[0, r, c, 0] in (-1, 0, 1)
    off_diag = block & (ys[:, None] != xs[None, :])
    np.testing.assert_allclose(zbuf[0, ..., 0][off_diag], 1.0, atol=1e-7)


def test_far_and_near_triangles_are_ordered_by_depth():
    far = TRI.copy()
    far[:, 2] = [9.0, 9.5, 10.0]
    near = TRI.copy() * [0.9, 0.9, 1.0]
    near[:, 2] = [2.0, 2.5, 3.0]
    # the far face has the smaller index, so order must come from depth
    p2f, zbuf, _, _ = raster(ndc_meshes([np.stack([far, near])]), 16, k=3)
    both = expected_coverage(near[:, :2], 16, 16) & expected_coverage(far[:, :2], 16, 16)
    only_far = expected_coverage(far[:, :2], 16, 16) & ~expected_coverage(near[:, :2], 16, 16)
    assert both.sum() > 5 and only_far.sum() > 0
    assert (p2f[0, ..., 0][both] == 1).all() and (p2f[0, ..., 1][both] == 0).all()
    assert (zbuf[0, ..., 0][both] < zbuf[0, ..., 1][both]).all()
    assert (p2f[0, ..., 0][only_far] == 0).all() and (p2f[0, ..., 1][only_far] == -1).all()
    assert (p2f[0, ..., 2] == -1).all() and (zbuf[0, ..., 2] == -1).all()


@pytest.mark.parametrize("k", [1, 2, 4])
def test_equal_depth_ties_go_to_smaller_face_index(k):
    tri = TRI.copy()
    tri[:, 2] = 5.0
    # three copies of the same triangle: faces 0, 1, 2 at identical depth
    p2f, zbuf, _, _ = raster(ndc_meshes([np.stack([tri, tri, tri])]), 16, k=k)
    cover = expected_coverage(tri[:, :2], 16, 16)
    for slot in range(k):
        want = slot if slot < 3 else -1
        assert (p2f[0, ..., slot][cover] == want).all()
        assert (p2f[0, ..., slot][~cover] == -1).all()


def test_empty_slots_are_minus_one_in_all_outputs():
    p2f, zbuf, bary, dists = raster(ndc_meshes([TRI[None]]), 8, k=3)
    empty = p2f == -1
    assert empty[..., 1:].all()
    assert (zbuf[empty] == -1).all() and (dists[empty] == -1).all() and (bary[empty] == -1).all()


def test_batch_packed_face_indices():
    a = np.stack([TRI, TRI * [0.5, 0.5, 1.0]])
    b = TRI[None] * [-1.0, 1.0, 1.0]
    meshes = ndc_meshes([a, b])
    fv, fi = packed_face_verts(meshes)
    got = raster(meshes, 16, k=2)
    want = ref_rasterize(fv, fi, 2, 16, 16, 2)
    np.testing.assert_array_equal(got[0], want[0])
    assert set(np.unique(got[0][1])) <= {-1, 2}  # mesh 1's only face is packed face 2


# ----------------------------------------------------------------------------- non-square images


@pytest.mark.parametrize("hw", [(6, 10), (10, 6), (7, 12)])
def test_non_square_pixel_centres_and_coverage(hw):
    h, w = hw
    xs, ys = pixel_centres(h, w)
    s = min(h, w)
    # shorter side spans [-1, 1] (centres at +-(s-1)/s), the longer extends by the ratio
    if h <= w:
        assert ys[0] == pytest.approx((s - 1) / s) and xs[0] == pytest.approx((w - 1) / s) and xs[0] > 1
    tri = np.array([[1.45, 0.9, 1.0], [-1.3, 0.7, 1.0], [0.21, -1.63, 1.0]])
    p2f, _, bary, _ = raster(ndc_meshes([tri]), (h, w))
    assert p2f.shape == (1, h, w, 1)
    cover = expected_coverage(tri[:, :2], h, w)
    np.testing.assert_array_equal(p2f[0, ..., 0] == 0, cover)
    for r, c in zip(*np.nonzero(cover)):
        np.testing.assert_allclose(bary[0, r, c, 0] @ tri[:, :2], [xs[c], ys[r]], atol=1e-7)



@pytest.mark.parametrize("shape", [(3, 7, 13), (64, 256, 256), (65, 256, 256)])
def test_backward_pixel_centres_are_exact(shape):
    """The backward pass recovers pixel centres from flat indices in float32 up to 2**22 pixels
    (64 x 256 x 256) and in float64 beyond: bitwise the forward's centres, for every index."""
    n, h, w = shape
    px, py = RM._pixel_xy(torch.arange(n * h * w), shape, torch.float32)
    xs, ys = RM.pixel_centers_ndc((h, w), torch.device("cpu"), torch.float32)
    assert torch.equal(px.view(n, h, w), xs.expand(n, h, w))
    assert torch.equal(py.view(n, h, w), ys[:, None].expand(n, h, w))

def test_ndc_orientation_plus_x_left_plus_y_up():
    # A small triangle around NDC (+0.9, +0.9) must land in the top-left corner pixel of 10x10,
    # and around (-0.9, -0.9) in the bottom-right corner pixel.
    def tiny(cx, cy):
        return np.array([[cx + 0.08, cy - 0.05, 1.0], [cx - 0.05, cy + 0.08, 1.0], [cx - 0.05, cy - 0.05, 1.0]])

    p2f, *_ = raster(ndc_meshes([np.stack([tiny(0.9, 0.9), tiny(-0.9, -0.9)])]), 10)
    hits = {(int(r), int(c)): int(p2f[0, r, c, 0]) for r, c in zip(*np.nonzero(p2f[0, ..., 0] >= 0))}
    assert hits == {(0, 0): 0, (9, 9): 1}
    # non-square 6x10 (S = 6): x extends to +-1.5; the corner pixel centres are (+-1.5, +-5/6)
    p2f, *_ = raster(ndc_meshes([np.stack([tiny(1.5, 5 / 6), tiny(-1.5, -5 / 6)])]), (6, 10))
    hits = {(int(r), int(c)): int(p2f[0, r, c, 0]) for r, c in zip(*np.nonzero(p2f[0, ..., 0] >= 0))}
    assert hits == {(0, 0): 0, (5, 9): 1}
    # and 10x6 (tall): y extends to +-1.5, x only to +-5/6
    p2f, *_ = raster(ndc_meshes([np.stack([tiny(5 / 6, 1.5), tiny(-5 / 6, -1.5)])]), (10, 6))
    hits = {(int(r), int(c)): int(p2f[0, r, c, 0]) for r, c in zip(*np.nonzero(p2f[0, ..., 0] >= 0))}
    assert hits == {(0, 0): 0, (9, 5): 1}


# ----------------------------------------------------------------------------- culling, skipping


def signed_area(tri):
    """edge(v2, v0, v1) as CONVENTIONS.md defines the NDC area used for culling."""
    v0, v1, v2 = tri[0, :2], tri[1, :2], tri[2, :2]
    return (v2[0] - v0[0]) * (v1[1] - v0[1]) - (v2[1] - v0[1]) * (v1[0] - v0[0])


def test_cull_backfaces_drops_negative_area_faces():
    a = TRI.copy()
    b = TRI[[0, 2, 1]].copy() * [-1, -1, 1]  # reversed winding, elsewhere in the image
    assert np.sign(signed_area(a)) != np.sign(signed_area(b))
    meshes = ndc_meshes([np.stack([a, b])])
    p2f_all, *_ = raster(meshes, 16)
    p2f_cull, *_ = raster(meshes, 16, cull_backfaces=True)
    present_all = set(np.unique(p2f_all)) - {-1}
    present_cull = set(np.unique(p2f_cull)) - {-1}
    assert present_all == {0, 1}
    front = 0 if signed_area(a) > 0 else 1
    assert present_cull == {front}
    kept = (a, b)[front]
    np.testing.assert_array_equal(p2f_cull[0, ..., 0] == front, expected_coverage(kept[:, :2], 16, 16))


def test_skips_degenerate_and_behind_camera_faces():
    degenerate = np.array([[0.5, 0.5, 1.0], [-0.5, -0.5, 1.0], [0.0, 0.0, 1.0]])  # zero area
    behind = TRI.copy()
    behind[0, 2] = -0.5  # one vertex behind the camera
    at_zero = TRI.copy()
    at_zero[1, 2] = 0.0
    p2f, *_ = raster(ndc_meshes([np.stack([degenerate, behind, at_zero])]), 16, k=3)
    assert (p2f == -1).all()


def test_blur_pixels_with_negative_interpolated_depth_are_skipped():
    # Vertices 0 and 1 almost at the camera plane, vertex 2 far: just outside edge (v0, v1) the
    # unclipped weight of v2 is negative and the extrapolated depth drops below 0, so those
    # pixels must be skipped even though they are within the blur radius.
    tri = np.array([[0.8, -0.1, 1e-3], [-0.8, -0.1, 1e-3], [0.0, 0.9, 5.0]])
    blur = 0.05
    meshes = ndc_meshes([tri])
    p2f, zbuf, _, dists = raster(meshes, 16, blur_radius=blur, clip_barycentric_coords=False)
    xs, ys = pixel_centres(16, 16)
    dropped = 0
    for r in range(16):
        for c in range(16):
            p = np.array([xs[c], ys[r]])
            b = solve_bary(tri[:, :2], *p)
            near = tri_dist2(p, tri[:, :2]) < blur
            z = b @ tri[:, 2]
            if near and z < 0:
                dropped += 1
                assert p2f[0, r, c, 0] == -1
            elif near or (b > 0).all():
                assert p2f[0, r, c, 0] == 0 and zbuf[0, r, c, 0] >= 0
    assert dropped >= 3
    fv, fi = packed_face_verts(meshes)
    want = ref_rasterize(fv, fi, 1, 16, 16, 1, blur=blur)
    np.testing.assert_array_equal(p2f, want[0])


# ----------------------------------------------------------------------------- perspective correction


def _slanted_scene():
    verts = torch.tensor([[-1.0, -0.8, 0.5], [1.2, -0.9, 3.5], [0.1, 1.1, 1.5]], dtype=torch.float64)
    faces = torch.tensor([[0, 1, 2]])
    # a rotation about y and a translation, as row-vector extrinsics X_view = X_world @ R + T
    a = 0.3
    rot = torch.tensor([[math.cos(a), 0.0, -math.sin(a)], [0.0, 1.0, 0.0], [math.sin(a), 0.0, math.cos(a)]], dtype=torch.float64)
    tvec = torch.tensor([0.1, -0.05, 3.0], dtype=torch.float64)
    cams = R.FoVPerspectiveCameras(fov=60.0, R=rot[None], T=tvec[None])
    return Meshes([verts], [faces]), cams, verts.numpy(), rot.numpy(), tvec.numpy()


def _project(world, rot, tvec, fov_deg=60.0):
    view = world @ rot + tvec
    t = math.tan(math.radians(fov_deg) / 2)
    return view[..., 0] / (view[..., 2] * t), view[..., 1] / (view[..., 2] * t), view[..., 2]


@pytest.mark.parametrize("size", [16, (12, 20)])
def test_perspective_correct_barycentrics_reproduce_world_point(size):
    meshes, cams, verts, rot, tvec = _slanted_scene()
    h, w = (size, size) if isinstance(size, int) else size
    xs, ys = pixel_centres(h, w)
    frags = R.MeshRasterizer(cams, R.RasterizationSettings(image_size=size))(meshes)  # follows camera: on
    p2f = frags.pix_to_face[0, ..., 0].numpy()
    bary = frags.bary_coords[0, ..., 0, :].detach().numpy()
    zbuf = frags.zbuf[0, ..., 0].detach().numpy()
    rows, cols = np.nonzero(p2f >= 0)
    assert len(rows) > 10
    world = bary[rows, cols] @ verts  # interpolate world coordinates with the returned bary
    x, y, z = _project(world, rot, tvec)
    np.testing.assert_allclose(x, xs[cols], atol=1e-7)
    np.testing.assert_allclose(y, ys[rows], atol=1e-7)
    np.testing.assert_allclose(z, zbuf[rows, cols], atol=1e-7)  # zbuf is view depth
    # coverage follows the projected triangle
    px, py, _ = _project(verts, rot, tvec)
    np.testing.assert_array_equal(p2f >= 0, expected_coverage(np.c_[px, py], h, w))


def test_perspective_correct_off_gives_screen_space_barycentrics():
    meshes, cams, verts, rot, tvec = _slanted_scene()
    on = R.MeshRasterizer(cams, R.RasterizationSettings(image_size=16, perspective_correct=True))(meshes)
    off = R.MeshRasterizer(cams, R.RasterizationSettings(image_size=16, perspective_correct=False))(meshes)
    np.testing.assert_array_equal(on.pix_to_face.numpy(), off.pix_to_face.numpy())
    mask = on.pix_to_face[0, ..., 0].numpy() >= 0
    b_on = on.bary_coords[0, ..., 0, :].detach().numpy()[mask]
    b_off = off.bary_coords[0, ..., 0, :].detach().numpy()[mask]
    assert np.abs(b_on - b_off).max() > 0.05  # the slant makes them clearly different
    # off: affine in NDC, i.e. sum b_i * projected v_i == pixel centre
    px, py, pz = _project(verts, rot, tvec)
    xs, ys = pixel_centres(16, 16)
    rows, cols = np.nonzero(mask)
    np.testing.assert_allclose(b_off @ np.c_[px, py], np.c_[xs[cols], ys[rows]], atol=1e-7)
    np.testing.assert_allclose(off.zbuf[0, ..., 0].detach().numpy()[mask], b_off @ pz, atol=1e-7)
    # and the affine weights relate to the corrected ones by b_i/z_i normalisation
    corr = b_off / pz
    corr /= corr.sum(1, keepdims=True)
    np.testing.assert_allclose(corr, b_on, atol=1e-7)


def test_orthographic_camera_rasterizes_like_ndc_mesh():
    # FoVOrthographicCameras with R = I, T = (0, 0, 2): x_ndc = x_world, zbuf = z_world + 2
    verts = torch.tensor(TRI, dtype=torch.float64)
    cams = R.FoVOrthographicCameras(R=torch.eye(3, dtype=torch.float64)[None], T=torch.tensor([[0.0, 0.0, 2.0]], dtype=torch.float64))
    frags = R.MeshRasterizer(cams, R.RasterizationSettings(image_size=16, faces_per_pixel=2))(
        Meshes([verts], [torch.tensor([[0, 1, 2]])])
    )
    ndc = TRI + [0, 0, 2.0]
    want = ref_rasterize(ndc[None], [0], 1, 16, 16, 2)
    np.testing.assert_array_equal(frags.pix_to_face.numpy(), want[0])
    np.testing.assert_allclose(frags.zbuf.detach().numpy(), want[1], atol=1e-7)
    np.testing.assert_allclose(frags.bary_coords.detach().numpy(), want[2], atol=1e-7)
    np.testing.assert_allclose(frags.dists.detach().numpy(), want[3], atol=1e-7)


# ----------------------------------------------------------------------------- blur, clipping


def test_blur_includes_pixels_just_outside_with_positive_dists():
    blur = 0.02  # sqrt = 0.141 NDC, about one pixel at 16x16
    tri = TRI.copy()
    p2f, _, _, dists = raster(ndc_meshes([tri]), 16, blur_radius=blur)
    xs, ys = pixel_centres(16, 16)
    inside = expected_coverage(tri[:, :2], 16, 16)
    ring = 0
    for r in range(16):
        for c in range(16):
            p = np.array([xs[c], ys[r]])
            d2 = tri_dist2(p, tri[:, :2])
            if inside[r, c]:
                assert p2f[0, r, c, 0] == 0 and dists[0, r, c, 0] == pytest.approx(-d2, abs=1e-7)
            elif d2 < blur:
                ring += 1
                assert p2f[0, r, c, 0] == 0
                assert 0 < dists[0, r, c, 0] < blur
                assert dists[0, r, c, 0] == pytest.approx(d2, abs=1e-7)
            else:
                assert p2f[0, r, c, 0] == -1
    assert ring > 5


def test_blur_grows_the_bounding_box():
    # a tiny triangle entirely between pixel centres; with blur the neighbouring pixels
    # (outside its unexpanded bounding box) pick it up
    tri = np.array([[0.03, 0.02, 1.0], [0.01, 0.05, 1.0], [0.005, 0.01, 1.0]])
    p2f0, *_ = raster(ndc_meshes([tri]), 8)
    assert (p2f0 == -1).all()
    p2f, _, _, dists = raster(ndc_meshes([tri]), 8, blur_radius=0.05)
    xs, ys = pixel_centres(8, 8)
    got = p2f[0, ..., 0] == 0
    want = np.array([[tri_dist2(np.array([x, y]), tri[:, :2]) < 0.05 for x in xs] for y in ys])
    assert want.sum() >= 4
    np.testing.assert_array_equal(got, want)
    # these pixels are all outside the unexpanded box
    for r, c in zip(*np.nonzero(got)):
        assert not (tri[:, 0].min() <= xs[c] <= tri[:, 0].max() and tri[:, 1].min() <= ys[r] <= tri[:, 1].max())


@pytest.mark.parametrize("clip", [True, False])
def test_clip_barycentric_coords(clip):
    meshes = ndc_meshes([TRI[None]])
    p2f, _, bary, _ = raster(meshes, 16, blur_radius=0.05, clip_barycentric_coords=clip)
    valid = p2f >= 0
    b = bary[valid]
    np.testing.assert_allclose(b.sum(-1), 1.0, atol=1e-7)
    if clip:
        assert (b >= 0).all() and (b <= 1).all()
    else:
        assert (b < 0).any()  # outside pixels within the blur radius have a negative weight


def test_faces_per_pixel_keeps_nearest_k_in_order():
    rng = np.random.default_rng(0)
    depths = rng.permutation(np.linspace(2.0, 8.0, 6))
    tris = np.stack([np.c_[TRI[:, :2], np.full(3, d)] for d in depths])
    for k in (1, 3, 6, 8):
        p2f, zbuf, *_ = raster(ndc_meshes([tris]), 8, k=k)
        cover = expected_coverage(TRI[:, :2], 8, 8)
        order = np.argsort(depths)
        for slot in range(k):
            want = order[slot] if slot < 6 else -1
            assert (p2f[0, ..., slot][cover] == want).all()
            if slot < 6:
                assert np.allclose(zbuf[0, ..., slot][cover], depths[order[slot]])


# ----------------------------------------------------------------------------- random scenes vs brute force


def random_tris(rng, f, zlo=0.5, zhi=5.0):
    xy = rng.uniform(-1.3, 1.3, size=(f, 3, 2))
    z = rng.uniform(zlo, zhi, size=(f, 3, 1))
    return np.concatenate([xy, z], axis=2)


@pytest.mark.parametrize(
    "blur,persp,clip,cull",
    [(0.0, False, False, False), (0.0, True, False, True), (0.01, False, True, False), (0.01, True, True, False), (0.004, False, False, True)],
)
def test_random_scene_matches_brute_force(blur, persp, clip, cull):
    rng = np.random.default_rng(int(blur * 1000) + 2 * persp + 4 * clip + 8 * cull)
    meshes = ndc_meshes([random_tris(rng, 7), random_tris(rng, 4)])
    fv, fi = packed_face_verts(meshes)
    h, w, k = 12, 14, 3
    got = raster(meshes, (h, w), k=k, blur_radius=blur, perspective_correct=persp, clip_barycentric_coords=clip, cull_backfaces=cull)
    want = ref_rasterize(fv, fi, 2, h, w, k, blur=blur, persp=persp, clip=clip, cull=cull)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], atol=1e-7)
    np.testing.assert_allclose(got[2], want[2], atol=1e-7)
    np.testing.assert_allclose(got[3], want[3], atol=1e-7)


def _random_selection_inputs(seed: int, num_tris: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(face_verts, face_to_image) of random NDC triangles, as select_fragments takes them."""
    meshes = ndc_meshes([random_tris(np.random.default_rng(seed), num_tris)])
    return meshes.verts_packed()[meshes.faces_packed()], meshes.faces_packed_to_mesh_idx()


def test_chunked_selection_equals_one_pass():
    fv, fi = _random_selection_inputs(5, 12)
    args = (fv, fi, (16, 16), 0.01, 4, False, False, True)
    big = RM.select_fragments(*args)
    for chunk in (13, 100):
        small = RM.select_fragments(*args, chunk_pairs=chunk)
        for a, b in zip(big, small):
            torch.testing.assert_close(a, b)
    # K = 1 takes a separate path
    args1 = (fv, fi, (16, 16), 0.0, 1, False, False, False)
    big1 = RM.select_fragments(*args1)
    for a, b in zip(big1, RM.select_fragments(*args1, chunk_pairs=3)):
        torch.testing.assert_close(a, b)


def test_bounded_memory_merges_equal_one_pass(monkeypatch):
    """With a tiny merge threshold the selection drops far rows between chunks; same result."""
    fv, fi = _random_selection_inputs(7, 30)
    args = (fv, fi, (16, 16), 0.01, 2, False, False, True)
    one_pass = RM.select_fragments(*args)
    untruncated = RM.select_fragments(*args[:4], 50, *args[5:])
    assert torch.bincount(untruncated.pix).max() > 2 and torch.bincount(one_pass.pix).max() == 2
    monkeypatch.setattr(RM, "_MERGE_ENTRIES", 5)
    merged = RM.select_fragments(*args, chunk_pairs=13)
    for name in ("pix", "face", "w0", "w1", "w2", "z", "d2", "inside"):
        torch.testing.assert_close(getattr(one_pass, name), getattr(merged, name))


@pytest.mark.parametrize("k,blur,chunk,merge_at", [(1, 0.0, 7, None), (3, 0.01, 13, 5), (50, 0.02, 10**6, None)])
def test_selected_rows_stay_in_packed_face_order(monkeypatch, k, blur, chunk, merge_at):
    """The backward sums each face's pairs as one run (_face_sums): rows must never reorder,
    through chunks, partial merges and the K = 1 path, in a batch of two meshes."""
    rng = np.random.default_rng(11)
    meshes = ndc_meshes([random_tris(rng, 20), random_tris(rng, 15)])
    fv, fi = meshes.verts_packed()[meshes.faces_packed()], meshes.faces_packed_to_mesh_idx()
    if merge_at is not None:
        monkeypatch.setattr(RM, "_MERGE_ENTRIES", merge_at)
    rows = RM.select_fragments(fv, fi, (16, 16), blur, k, False, False, blur > 0, chunk_pairs=chunk)
    assert rows.face.numel() > 50 and bool((rows.face[1:] >= rows.face[:-1]).all())



@pytest.mark.parametrize("perspective_correct", [False, True])
def test_chunked_backward_equals_one_pass(monkeypatch, perspective_correct):
    """Vertex gradients through bary, zbuf and dists are the same whether the backward sums the
    pairs in one chunk or in chunks of 7 (each covering a slice of the faces), in a batch."""
    rng = np.random.default_rng(17)
    meshes = ndc_meshes([random_tris(rng, 20), random_tris(rng, 15)])
    weights = None

    def vertex_grad():
        nonlocal weights
        offset = torch.zeros_like(meshes.verts_packed(), requires_grad=True)
        _, zbuf, bary, dists = R.rasterize_meshes(
            meshes.offset_verts(offset), image_size=(16, 16), faces_per_pixel=3, blur_radius=0.01,
            perspective_correct=perspective_correct, clip_barycentric_coords=True)
        outputs = (bary, zbuf, dists)
        if weights is None:
            weights = [torch.randn(o.shape, generator=torch.Generator().manual_seed(i), dtype=o.dtype) for i, o in enumerate(outputs)]
        return torch.autograd.grad(outputs, offset, weights)[0]

    one_pass = vertex_grad()
    monkeypatch.setattr(RM, "_CHUNK_PAIRS", 7)
    chunked = vertex_grad()
    assert one_pass.abs().sum() > 0
    torch.testing.assert_close(chunked, one_pass, rtol=1e-10, atol=1e-12)

# ----------------------------------------------------------------------------- MeshRasterizer and Fragments


def test_mesh_rasterizer_fragments_equal_rasterize_meshes():
    rng = np.random.default_rng(3)
    meshes = ndc_meshes([random_tris(rng, 5)])
    cams = R.FoVOrthographicCameras(R=torch.eye(3, dtype=torch.float64)[None], T=torch.zeros(1, 3, dtype=torch.float64))
    settings = R.RasterizationSettings(image_size=(10, 12), faces_per_pixel=2, blur_radius=0.01)
    frags = R.MeshRasterizer(cams, settings)(meshes)
    assert isinstance(frags, R.Fragments) and frags.sparse is not None
    # orthographic default: no perspective correction, clipping follows blur > 0
    dense = raster(meshes, (10, 12), k=2, blur_radius=0.01, clip_barycentric_coords=True)
    np.testing.assert_array_equal(frags.pix_to_face.numpy(), dense[0])
    for name, want in zip(("zbuf", "bary_coords", "dists"), dense[1:]):
        np.testing.assert_allclose(getattr(frags, name).detach().numpy(), want, atol=1e-12)
    assert frags.pix_to_face.shape == (1, 10, 12, 2) and frags.bary_coords.shape == (1, 10, 12, 2, 3)
    assert frags.pix_to_face.dtype == torch.int64
    det = frags.detach()
    assert not det.zbuf.requires_grad
    np.testing.assert_array_equal(det.pix_to_face.numpy(), dense[0])


def test_bin_size_and_max_faces_per_bin_do_not_change_results():
    rng = np.random.default_rng(9)
    meshes = ndc_meshes([random_tris(rng, 6)])
    a = raster(meshes, 16, k=2)
    b = raster(meshes, 16, k=2, bin_size=4, max_faces_per_bin=2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_float32_mesh_rasterizes_like_float64():
    rng = np.random.default_rng(11)
    tris = random_tris(rng, 6)
    m64 = ndc_meshes([tris])
    m32 = ndc_meshes([tris], dtype=torch.float32)
    a = raster(m64, 16, k=2)
    b = raster(m32, 16, k=2)
    assert b[1].dtype == np.float32
    same = (a[0] == b[0]).mean()
    assert same > 0.99
    m = (a[0] == b[0]) & (a[0] >= 0)
    np.testing.assert_allclose(b[1][m], a[1][m], atol=1e-5)


def test_fragments_are_built_lazily_from_sparse_and_keep_gradients():
    rng = np.random.default_rng(4)
    tris = torch.tensor(random_tris(rng, 5).reshape(-1, 3), dtype=torch.float64, requires_grad=True)
    meshes = Meshes([tris], [torch.arange(15).reshape(5, 3)])
    cams = R.FoVOrthographicCameras(R=torch.eye(3, dtype=torch.float64)[None], T=torch.zeros(1, 3, dtype=torch.float64))
    frags = R.MeshRasterizer(cams, R.RasterizationSettings(image_size=12, faces_per_pixel=3))(meshes)
    assert "zbuf" not in frags.__dict__ and "bary_coords" not in frags.__dict__  # nothing dense yet
    sparse = frags.sparse
    assert sparse.shape == (1, 12, 12, 3) and sparse.face.numel() == int((frags.pix_to_face >= 0).sum())
    zbuf = frags.zbuf
    assert frags.zbuf is zbuf  # built once, then cached
    torch.testing.assert_close(zbuf, sparse.dense(sparse.zbuf, -1.0))
    # gradients flow from the lazily built dense tensors back to the vertices
    (frags.zbuf.sum() + frags.bary_coords[frags.pix_to_face >= 0].pow(2).sum()).backward()
    assert tris.grad is not None and tris.grad.abs().sum() > 0
    # z of vertices: d(sum zbuf)/dz_i = sum of bary weights of vertex i over the covered slots
    p2f = frags.pix_to_face.numpy()
    bary = frags.bary_coords.detach().numpy()
    want = np.zeros(15)
    for f, b in zip(p2f[p2f >= 0], bary[p2f >= 0]):
        want[3 * f : 3 * f + 3] += b
    tris.grad = None
    meshes = Meshes([tris], [torch.arange(15).reshape(5, 3)])  # fresh: cached padded verts hold a freed graph
    frags2 = R.MeshRasterizer(cams, R.RasterizationSettings(image_size=12, faces_per_pixel=3))(meshes)
    frags2.zbuf.sum().backward()
    np.testing.assert_allclose(tris.grad[:, 2].numpy(), want, atol=1e-9)


def test_float64_depth_order_is_exact():
    far = TRI.copy()
    far[:, 2] = 2.0
    near = TRI.copy()
    near[:, 2] = 2.0 - 1e-9  # nearer by less than a float32 ulp at 2.0, far more than float64 rounding
    p2f, zbuf, *_ = raster(ndc_meshes([np.stack([far, near])]), 8, k=2)
    cover = expected_coverage(TRI[:, :2], 8, 8)
    assert (p2f[0, ..., 0][cover] == 1).all()
    assert (zbuf[0, ..., 0][cover] < zbuf[0, ..., 1][cover]).all()
