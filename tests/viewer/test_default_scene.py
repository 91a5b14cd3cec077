"""The generated torus: on its implicit surface, closed, normals pointing outwards."""

from __future__ import annotations

import math

import pytest
import torch

from viewer.default_scene import RING_RADIUS, TUBE_RADIUS, torus_mesh


def test_vertices_lie_on_the_torus() -> None:
    verts = torus_mesh().verts_packed()
    ring = torch.sqrt(verts[:, 0] ** 2 + verts[:, 2] ** 2)
    # (sqrt(x² + z²) − R)² + y² = r²
    assert torch.allclose((ring - RING_RADIUS) ** 2 + verts[:, 1] ** 2, torch.full_like(ring, TUBE_RADIUS**2), atol=1e-6)


def test_closed_surface_of_genus_one() -> None:
    mesh = torus_mesh(ring_segments=12, tube_segments=6)
    faces = mesh.faces_packed()
    edges = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    undirected = torch.sort(edges, dim=1).values
    _, counts = torch.unique(undirected, dim=0, return_counts=True)
    assert bool((counts == 2).all())  # every edge shared by exactly two faces
    # Each directed edge appears once: consistent winding.
    assert torch.unique(edges, dim=0).shape[0] == edges.shape[0]
    v, e, f = mesh.verts_packed().shape[0], counts.numel(), faces.shape[0]
    assert v - e + f == 0  # Euler characteristic of a torus


def test_face_normals_point_away_from_the_tube_axis() -> None:
    mesh = torus_mesh()
    verts, faces = mesh.verts_packed(), mesh.faces_packed()
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    normal = torch.cross(b - a, c - a, dim=1)
    centroid = (a + b + c) / 3
    angle = torch.atan2(centroid[:, 2], centroid[:, 0])
    tube_centre = torch.stack((RING_RADIUS * torch.cos(angle), torch.zeros_like(angle), RING_RADIUS * torch.sin(angle)), 1)
    assert bool(((normal * (centroid - tube_centre)).sum(1) > 0).all())


def test_colours_are_valid_and_vary() -> None:
    colours = torus_mesh().textures.verts_features_packed()
    assert colours.min() >= 0 and colours.max() <= 1
    assert colours.std(0).min() > 0.1


@pytest.mark.parametrize(("kwargs", "match"), [({"tube_radius": 1.0}, "tube_radius"), ({"ring_segments": 2}, "segments")])
def test_bad_arguments(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        torus_mesh(**kwargs)


def test_segment_counts() -> None:
    mesh = torus_mesh(ring_segments=8, tube_segments=5)
    assert mesh.verts_packed().shape == (40, 3)
    assert mesh.faces_packed().shape == (80, 3)
    assert math.isclose(float(mesh.verts_packed()[:, 1].max()), TUBE_RADIUS * math.sin(2 * math.pi / 5), rel_tol=1e-6)
