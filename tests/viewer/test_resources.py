"""Files the application ships in resources/."""

from __future__ import annotations

from viewer.app import ICON_FILE


def test_the_window_icon_loads(qapp) -> None:
    from PySide6.QtGui import QIcon

    icon = QIcon(str(ICON_FILE))
    assert not icon.isNull()
    image = icon.pixmap(64, 64).toImage()
    assert image.width() == 64 and image.pixelColor(32, 4).alpha() > 0
