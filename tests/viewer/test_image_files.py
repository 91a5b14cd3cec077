"""write_png: round trip, no overwrite without being asked, nothing left behind on failure."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from viewer.image_files import side_by_side, write_png


def _image(h=5, w=7) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def test_round_trip_and_parent_folders(tmp_path) -> None:
    image = _image()
    out = write_png(image, tmp_path / "a" / "b.png")
    with Image.open(out) as png:
        assert png.format == "PNG" and np.array_equal(np.asarray(png), image)
    assert sorted(p.name for p in out.parent.iterdir()) == ["b.png"]  # no temporary file left


def test_existing_file_is_kept_unless_overwrite(tmp_path) -> None:
    target = tmp_path / "x.png"
    target.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="x.png"):
        write_png(_image(), target)
    assert target.read_bytes() == b"precious"
    write_png(_image(), target, overwrite=True)
    with Image.open(target) as png:
        assert png.size == (7, 5)


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch) -> None:
    target = tmp_path / "x.png"
    target.write_bytes(b"precious")

    def broken_save(self, fp, format=None, **params):
        fp.write(b"half a PNG")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        write_png(_image(), target, overwrite=True)
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32), "image"])
def test_only_rgb_uint8(tmp_path, bad) -> None:
    with pytest.raises(ValueError, match="RGB uint8"):
        write_png(bad, tmp_path / "x.png")


def test_side_by_side() -> None:
    left, right = _image(5, 7), _image(3, 2)
    both = side_by_side(left, right, gap=4)
    assert both.shape == (5, 13, 3)
    assert np.array_equal(both[:, :7], left) and np.array_equal(both[:3, 11:], right)
    assert (both[:, 7:11] == 128).all() and (both[3:, 11:] == 128).all()
