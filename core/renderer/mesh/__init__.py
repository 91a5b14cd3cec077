"""Mesh rasterization, shading and rendering."""
