"""core.io loading: hand-written files of every format, texture orientation, scene merging, the cow.

Fixtures are written by the tests themselves (text written here, or trimesh's own exporters), so
loading is checked against values known independently of core.io's writers.
"""
from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh
from PIL import Image

from core.io import MeshLoadError, load_mesh, load_objs_as_meshes
from core.io.merge import merge_parts, pack_atlas
from core.io.mesh_data import MeshData, UVTexture
from core.renderer import TexturesUV, TexturesVertex
from tests.shared_data import require_shared

# A 2x2 image: top row red, green; bottom row blue, white (row 0 of the array is the top).
RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
QUAD_IMAGE = np.array([[RED, GREEN], [BLUE, WHITE]], dtype=np.uint8)


def write_textured_obj(folder: Path, name: str = "quad") -> Path:
    """A unit quad (2 triangles, 4 positions) whose uvs put each image corner at a quad corner."""
    Image.fromarray(QUAD_IMAGE).save(folder / f"{name}.png")
    (folder / f"{name}.mtl").write_text(f"newmtl skin\nKd 1 1 1\nmap_Kd {name}.png\n")
    (folder / f"{name}.obj").write_text(
        f"mtllib {name}.mtl\n"
        "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\n"
        "vt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\n"
        "usemtl skin\n"
        "f 1/1 2/2 3/3\nf 1/1 3/3 4/4\n"
    )
    return folder / f"{name}.obj"


def corner_colors(meshes) -> np.ndarray:
    """Texture colour at each face corner, (F, 3, 3), sampled by core's own textures."""
    return meshes.textures.faces_verts_textures_packed(meshes.faces_packed()).numpy()


# ------------------------------------------------------------------------------- OBJ
def test_obj_texture_orientation_matches_textures_uv_convention(tmp_path):
    # uv (0, 0) is the bottom-left of the picture (blue), (1, 1) its top-right (green).
    meshes = load_mesh(write_textured_obj(tmp_path))
    assert isinstance(meshes.textures, TexturesUV)
    assert meshes.textures.maps_padded().shape == (1, 2, 2, 3)
    expected = np.array([[BLUE, WHITE, GREEN], [BLUE, GREEN, RED]], dtype=np.float32) / 255
    np.testing.assert_allclose(corner_colors(meshes), expected, atol=1e-6)


def test_obj_keeps_position_indexing_with_uvs_per_corner(tmp_path):
    obj = tmp_path / "seam.obj"
    Image.fromarray(QUAD_IMAGE).save(tmp_path / "seam.png")
    (tmp_path / "seam.mtl").write_text("newmtl m\nmap_Kd seam.png\n")
    # Vertex 1 and 3 appear with two different uvs each: trimesh splits them, PyTorch3D does not.
    obj.write_text(
        "mtllib seam.mtl\nusemtl m\n"
        "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\n"
        "vt 0 0\nvt 1 0\nvt 1 1\nvt 0.5 0.5\nvt 0.25 0.75\n"
        "f 1/1 2/2 3/3\nf 1/4 3/5 4/3\n"
    )
    meshes = load_objs_as_meshes([obj])
    assert meshes.verts_packed().shape == (4, 3)
    np.testing.assert_array_equal(meshes.verts_packed().numpy(), [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    np.testing.assert_array_equal(meshes.faces_packed().numpy(), [[0, 1, 2], [0, 2, 3]])
    tex = meshes.textures
    corner_uvs = tex.verts_uvs_padded()[0][tex.faces_uvs_padded()[0]].numpy()
    np.testing.assert_allclose(corner_uvs, [[[0, 0], [1, 0], [1, 1]], [[0.5, 0.5], [0.25, 0.75], [1, 1]]])


def test_obj_vertex_colours_become_textures_vertex(tmp_path):
    obj = tmp_path / "c.obj"
    obj.write_text("v 0 0 0 1 0 0\nv 1 0 0 0 1 0\nv 0 1 0 0.2 0.4 0.6\nf 1 2 3\n")
    meshes = load_mesh(obj)
    assert isinstance(meshes.textures, TexturesVertex)
    np.testing.assert_allclose(meshes.textures.verts_features_packed().numpy(), [[1, 0, 0], [0, 1, 0], [0.2, 0.4, 0.6]], atol=0.5 / 255)


def test_obj_uvs_without_image(tmp_path):
    """A missing MTL or image: the mesh loads without it, with a warning naming it (as PyTorch3D)."""
    triangle = "v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nusemtl a\nf 1/1 2/2 3/3\n"
    (tmp_path / "no_mtl.obj").write_text("mtllib absent.mtl\n" + triangle)
    with pytest.warns(UserWarning, match=r"no_mtl\.obj: cannot find 'absent\.mtl'"):
        assert load_mesh(tmp_path / "no_mtl.obj").textures is None  # as PyTorch3D: no material, no textures
    (tmp_path / "kd.mtl").write_text("newmtl a\nKd 0.2 0.6 1.0\nmap_Kd absent.png\n")
    (tmp_path / "kd.obj").write_text("mtllib kd.mtl\n" + triangle)
    with pytest.warns(UserWarning, match=r"kd\.obj: cannot find 'absent\.png'"):
        colors = load_mesh(tmp_path / "kd.obj").textures.verts_features_packed().numpy()
    np.testing.assert_allclose(colors, np.tile([0.2, 0.6, 1.0], (3, 1)), atol=0.5 / 255)


def test_obj_without_material_has_no_textures_and_quads_are_split(tmp_path):
    obj = tmp_path / "q.obj"
    obj.write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3 4\n")
    meshes = load_mesh(obj)
    assert meshes.textures is None
    assert meshes.faces_packed().shape == (2, 3)
    assert sorted(meshes.faces_packed().flatten().tolist()) == [0, 0, 1, 2, 2, 3]


def test_multi_material_obj_keeps_each_image(tmp_path):
    # Two triangles, each with its own one-colour image; PyTorch3D would map both to the first image.
    for name, color in (("r", RED), ("g", GREEN)):
        Image.fromarray(np.full((3, 5, 3), color, np.uint8)).save(tmp_path / f"{name}.png")
    (tmp_path / "two.mtl").write_text("newmtl red\nmap_Kd r.png\nnewmtl green\nmap_Kd g.png\n")
    (tmp_path / "two.obj").write_text(
        "mtllib two.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nvt 1 1\n"
        "usemtl red\nf 1/1 2/2 3/3\nusemtl green\nf 2/2 4/4 3/3\n"
    )
    meshes = load_objs_as_meshes([tmp_path / "two.obj"])
    assert meshes.verts_packed().shape == (4, 3)  # shared edge vertices welded again
    colors = corner_colors(meshes)
    verts = meshes.verts_packed()[meshes.faces_packed()].numpy()
    for face_verts, face_colors in zip(verts, colors):
        # The face containing the origin is the red one.
        expected = RED if (np.abs(face_verts).sum(1) == 0).any() else GREEN
        np.testing.assert_allclose(face_colors, np.tile(np.array(expected) / 255, (3, 1)), atol=1e-6)


PLAIN_TRIANGLE = "v 0 0 0\nv 1 0 0\nv 0 1 0.5\nf 1 2 3\n"


@pytest.mark.parametrize(
    "contents",
    [
        pytest.param("\ufeff" + PLAIN_TRIANGLE, id="utf-8 byte-order mark"),
        pytest.param(PLAIN_TRIANGLE.replace(" ", "\t"), id="tabs"),
        pytest.param("".join("  " + line + "\n" for line in PLAIN_TRIANGLE.splitlines()), id="indented"),
        pytest.param("v 0 0 0  # tip\nv 1 0 0\nv 0 1 0.5 #\nf 1 2 3  # the face\n", id="end-of-line comments"),
        pytest.param(PLAIN_TRIANGLE.replace("\n", "\r"), id="old Mac line ends"),
        pytest.param(PLAIN_TRIANGLE.replace("\n", "\r\n"), id="CRLF"),
    ],
)
def test_obj_text_layouts_load_like_the_plain_file(tmp_path, contents):
    (tmp_path / "t.obj").write_bytes(contents.encode("utf-8"))
    meshes = load_mesh(tmp_path / "t.obj")
    np.testing.assert_array_equal(meshes.verts_packed().numpy(), [[0, 0, 0], [1, 0, 0], [0, 1, 0.5]])
    np.testing.assert_array_equal(meshes.faces_packed().numpy(), [[0, 1, 2]])


def test_obj_comment_naming_mtllib_is_not_the_material_library(tmp_path):
    """trimesh takes the first "mtllib" anywhere in the text, comments included."""
    obj = write_textured_obj(tmp_path)
    obj.write_text("# exported without mtllib options\n# mtllib old.mtl\n" + obj.read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert isinstance(load_mesh(obj).textures, TexturesUV)


def test_obj_relative_indices_count_back_from_their_own_line(tmp_path):
    """`f -3 -2 -1` after each object's vertices names that object's last three (OBJ spec),
    not the file's last three; the same for vt."""
    Image.fromarray(QUAD_IMAGE).save(tmp_path / "rel.png")
    (tmp_path / "rel.mtl").write_text("newmtl m\nmap_Kd rel.png\n")
    (tmp_path / "rel.obj").write_text(
        "mtllib rel.mtl\nusemtl m\n"
        "o first\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nf -3/-3 -2/-2 -1/-1\n"
        "o second\nv 5 0 0\nv 6 0 0\nv 5 1 0\nvt 1 1\nf -3/-1 -2/-1 -1/-1\nf 4/4 6/4 -2/-1\n"
    )
    meshes = load_mesh(tmp_path / "rel.obj")
    verts = meshes.verts_packed().numpy()
    np.testing.assert_array_equal(verts, [[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 0, 0], [6, 0, 0], [5, 1, 0]])
    np.testing.assert_array_equal(meshes.faces_packed().numpy(), [[0, 1, 2], [3, 4, 5], [3, 5, 4]])
    tex = meshes.textures
    corner_uvs = tex.verts_uvs_padded()[0][tex.faces_uvs_padded()[0]].numpy()
    np.testing.assert_array_equal(corner_uvs, [[[0, 0], [1, 0], [0, 1]], [[1, 1]] * 3, [[1, 1]] * 3])


def _textured_triangle_obj(folder: Path, map_kd: str, image_path: str, mtllib: str = "t.mtl") -> Path:
    """A triangle whose MTL (at `mtllib`, relative to the OBJ) says `map_Kd <map_kd>`; the
    image QUAD_IMAGE is written at `image_path` (relative to the OBJ)."""
    for relative in (image_path, mtllib):
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(QUAD_IMAGE).save(folder / image_path)
    (folder / mtllib).write_text(f"newmtl m\nKd 1 1 1\nmap_Kd {map_kd}\n")
    obj = folder / "t.obj"
    obj.write_text(f"mtllib {mtllib}\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nusemtl m\nf 1/1 2/2 3/3\n")
    return obj


@pytest.mark.parametrize(
    "map_kd, image_path, mtllib",
    [
        pytest.param("textures\\skin.png", "textures/skin.png", "t.mtl", id="backslashes (Windows)"),
        pytest.param("-s 1 1 1 -o 0 0 0 -blendu on skin.png", "skin.png", "t.mtl", id="map options"),
        pytest.param("skin.png  # albedo", "skin.png", "t.mtl", id="comment after the name"),
        pytest.param("my #1 skin.png", "my #1 skin.png", "t.mtl", id="'#' in the name"),
        pytest.param("Skin.PNG", "skin.png", "t.mtl", id="other letter case"),
        pytest.param("skin.png", "materials/skin.png", "materials/t.mtl", id="beside an MTL in a subfolder"),
    ],
)
def test_obj_texture_found_as_the_mtl_means_it(tmp_path, map_kd, image_path, mtllib):
    obj = _textured_triangle_obj(tmp_path, map_kd, image_path, mtllib)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # found: no "cannot find" warning
        meshes = load_mesh(obj)
    assert isinstance(meshes.textures, TexturesUV)
    np.testing.assert_array_equal(meshes.textures.maps_padded()[0].numpy(), QUAD_IMAGE / 255.0)


def test_obj_texture_in_a_parent_folder(tmp_path):
    (tmp_path / "models").mkdir()
    Image.fromarray(QUAD_IMAGE).save(tmp_path / "skin.png")
    (tmp_path / "models" / "t.mtl").write_text("newmtl m\nmap_Kd ../skin.png\n")
    (tmp_path / "models" / "t.obj").write_text(
        "mtllib t.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nusemtl m\nf 1/1 2/2 3/3\n"
    )
    maps = load_mesh(tmp_path / "models" / "t.obj").textures.maps_padded()[0].numpy()
    np.testing.assert_array_equal(maps, QUAD_IMAGE / 255.0)


def test_undecodable_texture_image_is_named_in_a_warning(tmp_path):
    obj = write_textured_obj(tmp_path)
    (tmp_path / "quad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.warns(UserWarning, match=r"quad\.obj: cannot decode the image 'quad\.png'"):
        meshes = load_mesh(obj)
    np.testing.assert_array_equal(meshes.textures.verts_features_packed().numpy(), np.ones((4, 3)))  # the MTL's Kd


def test_mtl_with_byte_order_mark(tmp_path):
    obj = write_textured_obj(tmp_path)
    mtl = tmp_path / "quad.mtl"
    mtl.write_bytes(b"\xef\xbb\xbf" + mtl.read_bytes())
    assert isinstance(load_mesh(obj).textures, TexturesUV)


def test_sixteen_bit_grey_texture_keeps_its_values(tmp_path):
    """PIL's RGB conversion of a 16-bit grey PNG (mode I;16) clips everything above 255 to white."""
    obj = write_textured_obj(tmp_path)
    grey = np.array([[0, 16384], [40000, 65535]], dtype=np.uint16)
    Image.fromarray(grey).save(tmp_path / "quad.png")
    maps = load_mesh(obj).textures.maps_padded()[0].numpy()
    np.testing.assert_allclose(maps, np.repeat(grey[..., None] / 65535.0, 3, axis=2), atol=1e-6)


# ------------------------------------------------------------------------------- PLY, STL, OFF
def test_ply_ascii_vertex_and_face_colours(tmp_path):
    header = "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
    vertex_colors = "property uchar red\nproperty uchar green\nproperty uchar blue\n"
    faces = "element face 1\nproperty list uchar int vertex_indices\n"
    (tmp_path / "v.ply").write_text(
        header + vertex_colors + faces + "end_header\n0 0 0 255 0 0\n1 0 0 0 255 0\n0 2 0 0 0 51\n3 0 1 2\n"
    )
    meshes = load_mesh(tmp_path / "v.ply")
    np.testing.assert_array_equal(meshes.verts_packed().numpy(), [[0, 0, 0], [1, 0, 0], [0, 2, 0]])
    np.testing.assert_allclose(meshes.textures.verts_features_packed().numpy(), [[1, 0, 0], [0, 1, 0], [0, 0, 0.2]], atol=1e-6)
    # Face colours are spread onto the vertices (one face: every vertex gets its colour).
    face_colors = faces + "property uchar red\nproperty uchar green\nproperty uchar blue\n"
    (tmp_path / "f.ply").write_text(header + face_colors + "end_header\n0 0 0\n1 0 0\n0 2 0\n3 0 1 2 0 0 255\n")
    colors = load_mesh(tmp_path / "f.ply").textures.verts_features_packed().numpy()
    np.testing.assert_allclose(colors, np.tile([0, 0, 1], (3, 1)), atol=1e-6)


def test_stl_triangle_soup_is_welded(tmp_path):
    box = trimesh.creation.box()
    (tmp_path / "box.stl").write_bytes(box.export(file_type="stl"))
    meshes = load_mesh(tmp_path / "box.stl")
    assert meshes.verts_packed().shape == (8, 3) and meshes.faces_packed().shape == (12, 3)
    assert meshes.textures is None
    # Same triangles as the box, up to vertex order.
    ours = np.sort(meshes.verts_packed()[meshes.faces_packed()].numpy().reshape(12, 9), axis=0)
    ref = np.sort(box.vertices[box.faces].reshape(12, 9), axis=0)
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_off_hand_written(tmp_path):
    (tmp_path / "t.off").write_text("OFF\n# a tetrahedron\n4 4 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 2 1\n3 0 1 3\n3 0 3 2\n3 1 2 3\n")
    meshes = load_mesh(tmp_path / "t.off", device="cpu")
    np.testing.assert_array_equal(meshes.faces_packed().numpy(), [[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    assert meshes.verts_packed().dtype == torch.float32 and meshes.textures is None


# ------------------------------------------------------------------------------- glTF scenes
def _colored_triangle() -> trimesh.Trimesh:
    verts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=float)
    colors = np.array([[255, 0, 0, 255]] * 3, dtype=np.uint8)
    return trimesh.Trimesh(verts, [[0, 1, 2]], vertex_colors=colors, process=False)


def _textured_quad(image: np.ndarray) -> trimesh.Trimesh:
    verts = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=float)
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    material = trimesh.visual.material.PBRMaterial(baseColorTexture=Image.fromarray(image))
    visual = trimesh.visual.TextureVisuals(uv=uv, material=material)
    return trimesh.Trimesh(verts, [[0, 1, 2], [0, 2, 3]], visual=visual, process=False)


def test_glb_scene_is_merged_with_transforms_applied(tmp_path):
    scene = trimesh.Scene()
    shift = trimesh.transformations.translation_matrix([10.0, 0.0, 0.0])
    turn = trimesh.transformations.rotation_matrix(np.pi / 2, [0, 0, 1])  # (x, y) -> (-y, x)
    scene.add_geometry(_colored_triangle(), node_name="tri", transform=shift)
    scene.add_geometry(_textured_quad(QUAD_IMAGE), node_name="quad", transform=turn)
    (tmp_path / "scene.glb").write_bytes(scene.export(file_type="glb"))

    meshes = load_mesh(tmp_path / "scene.glb")
    assert meshes.verts_packed().shape == (3 + 4, 3) and meshes.faces_packed().shape == (1 + 2, 3)
    expected = {(10, 0, 0), (11, 0, 0), (10, 1, 0), (0, 0, 0), (0, 1, 0), (-1, 1, 0), (-1, 0, 0)}
    got = {tuple(np.round(v, 5) + 0.0) for v in meshes.verts_packed().tolist()}
    assert got == expected
    # Mixed appearance (vertex colours + texture) falls back to vertex colours for every part.
    assert isinstance(meshes.textures, TexturesVertex)
    colors = {tuple(np.round(v, 5)): tuple(c) for v, c in zip(meshes.verts_packed().tolist(), meshes.textures.verts_features_packed().tolist())}
    for corner in ((10, 0, 0), (11, 0, 0), (10, 1, 0)):
        np.testing.assert_allclose(colors[corner], [1, 0, 0])
    # The quad's corner (0, 0) had uv (0, 0): the bottom-left texel, blue; (1, 0) -> (0, 1) had uv (1, 0): white.
    np.testing.assert_allclose(colors[(0, 0, 0)], np.array(BLUE) / 255, atol=1e-6)
    np.testing.assert_allclose(colors[(0, 1, 0)], np.array(WHITE) / 255, atol=1e-6)


def test_glb_scene_of_textured_parts_gets_one_atlas(tmp_path):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (4, 6, 3), dtype=np.uint8), rng.integers(0, 256, (7, 3, 3), dtype=np.uint8)]
    scene = trimesh.Scene()
    for i, image in enumerate(images):
        scene.add_geometry(_textured_quad(image), node_name=f"q{i}", transform=trimesh.transformations.translation_matrix([2.0 * i, 0, 0]))
    (tmp_path / "two.glb").write_bytes(scene.export(file_type="glb"))
    meshes = load_mesh(tmp_path / "two.glb")
    assert isinstance(meshes.textures, TexturesUV)
    assert meshes.textures.maps_padded().shape == (1, 7, 9, 3)
    colors = corner_colors(meshes)  # each quad's corners sit on its image's corner texels
    for face, face_colors in zip(meshes.verts_packed()[meshes.faces_packed()].numpy(), colors):
        image = images[int(face[0, 0] >= 2)] / 255.0
        for (x, y, _), color in zip(face, face_colors):
            row = 0 if round(y) == 1 else image.shape[0] - 1
            col = 0 if round(x) % 2 == 0 else image.shape[1] - 1
            np.testing.assert_allclose(color, image[row, col], atol=1e-5)


def test_glb_base_color_factor_tints_the_texture(tmp_path):
    # trimesh writes a plain image texture with its default grey material: baseColorFactor 0.4.
    verts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=float)
    visual = trimesh.visual.TextureVisuals(uv=[[0, 0], [1, 0], [0, 1]], image=Image.fromarray(QUAD_IMAGE))
    glb = trimesh.Trimesh(verts, [[0, 1, 2]], visual=visual, process=False).export(file_type="glb")
    json_length = int.from_bytes(glb[12:16], "little")
    factor = json.loads(glb[20:20 + json_length])["materials"][0]["pbrMetallicRoughness"]["baseColorFactor"]
    assert factor[:3] == pytest.approx([0.4] * 3, abs=1e-3)
    (tmp_path / "tinted.glb").write_bytes(glb)
    maps = load_mesh(tmp_path / "tinted.glb").textures.maps_padded()[0].numpy()
    np.testing.assert_allclose(maps, QUAD_IMAGE / 255.0 * np.array(factor[:3]), atol=1 / 255)


def test_pack_atlas_samples_exactly_like_the_separate_textures():
    rng = np.random.default_rng(1)
    textures = [
        UVTexture(rng.random((h, w, 3), dtype=np.float32), rng.uniform(-0.2, 1.2, (t, 2)), rng.integers(0, t, (f, 3)))
        for h, w, t, f in ((5, 8, 10, 6), (9, 4, 7, 5), (1, 3, 4, 2))
    ]

    def sample(tex: UVTexture) -> torch.Tensor:
        uv = TexturesUV([torch.tensor(tex.image)], [torch.tensor(tex.faces_uvs)], [torch.tensor(tex.verts_uvs, dtype=torch.float32)])
        return uv.faces_verts_textures_packed()

    separate = torch.cat([sample(t) for t in textures])
    torch.testing.assert_close(sample(pack_atlas(textures)), separate, atol=2e-5, rtol=0)


def test_merge_parts_without_any_colour_has_none():
    tri = MeshData(np.eye(3), np.array([[0, 1, 2]]))
    merged = merge_parts([tri, tri])
    assert merged.verts_colors is None and merged.uv_texture is None
    np.testing.assert_array_equal(merged.faces, [[0, 1, 2], [3, 4, 5]])


def test_glb_vertex_colours_beside_a_material_are_kept(tmp_path):
    """glTF COLOR_0 with a material (as Blender and trimesh write it) colours the surface,
    times the baseColorFactor; it used to be replaced by the factor alone."""
    verts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=float)
    material = trimesh.visual.material.PBRMaterial(baseColorFactor=[128, 255, 255, 255])
    visual = trimesh.visual.TextureVisuals(material=material)
    visual.vertex_attributes["color"] = np.array([[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]], np.uint8)
    glb = trimesh.Trimesh(verts, [[0, 1, 2]], visual=visual, process=False).export(file_type="glb")
    json_length = int.from_bytes(glb[12:16], "little")
    document = json.loads(glb[20:20 + json_length])
    primitive = document["meshes"][0]["primitives"][0]
    assert "COLOR_0" in primitive["attributes"] and "material" in primitive
    (tmp_path / "c.glb").write_bytes(glb)
    colors = load_mesh(tmp_path / "c.glb").textures.verts_features_packed().numpy()
    np.testing.assert_allclose(colors, [[128 / 255, 0, 0], [0, 1, 0], [0, 0, 1]], atol=1e-6)


def test_gltf_with_material_colour_only(tmp_path):
    # A glTF written by hand: one triangle, a material with a baseColorFactor, no texture.
    verts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=np.float32).tobytes()
    indices = np.array([0, 1, 2], dtype=np.uint32).tobytes()
    (tmp_path / "tri.bin").write_bytes(verts + indices)
    gltf = {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "translation": [0, 0, 5]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorFactor": [0.2, 0.4, 1.0, 1.0]}}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1, "material": 0}]}],
        "buffers": [{"uri": "tri.bin", "byteLength": 48}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 36}, {"buffer": 0, "byteOffset": 36, "byteLength": 12}],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3", "min": [0, 0, 0], "max": [1, 1, 0]},
            {"bufferView": 1, "componentType": 5125, "count": 3, "type": "SCALAR"},
        ],
    }
    (tmp_path / "tri.gltf").write_text(json.dumps(gltf))
    meshes = load_mesh(tmp_path / "tri.gltf")
    np.testing.assert_allclose(meshes.verts_packed().numpy(), [[0, 0, 5], [1, 0, 5], [0, 1, 5]])
    np.testing.assert_allclose(meshes.textures.verts_features_packed().numpy(), np.tile([0.2, 0.4, 1.0], (3, 1)), atol=1 / 255)


# ------------------------------------------------------------------------------- load_objs_as_meshes
def test_load_objs_as_meshes_batch_and_options(tmp_path):
    a = write_textured_obj(tmp_path, "a")
    b = tmp_path / "b.obj"
    b.write_text("mtllib a.mtl\nv 0 0 0\nv 2 0 0\nv 0 2 0\nvt 0 0\nvt 1 0\nvt 0 1\nusemtl skin\nf 1/1 2/2 3/3\n")
    batch = load_objs_as_meshes([a, str(b)])
    assert len(batch) == 2 and isinstance(batch.textures, TexturesUV)
    assert batch.num_verts_per_mesh().tolist() == [4, 3] and batch.num_faces_per_mesh().tolist() == [2, 1]
    assert load_objs_as_meshes([a], load_textures=False).textures is None
    atlas = load_objs_as_meshes([a, str(b)], create_texture_atlas=True, texture_atlas_size=3).textures
    assert type(atlas).__name__ == "TexturesAtlas" and [t.shape for t in atlas.atlas_list()] == [(2, 3, 3, 3), (1, 3, 3, 3)]
    with pytest.raises(ValueError, match="texture_atlas_size"):
        load_objs_as_meshes([a], create_texture_atlas=True, texture_atlas_size=0)
    with pytest.raises(ValueError, match="texture_wrap"):
        load_objs_as_meshes([a], texture_wrap="mirror")
    with pytest.raises(TypeError, match="list of paths"):
        load_objs_as_meshes(str(a))
    (tmp_path / "c.ply").write_bytes(trimesh.creation.box().export(file_type="ply"))
    with pytest.raises(MeshLoadError, match=r"c\.ply.*supported: \.obj"):
        load_objs_as_meshes([tmp_path / "c.ply"])


# ------------------------------------------------------------------------------- the cow
@pytest.fixture(scope="module")
def cow_path() -> Path:
    return require_shared("data/cow_mesh/cow.obj")


@pytest.fixture(scope="module")
def cow(cow_path):
    return load_objs_as_meshes([cow_path])


def _obj_records(path: Path) -> dict:
    """Test-only reading of an OBJ's v / vt / f records, as independent truth."""
    text = path.read_text()
    verts = np.array([line.split()[1:4] for line in re.findall(r"^v .*$", text, re.MULTILINE)], dtype=np.float32)
    uvs = np.array([line.split()[1:3] for line in re.findall(r"^vt .*$", text, re.MULTILINE)], dtype=np.float32)
    corners = [line.split()[1:] for line in re.findall(r"^f .*$", text, re.MULTILINE)]
    faces = np.array([[int(c.split("/")[0]) - 1 for c in f] for f in corners])
    faces_uvs = np.array([[int(c.split("/")[1]) - 1 for c in f] for f in corners])
    return {"verts": verts, "uvs": uvs, "faces": faces, "faces_uvs": faces_uvs}


def test_cow_has_pytorch3d_vertex_indexing(cow, cow_path):
    records = _obj_records(cow_path)
    assert cow.verts_packed().shape == (2930, 3) == records["verts"].shape
    assert cow.faces_packed().shape == (5856, 3) == records["faces"].shape
    np.testing.assert_array_equal(cow.verts_packed().numpy(), records["verts"])
    np.testing.assert_array_equal(cow.faces_packed().numpy(), records["faces"])
    tex = cow.textures
    assert isinstance(tex, TexturesUV) and tex.maps_padded().shape == (1, 1024, 1024, 3)
    corner_uvs = tex.verts_uvs_padded()[0][tex.faces_uvs_padded()[0]].numpy()
    np.testing.assert_array_equal(corner_uvs, records["uvs"][records["faces_uvs"]])
    image = np.asarray(Image.open(cow_path.with_name("cow_texture.png")).convert("RGB"), dtype=np.float32) / 255
    np.testing.assert_array_equal(tex.maps_padded()[0].numpy(), image)


def test_cow_renders_like_pytorch3d(cow):
    from tests.core.reference_scenes import build_scene
    from tests.shared_data import reference_scene

    ref = reference_scene("s17_cow_uv_hardphong_128")
    arrays = dict(ref.arrays)
    arrays.update(
        faces=cow.faces_packed().numpy(),
        verts_uvs=cow.textures.verts_uvs_padded()[0].numpy(),
        faces_uvs=cow.textures.faces_uvs_padded()[0].numpy(),
        tex_map_u8=np.round(cow.textures.maps_padded()[0].numpy() * 255).astype(np.uint8),
    )
    renderer, meshes = build_scene(arrays, ref.meta, cow.verts_packed())
    images, _ = renderer(meshes)
    np.testing.assert_allclose(images.numpy(), ref.arrays["images"], atol=1e-4)


def test_load_mesh_on_obj_equals_load_objs_as_meshes(cow, cow_path):
    meshes = load_mesh(cow_path)
    assert torch.equal(meshes.verts_packed(), cow.verts_packed()) and torch.equal(meshes.faces_packed(), cow.faces_packed())
    assert torch.equal(meshes.textures.faces_uvs_padded(), cow.textures.faces_uvs_padded())


def test_mtl_end_of_line_comments_are_ignored(tmp_path):
    """`Kd 0.8 0.1 0.1  # red` is red, as in PyTorch3D (trimesh alone reads its default grey),
    and a texture line with a comment still finds its image."""
    (tmp_path / "red.mtl").write_text("newmtl red  # a comment\nKd 0.8 0.1 0.1  # red\n")
    (tmp_path / "red.obj").write_text("mtllib red.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nusemtl red\nf 1 2 3\n")
    colours = load_mesh(tmp_path / "red.obj").textures.verts_features_packed()
    np.testing.assert_allclose(colours.numpy(), np.tile([0.8, 0.1, 0.1], (3, 1)), atol=1 / 255)
    obj = write_textured_obj(tmp_path, "quad")
    mtl = tmp_path / "quad.mtl"
    mtl.write_text(mtl.read_text().replace("map_Kd quad.png", "map_Kd quad.png\t# the picture"))
    assert isinstance(load_mesh(obj).textures, TexturesUV)
