"""Rebuild a PyTorch3D reference scene (shared/reference/p3d) with `core`, and compare outputs.

The tolerances are those of the core renderer issue: images by mean error and outlier share,
fragments on the slots where both renderers chose the same face, gradients by direction and
relative error below the reference's 99th percentile of magnitude.
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np
import torch

from core import renderer as R
from core.structures import Meshes

SHADERS = {
    "HardPhongShader": R.HardPhongShader,
    "SoftPhongShader": R.SoftPhongShader,
    "HardGouraudShader": R.HardGouraudShader,
    "SoftGouraudShader": R.SoftGouraudShader,
    "HardFlatShader": R.HardFlatShader,
    "SoftSilhouetteShader": R.SoftSilhouetteShader,
}


def _t(a: np.ndarray, dtype=torch.float32) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).to(dtype)


def build_scene(arrays: Dict[str, np.ndarray], meta: Dict[str, Any], verts: torch.Tensor):
    """(renderer, meshes) for a reference scene, with `verts` as the (shared) vertex tensor."""
    n = int(meta["batch"])
    faces = _t(arrays["faces"], torch.int64)
    textures = None
    if "verts_rgb" in arrays:
        textures = R.TexturesVertex(verts_features=[_t(arrays["verts_rgb"])] * n)
    elif "tex_map_u8" in arrays:
        tex = _t(arrays["tex_map_u8"]) / 255.0
        textures = R.TexturesUV(
            maps=[tex] * n, faces_uvs=[_t(arrays["faces_uvs"], torch.int64)] * n, verts_uvs=[_t(arrays["verts_uvs"])] * n
        )
    meshes = Meshes(verts=[verts] * n, faces=[faces] * n, textures=textures)

    cam_meta = meta["camera"]
    znear, zfar = (float(x) for x in arrays["cam_znear_zfar"])
    Rm, T = _t(arrays["R"]), _t(arrays["T"])
    if cam_meta["type"] == "FoVPerspectiveCameras":
        cameras = R.FoVPerspectiveCameras(fov=float(arrays["cam_fov_deg"][0]), znear=znear, zfar=zfar, R=Rm, T=T)
    elif cam_meta["type"] == "FoVOrthographicCameras":
        min_x, max_x, min_y, max_y = (float(x) for x in arrays["cam_ortho_minmax_xy"])
        cameras = R.FoVOrthographicCameras(
            min_x=min_x, max_x=max_x, min_y=min_y, max_y=max_y, znear=znear, zfar=zfar,
            scale_xyz=_t(arrays["cam_scale_xyz"]), R=Rm, T=T,
        )
    else:
        raise ValueError(f"unsupported camera {cam_meta['type']}")

    rs = meta["raster_settings"]
    settings = R.RasterizationSettings(
        image_size=tuple(int(x) for x in arrays["raster_image_size_hw"]),
        blur_radius=float(arrays["raster_blur_radius"]),
        faces_per_pixel=int(arrays["raster_faces_per_pixel"]),
        perspective_correct=rs.get("perspective_correct_passed"),
        clip_barycentric_coords=rs.get("clip_barycentric_coords_passed"),
        cull_backfaces=bool(rs.get("cull_backfaces", False)),
    )
    sigma, gamma = (float(x) for x in arrays["blend_sigma_gamma"])
    blend = R.BlendParams(sigma=sigma, gamma=gamma, background_color=tuple(float(x) for x in arrays["blend_background_color"]))

    shader_cls = SHADERS[meta["shader"]]
    if shader_cls is R.SoftSilhouetteShader:
        shader = shader_cls(blend_params=blend)
    else:
        if "light_location" in arrays:
            lights = R.PointLights(
                location=_t(arrays["light_location"]), ambient_color=_t(arrays["light_ambient_color"]),
                diffuse_color=_t(arrays["light_diffuse_color"]), specular_color=_t(arrays["light_specular_color"]),
            )
        elif "light_direction" in arrays:
            lights = R.DirectionalLights(
                direction=_t(arrays["light_direction"]), ambient_color=_t(arrays["light_ambient_color"]),
                diffuse_color=_t(arrays["light_diffuse_color"]), specular_color=_t(arrays["light_specular_color"]),
            )
        else:
            lights = R.AmbientLights(ambient_color=_t(arrays["light_ambient_color"]))
        materials = R.Materials(
            ambient_color=_t(arrays["mat_ambient_color"]), diffuse_color=_t(arrays["mat_diffuse_color"]),
            specular_color=_t(arrays["mat_specular_color"]), shininess=_t(arrays["mat_shininess"]),
        )
        shader = shader_cls(cameras=cameras, lights=lights, materials=materials, blend_params=blend)
    renderer = R.MeshRendererWithFragments(R.MeshRasterizer(cameras=cameras, raster_settings=settings), shader)
    return renderer, meshes


def render_scene(arrays, meta, with_grad: bool = False) -> Tuple[torch.Tensor, R.Fragments, torch.Tensor | None]:
    """Render the scene; with_grad also returns d(sum(images * grad_W))/d verts."""
    verts = _t(arrays["verts"]).requires_grad_(with_grad)
    renderer, meshes = build_scene(arrays, meta, verts)
    images, fragments = renderer(meshes)
    grad = None
    if with_grad:
        loss = (images * _t(arrays["grad_W"])).sum()
        (grad,) = torch.autograd.grad(loss, verts)
    return images.detach(), fragments.detach(), grad


def image_errors(ours: np.ndarray, ref: np.ndarray) -> Tuple[float, float]:
    """(mean absolute error, share of values off by more than 0.05)."""
    diff = np.abs(ours - ref)
    return float(diff.mean()), float((diff > 0.05).mean())


def fragment_agreement(fr: R.Fragments, arrays) -> Dict[str, float]:
    """pix_to_face agreement on covered pixels and mean abs differences on matching slots."""
    p2f = fr.pix_to_face.numpy()
    ref_p2f = arrays["pix_to_face"]
    covered = (ref_p2f >= 0) | (p2f >= 0)
    match = (p2f == ref_p2f) & (ref_p2f >= 0)
    return {
        "p2f_agree": float(((p2f == ref_p2f) & covered).sum() / max(covered.sum(), 1)),
        "zbuf": float(np.abs(fr.zbuf.numpy() - arrays["zbuf"])[match].mean()),
        "bary": float(np.abs(fr.bary_coords.numpy() - arrays["bary_coords"])[match].mean()),
        "dists": float(np.abs(fr.dists.numpy() - arrays["dists"])[match].mean()),
    }


def gradient_agreement(grad: np.ndarray, ref: np.ndarray, percentile: float = 99) -> Tuple[float, float]:
    """(cosine similarity, relative error) on entries below the reference's given percentile of magnitude."""
    mag = np.abs(ref)
    keep = mag <= np.percentile(mag, percentile)
    a, b = grad[keep].astype(np.float64), ref[keep].astype(np.float64)
    cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))
    rel = float(np.linalg.norm(a - b) / (np.linalg.norm(b) + 1e-30))
    return cos, rel


def clamped_denominator_vertices(arrays, meta, fragments: R.Fragments) -> np.ndarray:
    """(V,) bool: vertices of faces that hold a fragment whose perspective-correction
    denominator sum_i b_i z_j z_k falls below 1e-8, where PyTorch3D's forward clamps it.

    Computed independently of the rasterizer, in float64, from the projected vertices and the
    pixel centres of the fragments' slots. PyTorch3D's backward keeps d/d(denominator) for these
    pairs although its forward clamped it, so its vertex gradient there is float32 rounding
    residue of an exactly-zero sum multiplied by 1/(1e-8)^2.
    """
    renderer, meshes = build_scene(arrays, meta, _t(arrays["verts"]))
    projected = renderer.rasterizer.transform(meshes)
    faces = projected.faces_packed()
    p2f = fragments.pix_to_face
    _, height, width, _ = p2f.shape
    _, row, col, _ = torch.nonzero(p2f >= 0, as_tuple=True)
    face = p2f[p2f >= 0]
    side = min(height, width)
    px = (width - 1 - 2 * col.double()) / side
    py = (height - 1 - 2 * row.double()) / side
    v = projected.verts_packed().double()[faces[face]]  # (M, 3 corners, xyz)

    def edge(ax, ay, a, b):
        return (ax - a[:, 0]) * (b[:, 1] - a[:, 1]) - (ay - a[:, 1]) * (b[:, 0] - a[:, 0])

    area = edge(v[:, 2, 0], v[:, 2, 1], v[:, 0], v[:, 1])
    b = [edge(px, py, v[:, 1], v[:, 2]) / area, edge(px, py, v[:, 2], v[:, 0]) / area, edge(px, py, v[:, 0], v[:, 1]) / area]
    z = v[:, :, 2]
    denominator = b[0] * z[:, 1] * z[:, 2] + b[1] * z[:, 0] * z[:, 2] + b[2] * z[:, 0] * z[:, 1]
    num_verts = arrays["verts"].shape[0]
    touched = np.zeros(num_verts, dtype=bool)
    touched[(faces[face[denominator < 1e-8]].flatten() % num_verts).numpy()] = True
    return touched
