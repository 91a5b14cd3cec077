"""The headless command line: outputs, exit codes and one-line errors (no tracebacks)."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from cli.main import main as cli_main
from core.fitting import FitConfig, make_targets, save_image_targets
from core.io import load_mesh, save_mesh
from core.renderer import TexturesVertex
from core.structures import Meshes
from core.utils import ico_sphere
from tests.shared_data import REPO_ROOT

TINY_FIT = ["--iterations", "6", "--views", "4", "--image-size", "32", "--faces-per-pixel", "8",
            "--sphere-level", "1", "--quiet"]


def _run(*args: str) -> subprocess.CompletedProcess:
    """``python main.py ARGS`` in a fresh process, as a user would run it."""
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def mesh_file(tmp_path_factory) -> str:
    """A coloured ellipsoid saved as PLY."""
    sphere = ico_sphere(2)
    verts = sphere.verts_packed() * torch.tensor([1.5, 0.9, 1.0])
    colours = (0.5 + 0.4 * sphere.verts_packed()).clamp(0, 1)
    path = tmp_path_factory.mktemp("mesh") / "ellipsoid.ply"
    save_mesh(path, Meshes([verts], sphere.faces_list(), textures=TexturesVertex([colours])))
    return str(path)


def _assert_one_line_error(proc: subprocess.CompletedProcess, code: int, *fragments: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def _call(capsys, *args: str) -> subprocess.CompletedProcess:
    """Run the command line in this process (fast); same exit code and stderr as a real run."""
    try:
        code = cli_main(list(args))
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, captured.out, captured.err)


# --- render -----------------------------------------------------------------------------------
@pytest.mark.parametrize("shader", ["hard-phong", "soft-phong", "hard-gouraud", "soft-gouraud", "hard-flat", "silhouette"])
def test_render_writes_the_image(tmp_path, mesh_file, shader, monkeypatch, capsys):
    out = tmp_path / "r.png"
    code = cli_main(["render", mesh_file, "--out", str(out), "--image-size", "40", "--shader", shader,
                     "--faces-per-pixel", "4" if shader in ("soft-phong", "soft-gouraud", "silhouette") else "1"])
    assert code == 0
    image = np.asarray(Image.open(out))
    if shader == "silhouette":
        assert image.shape == (40, 40)  # grey-scale coverage
        assert image.max() == 255 and image[0, 0] == 0
    else:
        assert image.shape == (40, 40, 4)
        assert (image[0, 0] == [255, 255, 255, 0]).all()  # corner: white background, transparent
        centre = image[20, 20]
        assert centre[3] == 255 and (centre[:3] < 255).any()  # the mesh, shaded
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("shader", ["hard-depth", "soft-depth"])
def test_render_depth_as_picture_and_values(tmp_path, mesh_file, shader):
    png, npy = tmp_path / "d.png", tmp_path / "d.npy"
    common = ["--image-size", "40", "--shader", shader, "--zfar", "50"]
    assert cli_main(["render", mesh_file, "--out", str(png), *common]) == 0
    assert cli_main(["render", mesh_file, "--out", str(npy), *common]) == 0
    grey, depth = np.asarray(Image.open(png)), np.load(npy)
    assert grey.shape == depth.shape == (40, 40) and depth.dtype == np.float32
    assert depth[0, 0] == pytest.approx(50.0) and grey[0, 0] == 0  # background: zfar, black
    # the ellipsoid (normalised to the unit cube) seen from 2.7 away: depths about 2.2 to 3.2
    assert 1.8 < depth.min() < 2.7 and grey.max() == 255 and grey[depth == depth.min()].min() == 255
    assert grey[20, 20] > 200


def test_render_npy_holds_the_rgba_values(tmp_path, mesh_file):
    out = tmp_path / "r.npy"
    assert cli_main(["render", mesh_file, "--out", str(out), "--image-size", "24"]) == 0
    rgba = np.load(out)
    assert rgba.shape == (24, 24, 4) and rgba[0, 0].tolist() == [1.0, 1.0, 1.0, 0.0] and rgba[12, 12, 3] == 1.0


def test_render_notes_when_faces_per_pixel_loses_coverage(tmp_path, mesh_file, capsys):
    out = str(tmp_path / "s.png")
    blurry = ["--image-size", "40", "--shader", "silhouette", "--sigma", "1e-3"]
    assert cli_main(["render", mesh_file, "--out", out, *blurry, "--faces-per-pixel", "2"]) == 0
    note = capsys.readouterr().err
    assert note.startswith("note: K=2 dropped the face under the pixel at ") and note.count("\n") == 1
    suggested = int(note.split("--faces-per-pixel ")[1].split()[0])
    assert cli_main(["render", mesh_file, "--out", out, *blurry, "--faces-per-pixel", str(suggested)]) == 0
    assert capsys.readouterr().err == ""  # the suggested K loses nothing


def test_render_warns_in_one_line_when_the_mesh_loads_without_its_texture(tmp_path, capsys):
    (tmp_path / "t.mtl").write_text("newmtl skin\nKd 0.8 0.2 0.2\nmap_Kd gone.png\n")
    mesh = tmp_path / "t.obj"
    mesh.write_text("mtllib t.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nusemtl skin\nf 1/1 2/2 3/3\n")
    assert cli_main(["render", str(mesh), "--out", str(tmp_path / "t.png"), "--image-size", "16"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: ") and "'gone.png'" in err and err.count("\n") == 1, err


def test_render_options_change_the_picture(tmp_path, mesh_file):
    a, b, c = (tmp_path / f"{n}.png" for n in "abc")
    assert cli_main(["render", mesh_file, "--out", str(a), "--image-size", "32"]) == 0
    assert cli_main(["render", mesh_file, "--out", str(b), "--image-size", "32", "--azim", "90"]) == 0
    assert cli_main(["render", mesh_file, "--out", str(c), "--image-size", "32", "--light", "0", "5", "0"]) == 0
    pa, pb, pc = (np.asarray(Image.open(p)).astype(int) for p in (a, b, c))
    assert np.abs(pa - pb).max() > 50 and np.abs(pa - pc).max() > 50
    # close up (the ellipsoid's near side 0.3 away): znear 1 clips it at 0.5, znear 0.1 at 0.05
    near = ["--image-size", "32", "--dist", "1.3", "--elev", "0", "--azim", "90"]
    d, e = tmp_path / "d.png", tmp_path / "e.png"
    assert cli_main(["render", mesh_file, "--out", str(d), *near]) == 0
    assert cli_main(["render", mesh_file, "--out", str(e), *near, "--znear", "0.1"]) == 0
    assert np.abs(np.asarray(Image.open(d)).astype(int) - np.asarray(Image.open(e)).astype(int)).max() > 50


def test_render_errors_are_one_line(tmp_path, mesh_file, capsys):
    garbage = tmp_path / "garbage.obj"
    garbage.write_bytes(b"\x00\x01 this is not a mesh \xff" * 10)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    out = str(tmp_path / "x.png")
    check = lambda code, args, *fragments: _assert_one_line_error(_call(capsys, "render", *args), code, *fragments)  # noqa: E731
    check(1, [str(tmp_path / "missing.obj"), "--out", out], "missing.obj")
    check(1, [str(garbage), "--out", out], "garbage.obj")
    check(1, [str(text), "--out", out], "notes.txt")
    check(1, [mesh_file, "--out", str(tmp_path / "x.jpg")], ".png")
    check(1, [mesh_file, "--out", str(tmp_path / "no" / "x.png")], "does not exist")
    check(2, [mesh_file, "--out", out, "--image-size", "0"], "--image-size")
    check(2, [mesh_file, "--out", out, "--sigma", "nan"], "--sigma")
    check(2, [mesh_file, "--out", out, "--shader", "toon"], "--shader")
    check(1, [mesh_file, "--out", out, "--znear", "200"], "--znear")
    check(2, [mesh_file], "--out")
    # absurd settings: refused up front by the memory budget, naming what to lower
    check(1, [mesh_file, "--out", out, "--image-size", "4096", "--faces-per-pixel", "1000"], "faces_per_pixel")
    assert not (tmp_path / "x.png").exists()


def test_errors_in_a_real_process_print_no_traceback(tmp_path, mesh_file):
    _assert_one_line_error(_run("render", str(tmp_path / "missing.obj"), "--out", str(tmp_path / "x.png")), 1, "missing.obj")
    _assert_one_line_error(_run("fit", mesh_file, "--out", str(tmp_path / "f.obj"), "--lr", "-1"), 2, "--lr")
    _assert_one_line_error(_run("render"), 2, "mesh")


def test_render_failure_keeps_an_existing_file(tmp_path, mesh_file):
    out = tmp_path / "keep.png"
    out.write_bytes(b"precious")
    assert cli_main(["render", mesh_file, "--out", str(out), "--image-size", "4096", "--faces-per-pixel", "1000"]) == 1
    assert out.read_bytes() == b"precious"


# --- fit --------------------------------------------------------------------------------------
def test_fit_from_a_mesh_writes_mesh_history_and_grid(tmp_path, mesh_file, capsys):
    out = tmp_path / "fitted.obj"
    proc = _call(capsys, "fit", mesh_file, "--out", str(out), *TINY_FIT)
    assert proc.returncode == 0, proc.stderr
    assert "done after 6 iterations" in proc.stdout
    fitted = load_mesh(out)
    assert fitted.verts_packed().shape == (42, 3)  # ico_sphere(1)
    assert isinstance(fitted.textures, TexturesVertex)  # colours saved
    with open(tmp_path / "fitted_losses.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["iteration"]) for r in rows] == list(range(1, 7))
    assert all(float(r["silhouette"]) > 0 for r in rows)
    grid = np.asarray(Image.open(tmp_path / "fitted_grid.png"))
    assert grid.shape == (64, 4 * 32, 3)  # targets over fits, four views


def test_fit_from_an_image_folder(tmp_path, mesh_file):
    targets = make_targets(load_mesh(mesh_file), FitConfig(num_views=4, image_size=32, faces_per_pixel=8))
    save_image_targets(targets, tmp_path / "views")
    out = tmp_path / "fitted.ply"
    history = tmp_path / "h.csv"
    code = cli_main(["fit", str(tmp_path / "views"), "--out", str(out), "--history", str(history), *TINY_FIT, "--workers", "1"])
    assert code == 0
    assert load_mesh(out).verts_packed().shape == (42, 3)
    assert len(history.read_text().splitlines()) == 7


def test_fit_ctrl_c_saves_what_it_has(tmp_path, mesh_file, monkeypatch, capsys):
    from core.fitting import Fitter

    real_step = Fitter.step

    def step_then_interrupt(self):
        if self.iteration == 3:
            raise KeyboardInterrupt
        return real_step(self)

    monkeypatch.setattr(Fitter, "step", step_then_interrupt)
    out = tmp_path / "partial.obj"
    code = cli_main(["fit", mesh_file, "--out", str(out), *TINY_FIT])
    assert code == 130
    assert "stopped early" in capsys.readouterr().out
    assert load_mesh(out).verts_packed().shape == (42, 3)
    assert len((tmp_path / "partial_losses.csv").read_text().splitlines()) == 4  # header + 3 iterations


def _live_processes_in_group(group: int) -> list[str]:
    """Command lines of the processes of a process group that are still running (zombies, which
    a container's init may never reap, are not)."""
    from pathlib import Path

    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        if int(fields[2]) == group and fields[0] != "Z":  # state, ppid, pgrp
            live.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
    return live


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups, SIGINT and /proc as on Linux")
def test_fit_ctrl_c_with_worker_processes(tmp_path, mesh_file):
    """A real Ctrl-C (SIGINT to the whole process group, as a terminal sends it) during a fit on
    view worker processes: the fit saves and exits 130, no worker prints a traceback, and no
    process of the group is left behind."""
    import os
    import re
    import signal
    import time

    out, errors = tmp_path / "partial.obj", tmp_path / "stderr.txt"
    with open(errors, "w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "main.py", "fit", mesh_file, "--out", str(out), "--workers", "2",
             "--iterations", "100000", "--views", "4", "--image-size", "32",
             "--faces-per-pixel", "8", "--sphere-level", "1"],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True, start_new_session=True,
        )
        deadline = time.monotonic() + 120  # until the progress bar counts iterations
        while not re.search(r"\b[1-9]\d*/100000", errors.read_text()) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert proc.poll() is None, errors.read_text()
        os.killpg(proc.pid, signal.SIGINT)
        stdout, _ = proc.communicate(timeout=60)
    text = errors.read_text()
    assert proc.returncode == 130, text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    assert "stopped early" in stdout
    assert load_mesh(out).verts_packed().shape == (42, 3)
    time.sleep(0.5)
    assert _live_processes_in_group(proc.pid) == [], "the fit's workers outlived it"


def test_fit_errors_are_one_line(tmp_path, mesh_file, capsys):
    out = str(tmp_path / "f.obj")
    check = lambda code, args, *fragments: _assert_one_line_error(_call(capsys, "fit", *args), code, *fragments)  # noqa: E731
    check(1, [str(tmp_path / "nothing.obj"), "--out", out], "nothing.obj")
    check(1, [str(tmp_path), "--out", out], "cameras.json")
    check(1, [mesh_file, "--out", str(tmp_path / "f.stl")], ".obj or .ply")
    check(2, [mesh_file, "--out", out, "--lr", "-1"], "--lr")
    check(1, [mesh_file, "--out", out, "--momentum", "1.5"], "momentum")
    check(1, [mesh_file, "--out", out, "--views", "2", "--views-per-iteration", "3"], "views_per_iteration")
    check(2, [mesh_file, "--out", out, "--workers", "0"], "--workers")
    check(1, [mesh_file, "--out", out, "--device", "cuda:7"], "cuda")
    check(2, [mesh_file, "--out", out, "--optimizer", "lbfgs"], "--optimizer")
    assert not (tmp_path / "f.obj").exists()


def test_a_cuda_device_number_beyond_the_machines_is_a_one_line_error(tmp_path, mesh_file, capsys, monkeypatch):
    """As on a one-GPU machine: cuda:0 would be accepted, cuda:1 names no device."""
    from cli.common import CliError, check_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert check_device("cuda:0") == "cuda:0" and check_device("cuda") == "cuda"
    with pytest.raises(CliError, match="1 CUDA device"):
        check_device("cuda:1")
    out = str(tmp_path / "f.obj")
    _assert_one_line_error(_call(capsys, "fit", mesh_file, "--out", out, "--device", "cuda:1"), 1, "cuda:1")
    _assert_one_line_error(_call(capsys, "render", mesh_file, "--out", str(tmp_path / "r.png"), "--device", "cuda:1"), 1, "cuda:1")


def test_fit_diverging_run_is_reported(tmp_path, mesh_file, capsys):
    proc = _call(capsys, "fit", mesh_file, "--out", str(tmp_path / "f.obj"), *TINY_FIT, "--lr", "1e12")
    _assert_one_line_error(proc, 1, "lower --lr")
