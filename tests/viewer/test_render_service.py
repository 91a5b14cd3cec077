"""RenderService: off the GUI thread, latest request wins, results tagged and ordered."""

from __future__ import annotations

import threading

import pytest

from viewer.default_scene import torus_mesh
from viewer.pane_renderer import PaneRenderer
from viewer.parameters import Settings
from viewer.render_service import RenderService
from viewer.scene_mesh import make_scene_mesh
from viewer.state import Snapshot


@pytest.fixture
def service(qapp):
    service = RenderService()
    yield service
    service.shutdown()


@pytest.fixture(scope="module")
def mesh():
    return make_scene_mesh(torus_mesh(ring_segments=16, tube_segments=8), "t")


def _snapshot(mesh, i: int, **values) -> Snapshot:
    return Snapshot(i, mesh, Settings({"raster.image_size": 24, **values}))


def test_renders_off_the_gui_thread_and_reports_busy(qtbot, service, mesh, monkeypatch) -> None:
    render_threads, delivery_threads, busy = [], [], []
    original = PaneRenderer.render

    def recording_render(self, *args, **kwargs):
        render_threads.append(threading.current_thread())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PaneRenderer, "render", recording_render)
    service.busy_changed.connect(busy.append)
    service.rendered.connect(lambda result: delivery_threads.append(threading.current_thread()))
    with qtbot.waitSignal(service.rendered, timeout=60_000) as blocker:
        service.request(_snapshot(mesh, 1))
    result = blocker.args[0]
    assert result.snapshot_id == 1 and set(result.images) == {"soft", "hard"} and not result.errors
    assert len(render_threads) == 2 and threading.main_thread() not in render_threads
    assert delivery_threads == [threading.main_thread()]
    qtbot.waitUntil(lambda: busy == [True, False], timeout=10_000)


def test_many_rapid_requests_coalesce_and_the_last_one_is_shown(qtbot, service, mesh) -> None:
    shown = []
    service.rendered.connect(lambda result: shown.append(result.snapshot_id))
    for i in range(1, 41):
        service.request(_snapshot(mesh, i, **{"blend.sigma": 1e-5 * i}))
    qtbot.waitUntil(lambda: not service.busy, timeout=60_000)
    assert shown[-1] == 40
    assert shown == sorted(shown)  # never an older result after a newer one
    assert service.renders_started <= 3  # the one in flight when the burst began, then the last


def test_a_refused_pane_reports_an_error_and_the_other_still_renders(qtbot, service, mesh) -> None:
    # Soft: 512² × 100 slots × ~64 B ≈ 1.6 GB, over the 64 MB budget; hard (K = 1) ≈ 17 MB fits.
    too_big = {"raster.image_size": 512, "raster.faces_per_pixel": 100, "raster.memory_budget_mb": 64}
    snapshot = Snapshot(7, mesh, Settings(too_big))
    with qtbot.waitSignal(service.rendered, timeout=60_000) as blocker:
        service.request(snapshot)
    result = blocker.args[0]
    assert "soft" in result.errors and "raise Memory budget (Rasterization panel)" in result.errors["soft"]
    assert "soft" not in result.images and result.images["hard"].rgba.shape == (512, 512, 4)


def test_thread_count_is_checked(qapp) -> None:
    with pytest.raises(ValueError, match="torch_threads"):
        RenderService(torch_threads=0)


def test_fragments_follow_the_images_when_asked_for(qtbot, service, mesh) -> None:
    order = []
    service.rendered.connect(lambda result: order.append(("images", result)))
    service.fragments_ready.connect(lambda result: order.append(("fragments", result)))
    service.request(_snapshot(mesh, 1), with_fragments=True)
    qtbot.waitUntil(lambda: len(order) == 2, timeout=60_000)
    (first, images), (second, fragments) = order
    assert (first, second) == ("images", "fragments")
    assert all(image.fragments is None for image in images.images.values())
    assert fragments.snapshot_id == 1 and fragments.images["soft"].fragments.layers == 10
    assert fragments.images["soft"].rgba is images.images["soft"].rgba  # the same render, not a new one
    service.request(_snapshot(mesh, 2))
    qtbot.waitUntil(lambda: len(order) == 3, timeout=60_000)
    qtbot.wait(200)
    assert [kind for kind, _ in order] == ["images", "fragments", "images"]  # none asked for


def test_fragments_wait_until_the_settings_stay_still(qtbot, service, mesh, monkeypatch) -> None:
    """During a drag the inspector's copies would be stale work the next render waits behind:
    a request within FRAGMENTS_AFTER_QUIET_S of the last delivery skips them."""
    import viewer.render_service as render_service

    monkeypatch.setattr(render_service, "FRAGMENTS_AFTER_QUIET_S", 2.0)
    fragments = []
    service.fragments_ready.connect(lambda result: fragments.append(result.snapshot_id))
    with qtbot.waitSignal(service.rendered, timeout=60_000):
        service.request(_snapshot(mesh, 1), with_fragments=True)
    with qtbot.waitSignal(service.rendered, timeout=60_000) as blocker:
        service.request(_snapshot(mesh, 2, **{"blend.sigma": 2e-4}), with_fragments=True)
    assert blocker.args[0].snapshot_id == 2
    qtbot.waitUntil(lambda: fragments == [2], timeout=10_000)
    qtbot.wait(100)
    assert fragments == [2]  # snapshot 1 was superseded within the quiet period
