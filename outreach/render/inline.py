"""CSS inlining: the `Inliner` seam the renderer is given, premailer behind it, and a disk cache around it.

Email clients ignore most <style> rules, so each variant's page has the layouts' stylesheet written into style
attributes once, before any recipient is filled in. `Renderer` takes any `Inliner`; by default a
`PremailerInliner` over the layouts' `styles.css`.

Building a variant costs ~40–70 ms, about half of it premailer; a campaign has 30–45 variants, so every
`outreach send`, `--test-to` and `--dry-run` paid 1–2 s before its first message — most of a small send.
`DiskCachedInliner` wraps an inliner whose output is a pure function of the page and of its own `cache_key()`
(for premailer: the library versions, its options and the stylesheet). The page is deterministic (placeholder
tokens are numbered, not random), so the cache key is a SHA-256 over both, and an entry is only ever the output
the wrapped inliner produced for exactly that key. Nothing personal is in it: variants are built before any
recipient is filled in.

Entries live next to the database, in `.outreach-cache/inlined/` (one small file each, written atomically); the
oldest are removed beyond MAX_ENTRIES. Any error reading or writing the cache falls back to the wrapped inliner.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from outreach.campaigns.folder import layout_dirs
from outreach.config import Settings

CACHE_FORMAT = "1"
MAX_ENTRIES = 1000
# premailer's options: part of the cache key, so changing one here is a new set of entries.
_BASIC_ATTRIBUTES_KEPT_AS_CSS = ("width", "height")
_OPTIONS = ("disable_validation=True;allow_network=False;keep_style_tags=False;strip_important=False;"
            f"disable_basic_attributes={','.join(_BASIC_ATTRIBUTES_KEPT_AS_CSS)}")


class Inliner(Protocol):
    """Writes a page's stylesheet into its elements' style attributes."""

    def inline(self, html: str) -> str:
        """The page with its stylesheet inlined."""
        ...


class CacheableInliner(Inliner, Protocol):
    """An inliner whose output depends only on the page and on what `cache_key()` stands for."""

    def cache_key(self) -> bytes:
        """Everything besides the page that the output depends on (versions, options, stylesheet)."""
        ...


@dataclass(frozen=True)
class PremailerInliner:
    """premailer with one stylesheet; rules it cannot inline (media queries) stay in a <style> element."""

    css: str

    @classmethod
    def for_settings(cls, settings: Settings) -> PremailerInliner:
        """Inline the layouts' `styles.css` (the first layout folder that has one; none: no stylesheet)."""
        folder = next((d for d in layout_dirs(settings) if (d / "styles.css").is_file()), None)
        return cls((folder / "styles.css").read_text(encoding="utf-8") if folder else "")

    def inline(self, html: str) -> str:
        """The page with the stylesheet inlined (lxml serialisation, not pretty-printed)."""
        import logging

        from premailer import Premailer

        return str(Premailer(html, css_text=self.css, disable_validation=True, allow_network=False,
                             cssutils_logging_level=logging.CRITICAL, keep_style_tags=False,
                             disable_basic_attributes=list(_BASIC_ATTRIBUTES_KEPT_AS_CSS),
                             strip_important=False).transform(pretty_print=False))

    def cache_key(self) -> bytes:
        """The versions of premailer and the libraries under it, its options and the stylesheet."""
        digest = hashlib.sha256(_library_versions())
        digest.update(_OPTIONS.encode() + b"\0" + self.css.encode("utf-8"))
        return digest.digest()


@cache
def _library_versions() -> bytes:
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"format={CACHE_FORMAT};"]
    for name in ("premailer", "cssutils", "lxml", "cssselect"):
        try:
            parts.append(f"{name}={version(name)};")
        except PackageNotFoundError:
            parts.append(f"{name}=?;")
    return "".join(parts).encode()


def cache_dir(settings: Settings) -> Path:
    """Where inlined pages are kept: `.outreach-cache/inlined/` beside the database file."""
    return Path(settings.db_path).expanduser().resolve().parent / ".outreach-cache" / "inlined"


class DiskCachedInliner:
    """An inliner that asks a folder of earlier results first, and stores what the wrapped inliner makes."""

    def __init__(self, inner: CacheableInliner, folder: Path) -> None:
        self.inner = inner
        self.folder = folder
        self._key: bytes | None = None  # the inner inliner's key, asked for on first use

    def inline(self, html: str) -> str:
        """The stored result for this page, or the wrapped inliner's (then stored)."""
        if self._key is None:
            self._key = self.inner.cache_key()
        path = self.folder / f"{hashlib.sha256(self._key + html.encode('utf-8')).hexdigest()}.html"
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            pass
        result = self.inner.inline(html)
        _store(self.folder, path, result)
        return result


def cached_inliner(settings: Settings) -> DiskCachedInliner:
    """premailer over the layouts' stylesheet, cached beside the database (what `outreach send` uses)."""
    return DiskCachedInliner(PremailerInliner.for_settings(settings), cache_dir(settings))


def _store(folder: Path, path: Path, text: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)  # readers see the whole entry or none
        entries = list(folder.glob("*.html"))
        if len(entries) > MAX_ENTRIES:
            entries.sort(key=lambda entry: entry.stat().st_mtime)
            for old in entries[: len(entries) - MAX_ENTRIES]:
                old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only folder: the cache is an optimisation only
