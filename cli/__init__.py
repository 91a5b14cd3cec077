"""RasterLab's headless command line: ``python main.py render ...`` and ``python main.py fit ...``.

Never imports Qt (an import-linter contract in pyproject.toml holds it to that).
"""
