"""CPU vs CUDA parity: the same sphere scene rendered on both devices.

Hard Phong, soft Phong and the soft silhouette: images, fragments and vertex gradients of a
weighted image loss must agree. In float64 the two devices must agree to rounding; in float32
up to rare exact ties (a pixel centre on a shared edge, equal depths) and accumulation order.
Skipped without CUDA (see tests/conftest.py).
"""
from __future__ import annotations

import math
from typing import Dict, Tuple

import pytest
import torch

from core import renderer as R
from core.structures import Meshes
from core.utils import ico_sphere

pytestmark = pytest.mark.cuda

SIZE = 64


def _scene(device: torch.device, dtype: torch.dtype, kind: str):
    """(renderer, meshes, verts leaf) for one of 'hard_phong', 'soft_phong', 'silhouette',
    'clipped' (soft Phong with the cameras inside z_clip = 0.5 of the sphere: faces are cut),
    'hard_depth' or 'soft_depth'."""
    sphere = ico_sphere(3)
    verts = sphere.verts_packed().to(device=device, dtype=dtype).clone().requires_grad_(True)
    faces = sphere.faces_packed().to(device)
    colours = (0.5 + 0.5 * sphere.verts_packed()).to(device=device, dtype=dtype)
    # batch of 2: same mesh, two cameras and two lights
    meshes = Meshes([verts, verts], [faces, faces], textures=R.TexturesVertex([colours, colours]))
    dist = torch.tensor([1.48, 1.46] if kind == "clipped" else [2.7, 3.2])
    rot, trans = R.look_at_view_transform(dist=dist, elev=torch.tensor([15.0, -30.0]), azim=torch.tensor([20.0, 150.0]))
    cams = R.FoVPerspectiveCameras(R=rot.to(dtype), T=trans.to(dtype), device=device)
    lights = R.PointLights(location=torch.tensor([[1.0, 2.0, -3.0], [-2.0, 1.0, 2.0]], dtype=dtype), device=device)
    if kind in ("hard_phong", "hard_depth"):
        settings = R.RasterizationSettings(image_size=SIZE, faces_per_pixel=1)
        shader = R.HardPhongShader(device=device, cameras=cams, lights=lights)
        if kind == "hard_depth":
            shader = R.HardDepthShader(device=device, cameras=cams)
    elif kind in ("soft_phong", "clipped", "soft_depth"):
        sigma = 1e-4
        settings = R.RasterizationSettings(image_size=SIZE, faces_per_pixel=8, blur_radius=math.log(1 / 1e-4 - 1) * sigma)
        shader = R.SoftPhongShader(device=device, cameras=cams, lights=lights, blend_params=R.BlendParams(sigma=sigma, gamma=1e-2))
        if kind == "soft_depth":
            shader = R.SoftDepthShader(device=device, cameras=cams, blend_params=R.BlendParams(sigma=sigma))
    else:
        sigma = 1e-4
        settings = R.RasterizationSettings(image_size=SIZE, faces_per_pixel=20, blur_radius=math.log(1 / 1e-4 - 1) * sigma)
        shader = R.SoftSilhouetteShader(R.BlendParams(sigma=sigma))
    renderer = R.MeshRendererWithFragments(R.MeshRasterizer(cams, settings), shader)
    return renderer, meshes, verts


def _render(device: torch.device, dtype: torch.dtype, kind: str) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
    renderer, meshes, verts = _scene(device, dtype, kind)
    images, frags = renderer(meshes)
    if kind.endswith("depth"):
        images = images / 100.0  # depths in units of zfar: in [0, 1] like colours
    weights = torch.rand(images.shape, generator=torch.Generator().manual_seed(0), dtype=dtype).to(device)
    (images * weights).sum().backward()
    fields = {name: getattr(frags, name).detach().cpu() for name in ("pix_to_face", "zbuf", "bary_coords", "dists")}
    return images.detach().cpu(), fields, verts.grad.detach().cpu()


def compare_devices(device: torch.device, dtype: torch.dtype, kind: str) -> None:
    """Assert CPU and `device` renders agree (images, fragments, vertex gradients)."""
    img_c, frag_c, grad_c = _render(torch.device("cpu"), dtype, kind)
    img_d, frag_d, grad_d = _render(device, dtype, kind)
    assert img_d.shape == img_c.shape == (2, SIZE, SIZE, 1 if kind.endswith("depth") else 4)
    assert (frag_c["pix_to_face"] >= 0).sum() > 1000

    same = frag_c["pix_to_face"] == frag_d["pix_to_face"]
    exact = dtype == torch.float64
    # float64: differences come from rounding only, so a differing face is an exact tie by symmetry
    assert same.float().mean() > (0.9999 if exact else 0.999)
    hit = same & (frag_c["pix_to_face"] >= 0)
    tol = dict(rtol=1e-9, atol=1e-9) if exact else dict(rtol=1e-4, atol=1e-5)
    for name in ("zbuf", "dists"):
        torch.testing.assert_close(frag_d[name][hit], frag_c[name][hit], **tol)
    torch.testing.assert_close(frag_d["bary_coords"][hit], frag_c["bary_coords"][hit], **tol)

    diff = (img_d - img_c).abs()
    pixel_same = same.all(-1)  # every slot of the pixel chose the same face
    if exact:
        assert diff[pixel_same].max() < 1e-9
    else:
        assert diff.mean() < 1e-5
        assert (diff > 1e-3).float().mean() < 1e-3  # only tie pixels may differ visibly

    cos = torch.nn.functional.cosine_similarity(grad_d.flatten(), grad_c.flatten(), dim=0)
    rel = (grad_d - grad_c).norm() / grad_c.norm()
    assert grad_c.abs().sum() > 0
    if exact and bool(same.all()):
        assert rel < 1e-8
    else:
        assert cos > 0.9999 and rel < 1e-2


@pytest.mark.parametrize("kind", ["hard_phong", "soft_phong", "silhouette", "clipped", "hard_depth", "soft_depth"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_cpu_cuda_parity(cuda_device, kind, dtype):
    compare_devices(cuda_device, dtype, kind)


def test_outputs_stay_on_cuda(cuda_device):
    renderer, meshes, verts = _scene(cuda_device, torch.float32, "soft_phong")
    images, frags = renderer(meshes)
    assert images.device.type == "cuda"
    for name in ("pix_to_face", "zbuf", "bary_coords", "dists"):
        assert getattr(frags, name).device.type == "cuda"
    images.sum().backward()
    assert verts.grad.device.type == "cuda"


def test_renderer_to_moves_cameras_and_lights(cuda_device):
    # built on the CPU, moved with .to(): renders the CUDA mesh like the CPU renderer renders the CPU mesh
    renderer_cpu, meshes_cpu, _ = _scene(torch.device("cpu"), torch.float32, "hard_phong")
    img_cpu, _ = renderer_cpu(meshes_cpu)
    renderer_cuda, _, _ = _scene(torch.device("cpu"), torch.float32, "hard_phong")
    renderer_cuda.to(cuda_device)
    img_cuda, _ = renderer_cuda(meshes_cpu.to(cuda_device))
    diff = (img_cuda.detach().cpu() - img_cpu.detach()).abs()
    assert diff.mean() < 1e-5
