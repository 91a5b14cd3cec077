"""Mesh construction and camera conversion helpers (PyTorch3D-compatible) and process settings
for applications."""
from core.utils.allocator import keep_freed_memory
from core.utils.camera_conversions import cameras_from_opencv_projection, opencv_from_cameras_projection
from core.utils.ico_sphere import ico_sphere

__all__ = ["cameras_from_opencv_projection", "ico_sphere", "keep_freed_memory", "opencv_from_cameras_projection"]
