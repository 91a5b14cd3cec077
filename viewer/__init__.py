"""RasterLab's desktop application (PySide6). All Qt code lives here; ``core`` never imports it."""
