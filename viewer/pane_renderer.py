"""Render one pane (soft or hard) with `core`, reusing what the last call already computed.

A pane's fragments depend on the mesh, the camera and its raster settings; its image also on the
shader, blend, lights and material. Moving sigma with a fixed blur radius therefore re-shades
the soft pane's cached fragments and reuses the hard pane's image unchanged. No Qt here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from core.io import depth_grey
from core.renderer import (
    Fragments,
    MemoryBudgetError,
    MeshRasterizer,
    TexturesVertex,
    silhouette_alpha_gradient,
    softmax_blend_shares,
)
from core.structures import Meshes

from .parameters import DEPTH_SHADERS, Settings
from .scene_builder import (
    SILHOUETTE,
    blend_params,
    build_cameras,
    build_shader,
    fragments_key,
    image_key,
    over_budget_message,
    raster_settings,
    shader_name,
)
from .scene_mesh import SceneMesh

CROWDED, LOST = 1, 2
# Shaders that blend with SoftRas's softmax (their layers' shares of the colour are shown).
SOFTMAX_SHADERS = ("Soft Phong", "Soft Gouraud")
GOURAUD_SHADERS = ("Soft Gouraud", "Hard Gouraud")
GOURAUD_NOTE = "Gouraud reads vertex colours: the texture is shown averaged onto the vertices"
K_STATES = {CROWDED: "(K full: farther faces dropped)", LOST: "(K full: the face under the pixel was dropped)"}


# What a pane render raises for settings or memory it cannot serve: reported, not fatal.
RENDER_ERRORS = (ValueError, TypeError, RuntimeError, MemoryError)


def render_error_text(exc: BaseException) -> str:
    """A failed render in the window's words (over the memory budget: the controls to change)."""
    if isinstance(exc, MemoryBudgetError):
        return over_budget_message(exc)
    return f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class FragmentMaps:
    """A pane's fragments as numpy arrays of one image, K layers sorted by depth.

    pix_to_face (H, W, K) int64 (-1 empty), zbuf (H, W, K), bary_coords (H, W, K, 3),
    dists (H, W, K) float32 (-1 empty), shaded (H, W, C): the rendered image (RGBA, or C = 1
    for a depth map), k_state (H, W) int8: 0, or CROWDED where more than K faces were within
    reach, or LOST where the face containing the pixel centre was among those dropped;
    shares (H, W, K) and background_share (H, W): each layer's and the background's share of
    the soft Phong / Gouraud colour (core's softmax_blend_shares; None for other shaders);
    alpha_gradient (H, W, K): each layer's ∂α/∂dist, how the soft coverage responds to moving
    that face (core's silhouette_alpha_gradient; None for shaders without a soft coverage).
    """

    pix_to_face: np.ndarray
    zbuf: np.ndarray
    bary_coords: np.ndarray
    dists: np.ndarray
    shaded: np.ndarray
    k_state: np.ndarray | None = None
    shares: np.ndarray | None = None
    background_share: np.ndarray | None = None
    alpha_gradient: np.ndarray | None = None

    @property
    def alpha(self) -> np.ndarray | None:
        """The rendered image's alpha channel (None for a depth map)."""
        return self.shaded[..., 3] if self.shaded.shape[-1] == 4 else None

    @property
    def layers(self) -> int:
        return int(self.pix_to_face.shape[2])

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.pix_to_face.shape[0]), int(self.pix_to_face.shape[1])

    def readout(self, x: int, y: int, layer: int) -> str:
        """The values at pixel (x, y) as one line: alpha, every layer's face and layer `layer`'s
        depth, barycentrics and distance."""
        h, w = self.shape
        if not (0 <= x < w and 0 <= y < h):
            raise ValueError(f"pixel ({x}, {y}) is outside the {w}×{h} image")
        if not 0 <= layer < self.layers:
            raise ValueError(f"layer must be in [0, {self.layers}), got {layer}")
        faces = self.pix_to_face[y, x]
        shown = " ".join(str(int(f)) for f in faces[:8]) + (" …" if self.layers > 8 else "")
        alpha = self.alpha
        value = f"α {alpha[y, x]:.4f}" if alpha is not None else f"depth {self.shaded[y, x, 0]:.4f}"
        state = int(self.k_state[y, x]) if self.k_state is not None else 0
        note = f"  {K_STATES[state]}" if state else ""
        text = f"({x}, {y})  {value}  faces [{shown}]{note}  k={layer}: "
        if faces[layer] < 0:
            return text + "empty"
        b = self.bary_coords[y, x, layer]
        share = f"  share {self.shares[y, x, layer]:.3f}" if self.shares is not None else ""
        slope = f"  ∂α/∂dist {self.alpha_gradient[y, x, layer]:.3e}" if self.alpha_gradient is not None else ""
        return text + (
            f"face {int(faces[layer])}  z {self.zbuf[y, x, layer]:.4f}  "
            f"bary ({b[0]:.3f}, {b[1]:.3f}, {b[2]:.3f})  dist {self.dists[y, x, layer]:.3e}{share}{slope}"
        )


@dataclass(frozen=True)
class KReport:
    """How faces_per_pixel treated the first image (core's fragments' `truncation`): of its
    `covered` pixels, `crowded` had more than K faces within reach (the farthest dropped) and
    at `lost` every face containing the pixel centre was among the dropped."""

    k: int
    covered: int
    crowded: int
    lost: int

    def summary(self) -> str:
        """One short line for the pane: what K did."""
        if self.lost:
            return f"K = {self.k} too small at {self.share(self.lost)} of px"
        if self.k == 1:
            return "K = 1: the nearest face of each pixel"
        if self.crowded:
            return f"K = {self.k} full at {self.share(self.crowded)} of px, coverage kept"
        return f"K = {self.k} holds every face within reach"

    def details(self) -> str:
        """The counts behind the summary."""
        return (f"{self.covered} covered pixels; at {self.crowded} more than K = {self.k} faces were within "
                f"reach (the farthest were dropped); at {self.lost} the face containing the pixel centre "
                "was among them, so soft coverage there is too low: raise faces per pixel or lower the blur radius")

    def share(self, count: int) -> str:
        """`count` pixels as a percentage of the covered ones ("1.5 %")."""
        return f"{100.0 * count / max(self.covered, 1):.1f} %"


def _k_report(fragments: Fragments, k: int) -> KReport | None:
    """The first image's KReport, when the fragments carry a truncation record."""
    sparse = fragments.sparse
    if sparse is None or sparse.truncation is None:
        return None
    pixels = sparse.shape[1] * sparse.shape[2]  # image 0's flat indices are those below
    hit = torch.zeros(sparse.shape[0] * pixels, dtype=torch.bool, device=sparse.pix.device)
    hit[sparse.pix] = True
    covered = int(hit[:pixels].sum())
    crowded, lost = (int((positions < pixels).sum()) for positions in (sparse.truncation.crowded, sparse.truncation.lost_inside))
    return KReport(k, covered, crowded, lost)


@dataclass(frozen=True)
class PaneImage:
    """One pane's render: the image as core returned it (RGBA, or one channel of depth for the
    depth shaders), the RGB the pane shows, how long it took.

    `display` is the RGB image for a shaded pane, the alpha channel as grey for the silhouette
    shader (its RGB is all ones) and the disparity as grey for the depth shaders (nearest white,
    zfar black; core.io.depth_grey). `reused` means nothing had to be recomputed. `note` says
    how the pane departed from the scene as loaded (a texture shown as vertex colours), if it did.
    """

    pane: str
    shader: str
    rgba: np.ndarray
    display: np.ndarray
    milliseconds: float
    reused: bool
    fragments: FragmentMaps | None
    k_report: KReport | None = None
    note: str | None = None


def display_rgb(rgba: np.ndarray, shader: str, zfar: float = 100.0) -> np.ndarray:
    """The uint8 RGB image shown for a render (see PaneImage.display); `zfar` is the camera's,
    where a depth map's background lies."""
    if shader in DEPTH_SHADERS:
        return np.ascontiguousarray(np.repeat(depth_grey(rgba[..., 0], zfar)[..., None], 3, axis=-1))
    channels = np.repeat(rgba[..., 3:4], 3, axis=-1) if shader == SILHOUETTE else rgba[..., :3]
    return np.ascontiguousarray(np.round(np.clip(channels, 0.0, 1.0) * 255.0).astype(np.uint8))


def shaded_readout(value: np.ndarray) -> str:
    """One pixel of a rendered image as text: its colour and alpha, or its depth."""
    if value.shape[-1] == 1:
        return f"depth {value[0]:.4f}"
    r, g, b, a = value
    return f"rgb ({r:.3f}, {g:.3f}, {b:.3f})  α {a:.4f}"


class PaneRenderer:
    """Renders one pane; keeps the last fragments and image to skip work that inputs did not change.

    Not thread-safe: one renderer per worker thread.
    """

    def __init__(self, pane: str, device: str | torch.device = "cpu") -> None:
        self.pane = pane
        self.device = torch.device(device)
        self._mesh_uid: int | None = None
        self._meshes = None
        self._vertex_coloured: Meshes | None = None  # the mesh with vertex colours, for Gouraud
        self._fragments_key: tuple | None = None
        self._fragments: Fragments | None = None
        self._k_report: KReport | None = None  # of self._fragments
        self._image_key: tuple | None = None
        self._image: PaneImage | None = None

    def render(self, mesh: SceneMesh, settings: Settings, with_fragments: bool = False) -> PaneImage:
        """Render (or reuse) this pane's image for `mesh` and `settings`.

        Raises ValueError from core for settings it refuses (e.g. over the memory budget).
        """
        if mesh.uid != self._mesh_uid:
            meshes = mesh.meshes
            # Textures move devices in place (PyTorch3D's semantics): move a copy, never the
            # SceneMesh that other threads share.
            self._meshes = meshes if meshes.device == self.device else meshes.clone().to(self.device)
            self._vertex_coloured = None
            self._mesh_uid = mesh.uid
            self._fragments_key = self._image_key = None
        frag_key, img_key = fragments_key(settings, self.pane), image_key(settings, self.pane)
        cached = self._image
        if cached is not None and img_key == self._image_key:
            if with_fragments and cached.fragments is None and frag_key == self._fragments_key:
                maps = _fragment_maps(self._fragments, cached.rgba, settings, cached.shader)
                cached = self._image = replace(cached, fragments=maps)
            if cached.fragments is not None or not with_fragments:
                return replace(cached, reused=True, fragments=cached.fragments if with_fragments else None)

        name = shader_name(settings, self.pane)
        start = time.perf_counter()
        with torch.no_grad():
            cameras = build_cameras(settings, self.device)
            shader = build_shader(settings, self.pane, self.device, cameras)
            if frag_key != self._fragments_key:
                self._fragments_key = None  # stays None if rasterization raises
                rasterization = raster_settings(settings, self.pane)
                rasterizer = MeshRasterizer(cameras, rasterization)
                # A silhouette reads only distances: depths and barycentrics are then computed
                # only if the inspector or a later shader reads them.
                self._fragments = rasterizer(self._meshes, defer_bary_zbuf=not getattr(shader, "reads_bary_zbuf", True),
                                             report_truncation=True)
                self._k_report = _k_report(self._fragments, rasterization.faces_per_pixel)
                self._fragments_key = frag_key
            shaded_meshes, note = self._shaded_meshes(mesh, name)
            images = shader(self._fragments, shaded_meshes)
            rgba = images[0].float().cpu().numpy()
        milliseconds = (time.perf_counter() - start) * 1000.0
        maps = None
        if with_fragments:
            maps = _fragment_maps(self._fragments, rgba, settings, name)
        self._image_key = img_key
        display = display_rgb(rgba, name, settings["camera.zfar"])
        self._image = PaneImage(self.pane, name, rgba, display, milliseconds, False, maps, self._k_report, note)
        return self._image

    def _shaded_meshes(self, mesh: SceneMesh, shader: str):
        """The meshes `shader` shades, and a note when they are not the loaded ones: Gouraud
        shading reads vertex colours only (PyTorch3D's rule), so a textured mesh is given its
        texture averaged onto the vertices, the colours the 3D view shows."""
        if shader not in GOURAUD_SHADERS or type(self._meshes.textures) is TexturesVertex:
            return self._meshes, None
        if self._vertex_coloured is None:
            verts = self._meshes.verts_packed()
            colours = torch.from_numpy(mesh.vertex_colors).to(device=verts.device, dtype=verts.dtype)
            self._vertex_coloured = Meshes(verts=[verts], faces=[self._meshes.faces_packed()],
                                           textures=TexturesVertex(verts_features=[colours]))
        return self._vertex_coloured, GOURAUD_NOTE


def _blend_shares(fragments: Fragments, settings: Settings, shader: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The first image's softmax shares (layers (H, W, K), background (H, W)) for the soft
    shaded shaders, from the same blend parameters and depth range the shader used."""
    if shader not in SOFTMAX_SHADERS:
        return None
    with torch.no_grad():
        shares, background = softmax_blend_shares(
            fragments, blend_params(settings), znear=settings["camera.znear"], zfar=settings["camera.zfar"]
        )
    return shares[0].float().cpu().numpy(), background[0].float().cpu().numpy()


def _fragment_maps(fragments: Fragments, rgba: np.ndarray, settings: Settings, shader: str) -> FragmentMaps:
    """Dense numpy copies of the first image's fragments (built from core's sparse form on access),
    with the blend shares and coverage gradients of the shaders that have them."""
    shares = _blend_shares(fragments, settings, shader)
    return FragmentMaps(
        pix_to_face=fragments.pix_to_face[0].cpu().numpy(),
        zbuf=fragments.zbuf[0].float().cpu().numpy(),
        bary_coords=fragments.bary_coords[0].float().cpu().numpy(),
        dists=fragments.dists[0].float().cpu().numpy(),
        shaded=rgba,
        k_state=_k_state(fragments),
        shares=None if shares is None else shares[0],
        background_share=None if shares is None else shares[1],
        alpha_gradient=_alpha_gradient(fragments, settings, shader),
    )


def _alpha_gradient(fragments: Fragments, settings: Settings, shader: str) -> np.ndarray | None:
    """The first image's ∂α/∂dist per layer (H, W, K) for the shaders whose alpha is SoftRas's
    soft coverage (soft Phong / Gouraud, the silhouette)."""
    if shader not in (*SOFTMAX_SHADERS, SILHOUETTE):
        return None
    with torch.no_grad():
        return silhouette_alpha_gradient(fragments, settings["blend.sigma"])[0].float().cpu().numpy()


def _k_state(fragments: Fragments) -> np.ndarray | None:
    """The first image's (H, W) map of FragmentMaps.k_state, when the fragments carry one."""
    sparse = fragments.sparse
    if sparse is None or sparse.truncation is None:
        return None
    _, h, w, _ = sparse.shape
    state = np.zeros(h * w, dtype=np.int8)
    for positions, value in ((sparse.truncation.crowded, CROWDED), (sparse.truncation.lost_inside, LOST)):
        positions = positions.cpu().numpy()
        state[positions[positions < h * w]] = value
    return state.reshape(h, w)
