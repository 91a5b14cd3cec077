"""``main.py render MESH --out IMG.png``: one image of a mesh file with any shader and settings."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.common import (
    CliError,
    check_device,
    check_output,
    finite_float,
    load_mesh_or_fail,
    non_negative_float,
    positive_float,
    positive_int,
    write_files,
)

SHADERS = (
    "hard-phong", "soft-phong", "hard-gouraud", "soft-gouraud", "hard-flat", "silhouette", "hard-depth", "soft-depth",
)
SOFT_SHADERS = ("soft-phong", "soft-gouraud", "silhouette", "soft-depth")
DEPTH_SHADERS = ("hard-depth", "soft-depth")
# Soft shaders default to the fitting tutorial's 50 faces per pixel, hard ones to 1.
DEFAULT_SOFT_FACES_PER_PIXEL = 50


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("render", help="render a mesh file to a PNG", description=__doc__)
    p.add_argument("mesh", help="mesh file (OBJ, PLY, STL, OFF, GLB/GLTF)")
    p.add_argument("--out", required=True, type=Path,
                   help="output .png, or .npy for the image's float values as rendered (H x W x 4 RGBA, "
                        "H x W depth for the depth shaders)")
    p.add_argument("--image-size", type=positive_int, default=512, help="square image size in pixels (default 512)")
    p.add_argument("--shader", choices=SHADERS, default="hard-phong")
    p.add_argument("--faces-per-pixel", type=positive_int, default=None,
                   help=f"K (default 1 for hard shaders, {DEFAULT_SOFT_FACES_PER_PIXEL} for soft ones)")
    p.add_argument("--sigma", type=positive_float, default=1e-4, help="BlendParams sigma (default 1e-4)")
    p.add_argument("--gamma", type=positive_float, default=1e-4, help="BlendParams gamma (default 1e-4)")
    p.add_argument("--blur-radius", type=non_negative_float, default=None,
                   help="squared NDC distance (default: log(1/1e-4 - 1)*sigma for soft shaders, 0 for hard)")
    p.add_argument("--dist", type=positive_float, default=2.7, help="camera distance (default 2.7)")
    p.add_argument("--elev", type=finite_float, default=20.0, help="camera elevation in degrees (default 20)")
    p.add_argument("--azim", type=finite_float, default=150.0, help="camera azimuth in degrees (default 150: the cow's front)")
    p.add_argument("--fov", type=positive_float, default=60.0, help="vertical field of view in degrees (default 60)")
    p.add_argument("--znear", type=positive_float, default=1.0,
                   help="camera znear (default 1): geometry nearer than znear/2 is clipped, and the soft "
                        "blend normalises depth between znear and zfar")
    p.add_argument("--zfar", type=positive_float, default=100.0, help="camera zfar (default 100)")
    p.add_argument("--light", type=finite_float, nargs=3, metavar=("X", "Y", "Z"), default=None,
                   help="point light position (default: at the camera)")
    p.add_argument("--no-normalize", action="store_true",
                   help="keep the file's coordinates (default: centre and scale the mesh to the unit cube)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from core.fitting import blur_radius_from_sigma, normalize_mesh
    from core.io import depth_grey, npy_bytes, png_bytes
    from core.renderer import (
        BlendParams,
        FoVPerspectiveCameras,
        HardDepthShader,
        HardFlatShader,
        HardGouraudShader,
        HardPhongShader,
        MeshRasterizer,
        MeshRendererWithFragments,
        PointLights,
        RasterizationSettings,
        SoftDepthShader,
        SoftGouraudShader,
        SoftPhongShader,
        SoftSilhouetteShader,
        TexturesVertex,
        look_at_view_transform,
    )

    out = check_output(args.out, (".png", ".npy"))
    if args.fov >= 180:
        raise CliError(f"--fov must be below 180 degrees, got {args.fov:g}")
    if args.znear >= args.zfar:
        raise CliError(f"--znear ({args.znear:g}) must be below --zfar ({args.zfar:g})")
    device = check_device(args.device)
    mesh = load_mesh_or_fail(args.mesh, device)
    if not args.no_normalize:
        mesh, _, _ = normalize_mesh(mesh)
    if mesh.textures is None:
        verts = mesh.verts_packed()
        mesh.textures = TexturesVertex(verts_features=[torch.full_like(verts, 0.7)])
    soft = args.shader in SOFT_SHADERS
    k = args.faces_per_pixel or (DEFAULT_SOFT_FACES_PER_PIXEL if soft else 1)
    blur = args.blur_radius if args.blur_radius is not None else (blur_radius_from_sigma(args.sigma) if soft else 0.0)
    R, T = look_at_view_transform(dist=args.dist, elev=args.elev, azim=args.azim)
    cameras = FoVPerspectiveCameras(R=R, T=T, fov=args.fov, znear=args.znear, zfar=args.zfar, device=device)
    light = args.light if args.light is not None else cameras.get_camera_center()[0].tolist()
    lights = PointLights(location=[light], device=device)
    blend = BlendParams(sigma=args.sigma, gamma=args.gamma)
    shader = {
        "hard-phong": lambda: HardPhongShader(device=device, cameras=cameras, lights=lights, blend_params=blend),
        "soft-phong": lambda: SoftPhongShader(device=device, cameras=cameras, lights=lights, blend_params=blend),
        "hard-gouraud": lambda: HardGouraudShader(device=device, cameras=cameras, lights=lights, blend_params=blend),
        "soft-gouraud": lambda: SoftGouraudShader(device=device, cameras=cameras, lights=lights, blend_params=blend),
        "hard-flat": lambda: HardFlatShader(device=device, cameras=cameras, lights=lights, blend_params=blend),
        "silhouette": lambda: SoftSilhouetteShader(blend),
        "hard-depth": lambda: HardDepthShader(device=device, cameras=cameras),
        "soft-depth": lambda: SoftDepthShader(device=device, cameras=cameras, blend_params=blend),
    }[args.shader]()
    try:
        settings = RasterizationSettings(image_size=args.image_size, blur_radius=blur, faces_per_pixel=k)
        renderer = MeshRendererWithFragments(MeshRasterizer(cameras, settings), shader)
        with torch.no_grad():
            images, fragments = renderer(mesh, report_truncation=soft)
        image = images[0].cpu().numpy()
    except ValueError as exc:  # e.g. over the memory budget; the message names the setting
        raise CliError(str(exc)) from None
    if out.suffix.lower() == ".npy":
        write_files({out: npy_bytes(image[..., 0] if args.shader in DEPTH_SHADERS else image)})
    elif args.shader in DEPTH_SHADERS:
        write_files({out: png_bytes(depth_grey(image[..., 0], args.zfar))})
    else:
        write_files({out: png_bytes(image[..., 3] if args.shader == "silhouette" else image)})
    print(f"wrote {out} ({args.image_size}x{args.image_size}, {args.shader}, K={k}, blur {blur:.3g})")
    if soft:
        _report_lost_coverage(fragments, mesh, cameras, settings)
    return 0


def _report_lost_coverage(fragments, mesh, cameras, settings) -> None:
    """A note on stderr when K dropped the face under some pixels (their soft coverage is too
    low), with the K that keeps it (core's faces_per_pixel_needed) when that can be found."""
    from core.renderer.mesh.faces_per_pixel import faces_per_pixel_needed

    lost = fragments.sparse.truncation.lost_inside.numel()
    if not lost:
        return
    covered = int(fragments.sparse.pix.unique().numel())
    note = (f"note: K={settings.faces_per_pixel} dropped the face under the pixel at {lost} of {covered} covered "
            "pixels (soft coverage there is too low)")
    limit = max(100, 2 * settings.faces_per_pixel)
    try:
        needed = faces_per_pixel_needed(mesh, cameras, settings, limit=limit).keep_covering
    except ValueError:  # `limit` faces per pixel over the memory budget
        needed = None
    advice = f"--faces-per-pixel {needed} keeps it everywhere" if needed else f"more than {limit} would be needed: lower --sigma or --blur-radius"
    print(f"{note}; {advice}", file=sys.stderr)
