"""Icons from qtawesome (Material Design Icons), tinted for the dark theme."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

from app import theme

log = logging.getLogger(__name__)

APP_ICON = Path(__file__).resolve().parent.parent / "resources" / "icons" / "ultrais.svg"


@cache
def icon(name: str, color: str = theme.TEXT) -> QIcon:
    """`name` without prefix, e.g. "folder-open"; an empty icon if the font cannot load."""
    try:
        import qtawesome

        return qtawesome.icon(
            f"mdi6.{name}",
            color=color,
            color_active=theme.ACCENT,
            color_disabled="#5a5a60",
        )
    except Exception:  # a missing icon font must not stop the app from starting
        log.warning("icon %s unavailable", name, exc_info=True)
        return QIcon()


def app_icon() -> QIcon:
    return QIcon(str(APP_ICON)) if APP_ICON.exists() else QIcon()
