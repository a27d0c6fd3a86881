"""Where the shipped data lives: in the wheel (`outreach/_bundled/`) or, from a checkout, the repository root."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """Path of a shipped top-level folder (`campaigns`, `templates`, `examples`), wheel or checkout."""
    inside = PACKAGE_DIR / "_bundled" / name
    if inside.exists():
        return inside
    return PACKAGE_DIR.parent / name


def locale_dir() -> Path:
    """Folder of the gettext catalogs (`<lang>/LC_MESSAGES/<domain>.po`), always inside the package."""
    return PACKAGE_DIR / "locale"
