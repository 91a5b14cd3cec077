"""Fitter view workers as processes (core.fitting.view_processes): the same runs as on threads,
bit for bit, through setting changes and resumes; failures are errors, never hangs."""

from __future__ import annotations

import math

import pytest
import torch

from core.fitting import Fitter, make_targets
from core.structures import Meshes
from core.utils import ico_sphere
from tests.viewer.fitting_cases import ellipsoid, small_config


@pytest.fixture(scope="module")
def targets():
    torch.set_num_threads(1)
    return make_targets(ellipsoid(), small_config())


def _records(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def _same_state(a: Fitter, b: Fitter) -> bool:
    return torch.equal(a.deform, b.deform) and torch.equal(a.colors, b.colors) and torch.equal(a.last_vertex_grad, b.last_vertex_grad)


def test_processes_run_exactly_as_threads(targets):
    """Steps, setting changes, a resume onto another source, close and restart: every record and
    parameter equal on worker processes and on worker threads."""
    config = small_config()
    threads = Fitter(targets, config, workers=2, parallel="threads")
    with Fitter(targets, config, workers=2) as processes:
        assert processes.parallel == "processes" and processes._processes is None  # started when needed
        processes.prepare()
        threads.prepare()
        workers = processes._processes
        assert len(workers) == 2 and all(p.is_alive() for p in workers._processes) and threads._processes is None
        assert _records(processes.run(2)) == _records(threads.run(2))
        assert _same_state(processes, threads)
        assert processes._processes is workers

        # settings reach the workers: sigma and K change the renders, 3 views split 2 + 1
        for fitter in (processes, threads):
            fitter.update_config(sigma=3e-4, faces_per_pixel=6, views_per_iteration=3, weights={"rgb": 0.5})
        assert _records(processes.run(2)) == _records(threads.run(2))
        assert _same_state(processes, threads)

        # a saved run from another source (same faces, other positions) resumes in the workers
        source = ico_sphere(2)
        other = Fitter(targets, config, Meshes([source.verts_packed() * 0.8], source.faces_list()), workers=2, parallel="threads")
        other.run(1)
        state = other.state_dict()
        expected = _records(other.run(2))
        processes.load_state_dict(state)
        assert _records(processes.run(2)) == expected
        assert _same_state(processes, other)

        # closed, the workers stop; the next step starts new ones and goes on exactly
        processes.close()
        assert not any(p.is_alive() for p in workers._processes)
        assert _records(processes.run(1)) == _records(other.run(1))
        restarted = processes._processes
    assert restarted.closed and not any(p.is_alive() for p in restarted._processes)


def _interrupt_first_receive(monkeypatch):
    from core.fitting import view_processes

    real = view_processes.ViewProcesses._receive
    calls = {"n": 0}

    def interrupted(self, connection):
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt
        return real(self, connection)

    monkeypatch.setattr(view_processes.ViewProcesses, "_receive", interrupted)


def _kill_a_worker(fitter: Fitter) -> None:
    victim = fitter._processes._processes[1]
    victim.kill()
    victim.join(timeout=10)


@pytest.mark.parametrize("failure", ["render error", "Ctrl-C", "dead worker"])
def test_after_a_failed_step_the_run_goes_on_exactly(targets, monkeypatch, failure):
    """A render error in a worker comes back as the same error (every worker's answer read);
    Ctrl-C while waiting leaves no stale answer for the next step; a worker killed mid-run (out
    of memory, say) is a clear RuntimeError, not a hang, and the next step starts fresh workers.
    After each, the run goes on exactly as a thread run that saw the same failure."""
    config = small_config()
    threads = Fitter(targets, config, workers=2, parallel="threads")
    with Fitter(targets, config, workers=2) as processes:
        assert _records(processes.run(1)) == _records(threads.run(1))
        draws = processes._generator.get_state()
        if failure == "render error":
            saved = processes.deform.detach().clone()
            for fitter in (processes, threads):
                with torch.no_grad():
                    fitter.deform[0, 0] = math.nan
                with pytest.raises(ValueError, match="NaN"):
                    fitter.step()
                with torch.no_grad():
                    fitter.deform.copy_(saved)
        else:
            if failure == "Ctrl-C":
                _interrupt_first_receive(monkeypatch)
                expected = pytest.raises(KeyboardInterrupt)
            else:
                _kill_a_worker(processes)
                expected = pytest.raises(RuntimeError, match="exited unexpectedly")
            with expected:
                processes.step()
            processes._generator.set_state(draws)  # the failed step drew its views: draw them again
            for fitter in (processes, threads):  # settings change while no workers run
                fitter.update_config(lr=0.5)
        assert processes.iteration == 1
        assert _records(processes.run(2)) == _records(threads.run(2))
        assert _same_state(processes, threads)
        assert all(p.is_alive() for p in processes._processes._processes)


def test_a_script_without_a_main_guard_runs_once(tmp_path):
    """`spawn` would import the user's script again in every worker; a script without an
    ``if __name__ == "__main__"`` guard would then run again there (and fail). The workers do
    not see the script: it runs once and its fit works."""
    import subprocess
    import sys

    from tests.shared_data import REPO_ROOT

    runs = tmp_path / "runs.txt"
    script = tmp_path / "fit_script.py"
    script.write_text(
        "import torch\n"
        "from core.fitting import Fitter, make_targets\n"
        "from tests.viewer.fitting_cases import ellipsoid, small_config\n"
        f"open({str(runs)!r}, 'a').write('ran\\n')\n"
        "config = small_config()\n"
        "targets = make_targets(ellipsoid(), config)\n"
        "fitter = Fitter(targets, config, workers=2)\n"
        "fitter.run(2)\n"
        "assert fitter._processes is not None and fitter.iteration == 2\n"
        "print('done', fitter.history[-1]['total'])\n"
    )
    result = subprocess.run([sys.executable, str(script)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                            env={**__import__("os").environ, "PYTHONPATH": str(REPO_ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("done") and "Traceback" not in result.stderr, result.stderr
    assert runs.read_text() == "ran\n"
