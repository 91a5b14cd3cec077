"""What a file dialog's "Save" answer means: the name with its suffix, confirmed if made up."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget


def save_target(parent: QWidget, path: str, suffix: str) -> Path | None:
    """The file to write for a save dialog's answer `path`: with `suffix` (".png") added when
    missing. The dialog itself asked before replacing the name it returned, so only a file that
    the added suffix leads to is confirmed here; None when the user declines to replace it."""
    target = Path(path)
    if target.suffix.lower() != suffix:
        target = target.with_name(target.name + suffix)
        if target.exists():
            answer = QMessageBox.question(parent, "Replace file?", f"{target} already exists. Replace it?")
            if answer != QMessageBox.StandardButton.Yes:
                return None
    return target
