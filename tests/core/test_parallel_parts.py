"""Renders split into parts on threads (parallel_parts) equal the same renders in one piece: the
selection pass by groups of images, the backward pass by runs of faces."""
from __future__ import annotations

import threading

import pytest
import torch

from core import renderer as R
from core.renderer.mesh import parallel_parts
from core.renderer.mesh import rasterize_meshes as RM
from core.structures import Meshes
from tests.core.random_meshes import random_ndc_meshes


def _render_with_grads(meshes: Meshes, defer: bool, **settings):
    offset = torch.zeros_like(meshes.verts_packed(), requires_grad=True)
    outputs = R.rasterize_meshes(meshes.offset_verts(offset), image_size=(18, 22), defer_bary_zbuf=defer, **settings)
    p2f, zbuf, bary, dists = outputs
    gen = torch.Generator().manual_seed(1)
    weights = [torch.randn(t.shape, generator=gen, dtype=t.dtype) for t in (zbuf, bary, dists)]
    (grad,) = torch.autograd.grad((zbuf, bary, dists), offset, weights)
    return [t.detach() for t in outputs], grad


@pytest.mark.parametrize("defer", [False, True])
@pytest.mark.parametrize("settings", [
    dict(faces_per_pixel=3, blur_radius=0.01, perspective_correct=True, clip_barycentric_coords=True),
    dict(faces_per_pixel=1, blur_radius=0.0, perspective_correct=False, clip_barycentric_coords=False),
], ids=["soft", "hard"])
def test_parts_on_threads_equal_one_piece(monkeypatch, settings, defer):
    meshes = random_ndc_meshes(5, sizes=(40, 25, 0, 33))  # one mesh empty
    monkeypatch.setattr(RM, "part_count", lambda device, most: 1)
    one_piece = _render_with_grads(meshes, defer, **settings)

    workers = set()
    run_parts = parallel_parts.run_parts

    def spying_run_parts(work, parts):
        def traced(*args):
            workers.add(threading.current_thread().name)
            return work(*args)
        return run_parts(traced, parts)

    monkeypatch.setattr(RM, "part_count", lambda device, most: max(1, min(3, most)))
    monkeypatch.setattr(RM, "run_parts", spying_run_parts)
    monkeypatch.setattr(RM, "_MIN_PART_ROWS", 8)
    monkeypatch.setattr(RM, "_MIN_PART_FACES", 4)
    in_parts = _render_with_grads(meshes, defer, **settings)
    assert any(name.startswith("raster-part") for name in workers)  # the parts really ran on the pool
    for a, b in zip(one_piece[0], in_parts[0]):
        assert torch.equal(a, b)
    assert one_piece[1].abs().sum() > 0
    torch.testing.assert_close(in_parts[1], one_piece[1], rtol=1e-10, atol=1e-12)


def test_part_count_follows_the_torch_thread_budget():
    cpu = torch.device("cpu")
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert parallel_parts.part_count(cpu, 20) == 1
        torch.set_num_threads(2)
        assert parallel_parts.part_count(cpu, 20) == min(2, parallel_parts.os.cpu_count() or 1)
        assert parallel_parts.part_count(cpu, 1) == 1
        assert parallel_parts.part_count(torch.device("meta"), 20) == 1
    finally:
        torch.set_num_threads(threads)


def test_run_parts_keeps_order_and_raises_the_first_error():
    assert parallel_parts.run_parts(lambda a, b: a * b, [(1, 2), (3, 4), (5, 6)]) == [2, 12, 30]

    def fail(i):
        if i == 1:
            raise ValueError("part 1")
        return i

    with pytest.raises(ValueError, match="part 1"):
        parallel_parts.run_parts(fail, [(0,), (1,), (2,)])
