"""The panes' renderers as Python source: executed, the source renders what the pane shows."""

from __future__ import annotations

import numpy as np
import pytest

from viewer.default_scene import torus_mesh
from viewer.pane_renderer import PaneRenderer
from viewer.parameters import Settings
from viewer.render_code import render_code
from viewer.scene_mesh import make_scene_mesh

SMALL = {"raster.image_size": 40}
VARIANTS = [
    ("soft", {}),
    ("hard", {}),
    ("soft", {"camera.projection": "orthographic", "light.type": "directional", "pane.soft_shader": "Soft Gouraud"}),
    ("soft", {"pane.soft_shader": "Silhouette", "blend.sigma": 3e-4, "raster.faces_per_pixel": 20}),
    ("soft", {"light.type": "ambient", "raster.derive_blur": False, "raster.blur_radius": 2e-4, "blend.gamma": 0.05}),
    ("hard", {"pane.hard_shader": "Hard Flat", "raster.perspective_correct": "off",
              "material.shininess": 10.0, "blend.background": (0.1, 0.2, 0.3)}),
    ("soft", {"raster.cull_backfaces": True, "blend.sigma": 1e-3, "raster.faces_per_pixel": 30}),
    ("hard", {"pane.hard_shader": "Hard Depth", "camera.zfar": 30.0, "raster.hard_uses_soft": True}),
    ("soft", {"pane.soft_shader": "Soft Depth", "camera.azimuth": -75.0, "camera.znear": 0.5}),
]


@pytest.fixture(scope="module")
def torus():
    return make_scene_mesh(torus_mesh(), "torus")


def _run(code: str):
    """Execute the source on the CPU (the pane renders there) and return its renderer."""
    namespace: dict = {}
    exec(code.replace('torch.device("cuda" if torch.cuda.is_available() else "cpu")', 'torch.device("cpu")'), namespace)
    return namespace["renderer"]


@pytest.mark.parametrize(("pane", "changes"), VARIANTS)
def test_the_code_renders_what_the_pane_shows(torus, pane, changes) -> None:
    settings = Settings({**SMALL, **changes})
    renderer = _run(render_code(settings, pane, "core"))
    ours = renderer(torus.meshes)[0].numpy()
    shown = PaneRenderer(pane).render(torus, settings).rgba
    assert ours.shape == shown.shape and np.array_equal(ours, shown)


def test_the_pytorch3d_code_is_the_core_code_with_pytorch3d_imports(torus) -> None:
    settings = Settings({**SMALL, "blend.sigma": 2e-4})
    p3d, core = render_code(settings, "soft", "pytorch3d"), render_code(settings, "soft", "core")
    assert "from pytorch3d.renderer import (" in p3d and "core" not in p3d and "max_memory_bytes" not in p3d
    ported = p3d.replace("from pytorch3d.renderer", "from core.renderer")
    assert [line for line in core.splitlines() if line not in ported.splitlines()] == ["    max_memory_bytes=2147483648,"]
    image = _run(ported)(torus.meshes)[0].numpy()
    assert np.array_equal(image, PaneRenderer("soft").render(torus, settings).rgba)


def test_unknown_package_is_refused() -> None:
    with pytest.raises(ValueError, match="package"):
        render_code(Settings({}), "soft", "tensorflow")


def test_the_edit_menu_copies_the_code(window) -> None:
    from PySide6.QtGui import QGuiApplication

    code = window.copy_render_code("hard", "core")
    assert QGuiApplication.clipboard().text() == code and "HardPhongShader" in code
    assert "hard pane's renderer" in window.statusBar().currentMessage()
