"""FitService: the fit runs on a worker thread, reports throttled, pauses and resumes exactly."""

from __future__ import annotations

import time

import pytest
import torch

from core.fitting import Fitter, make_targets
from tests.viewer.fitting_cases import ellipsoid, small_config
from viewer.fitting.fit_service import FitJob, FitService

TIMEOUT_MS = 30_000


@pytest.fixture
def service(qtbot):
    service = FitService(torch_threads=1)
    yield service
    assert service.shutdown(10_000)
    assert not service.is_alive()


def _collect(service) -> list:
    reports = []
    service.progress.connect(reports.append)
    return reports


def _wait_phase(qtbot, service, phase: str) -> None:
    qtbot.waitUntil(lambda: service.phase == phase, timeout=TIMEOUT_MS)


def _reference_history(config, pause_at: int | None = None, changes: dict | None = None) -> list[dict]:
    """The same fit run straight through on this thread (optionally changing settings at `pause_at`),
    with the service's one torch thread and the Fitter's default view workers, as the service's."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fitter = Fitter(make_targets(ellipsoid(), config), config)
        if pause_at is not None:
            fitter.run(pause_at)
            fitter.update_config(**changes)
        fitter.run()
        return fitter.history
    finally:
        torch.set_num_threads(threads)


def _losses(records) -> list[tuple]:
    return [tuple(v for k, v in sorted(r.items()) if k != "seconds") for r in records]


def _all_records(reports) -> list[dict]:
    return [record for report in reports for record in report.records]


def test_progress_is_throttled_but_every_record_arrives(qtbot) -> None:
    service = FitService(torch_threads=1, interval_s=0.25, mesh_interval_s=0.5)
    reports = _collect(service)
    config = small_config(iterations=60)
    start = time.perf_counter()
    service.start(FitJob(config, target_mesh=ellipsoid()))
    _wait_phase(qtbot, service, "finished")
    qtbot.waitUntil(lambda: reports and reports[-1].phase == "finished", timeout=TIMEOUT_MS)
    wall = time.perf_counter() - start
    assert service.shutdown(10_000)
    records = _all_records(reports)
    assert [r["iteration"] for r in records] == list(range(1, 61))
    # At most one report per 250 ms (plus the forced ones: start and finish), so fewer reports
    # than iterations - far fewer at this machine's 15-50 ms per iteration.
    assert len(reports) <= wall / 0.25 + 3, (len(reports), wall)
    assert len(reports) < 60, len(reports)
    with_mesh = [r for r in reports if r.mesh is not None]
    assert len(with_mesh) <= wall / 0.5 + 3
    assert reports[-1].mesh is not None and reports[-1].iteration == 60
    assert reports[-1].elapsed_s > 0
    assert any(r.iterations_per_second > 0 for r in reports)


def _start_then_pause(qtbot, service, config, after: int) -> int:
    """Start a fit of the ellipsoid, pause it once `after` iterations are reported; the paused count."""
    service.start(FitJob(config, target_mesh=ellipsoid()))
    qtbot.waitUntil(lambda: service.latest is not None and service.latest.iteration >= after, timeout=TIMEOUT_MS)
    service.pause()
    _wait_phase(qtbot, service, "paused")
    qtbot.waitUntil(lambda: service.latest.phase == "paused", timeout=TIMEOUT_MS)
    return service.latest.iteration


def test_pause_freezes_the_count_and_resume_continues_exactly(qtbot, service) -> None:
    reports = _collect(service)
    config = small_config(iterations=40)
    frozen = _start_then_pause(qtbot, service, config, 5)
    assert frozen < 40
    qtbot.wait(300)
    assert service.latest.iteration == frozen and service.phase == "paused"
    service.resume()
    _wait_phase(qtbot, service, "finished")
    qtbot.waitUntil(lambda: reports[-1].phase == "finished", timeout=TIMEOUT_MS)
    assert _losses(_all_records(reports)) == _losses(_reference_history(config))


def test_setting_changes_apply_at_the_next_iteration(qtbot, service) -> None:
    reports = _collect(service)
    config = small_config(iterations=30)
    paused_at = _start_then_pause(qtbot, service, config, 3)
    changes = {"lr": 0.25, "weights": {"edge": 2.0, "laplacian": 0.5}}
    service.update_config(**changes)
    service.step()
    qtbot.waitUntil(lambda: service.latest.iteration == paused_at + 1, timeout=TIMEOUT_MS)
    assert service.latest.settings["lr"] == 0.25 and service.latest.settings["weights"]["edge"] == 2.0
    service.resume()
    _wait_phase(qtbot, service, "finished")
    qtbot.waitUntil(lambda: reports[-1].phase == "finished", timeout=TIMEOUT_MS)
    expected = _reference_history(config, paused_at, changes)
    assert _losses(_all_records(reports)) == _losses(expected)
    # And the change really mattered: a straight run differs.
    assert _losses(expected) != _losses(_reference_history(config))


def test_a_setting_that_fixes_the_run_is_rejected_and_the_run_goes_on(qtbot, service) -> None:
    service.start(FitJob(small_config(iterations=10_000), target_mesh=ellipsoid()))
    _wait_phase(qtbot, service, "running")
    with qtbot.waitSignal(service.rejected, timeout=TIMEOUT_MS) as blocker:
        service.update_config(image_size=64)
    assert "image_size" in blocker.args[0] and "cannot change" in blocker.args[0]
    before = service.latest.iteration
    qtbot.waitUntil(lambda: service.latest.iteration > before, timeout=TIMEOUT_MS)
    assert service.phase == "running"


def test_a_bad_target_folder_fails_with_a_message(qtbot, service, tmp_path) -> None:
    with qtbot.waitSignal(service.failed, timeout=TIMEOUT_MS) as blocker:
        service.start(FitJob(small_config(), target_folder=tmp_path / "missing"))
    assert "missing" in blocker.args[0]
    _wait_phase(qtbot, service, "failed")


def test_reset_discards_the_run_and_stale_progress(qtbot, service) -> None:
    service.start(FitJob(small_config(iterations=10_000), target_mesh=ellipsoid()))
    _wait_phase(qtbot, service, "running")
    service.reset()
    assert service.latest is None
    _wait_phase(qtbot, service, "idle")
    qtbot.wait(200)
    assert service.latest is None  # nothing of the old run was delivered after the reset


def test_shutdown_mid_run_ends_the_thread(qtbot) -> None:
    service = FitService()
    service.start(FitJob(small_config(iterations=10_000), target_mesh=ellipsoid()))
    _wait_phase(qtbot, service, "running")
    assert service.shutdown(10_000)
    assert not service.is_alive()


def test_job_and_service_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="exactly one target"):
        FitJob(small_config())
    with pytest.raises(TypeError, match="FitConfig"):
        FitJob({"iterations": 3}, target_mesh=ellipsoid())
    with pytest.raises(ValueError, match="torch_threads"):
        FitService(torch_threads=0)
    with pytest.raises(ValueError, match="view_workers"):
        FitService(view_workers=0)
    with pytest.raises(ValueError, match="interval_s"):
        FitService(interval_s=-1)


def test_view_worker_processes_follow_the_run(qtbot) -> None:
    """With two view workers the run renders on worker processes (the same history as a
    straight run on threads); they stop when the run stops, and a new run's start or a reset
    stops those of the run before."""
    service = FitService(torch_threads=1, view_workers=2)
    config = small_config(iterations=4)
    service.start(FitJob(config, target_mesh=ellipsoid()))
    _wait_phase(qtbot, service, "finished")
    run = service._worker._run
    workers = run.fitter._processes
    assert run.fitter.parallel == "processes" and workers is None  # closed when the run finished
    threads = Fitter(make_targets(ellipsoid(), config), config, workers=2, parallel="threads")
    threads.run()
    assert _losses(run.fitter.history) == _losses(threads.history)

    service.start(FitJob(small_config(iterations=10_000), target_mesh=ellipsoid()))
    _wait_phase(qtbot, service, "running")
    qtbot.waitUntil(lambda: service.latest is not None and service.latest.iteration >= 2, timeout=TIMEOUT_MS)
    processes = service._worker._run.fitter._processes._processes
    assert len(processes) == 2 and all(p.is_alive() for p in processes)
    service.reset()
    _wait_phase(qtbot, service, "idle")
    for process in processes:
        process.join(timeout=10)
    assert not any(p.is_alive() for p in processes)
    assert service.shutdown(10_000)
