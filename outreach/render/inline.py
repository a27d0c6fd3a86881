"""A disk cache of CSS inlining (premailer) for the variants a send builds.

Building a variant costs ~40–70 ms, about half of it premailer; a campaign has 30–45 variants, so every
`outreach send`, `--test-to` and `--dry-run` paid 1–2 s before its first message — most of a small send. The
inlined page is a pure function of its input: the page (deterministic: placeholder tokens are numbered, not
random), the stylesheets, premailer's options and the library versions. The cache key is a SHA-256 over all of
them — the source of `Renderer.inline` itself included, so a change of options is a new key — and an entry is
only ever the output premailer produced for exactly that key. Nothing personal is in it: variants are built
before any recipient is filled in.

Entries live next to the database, in `.outreach-cache/inlined/` (one small file each, written atomically);
the oldest are removed beyond MAX_ENTRIES. Any error reading or writing the cache falls back to premailer.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

CACHE_FORMAT = "1"
MAX_ENTRIES = 1000


def cache_dir(settings: Any) -> Path:
    """Where inlined pages are kept: `.outreach-cache/inlined/` beside the database file."""
    return Path(settings.db_path).expanduser().resolve().parent / ".outreach-cache" / "inlined"


def _fingerprint(renderer: Any) -> bytes:
    """Everything besides the page that premailer's output depends on."""
    from importlib.metadata import version

    from outreach.campaigns.folder import layout_dirs

    digest = hashlib.sha256(CACHE_FORMAT.encode())
    for name in ("premailer", "cssutils", "lxml", "cssselect"):
        try:
            digest.update(f"{name}={version(name)};".encode())
        except Exception:
            digest.update(f"{name}=?;".encode())
    try:
        digest.update(inspect.getsource(type(renderer).inline).encode())
    except (OSError, TypeError):
        digest.update(repr(type(renderer)).encode())
    for folder in layout_dirs(renderer.settings):  # every stylesheet that could be the one used
        css = Path(folder) / "styles.css"
        digest.update(str(css).encode() + b"\0" + (css.read_bytes() if css.is_file() else b"-") + b"\0")
    return digest.digest()


def cache_inlining(renderer: Any, settings: Any) -> None:
    """Make `renderer.inline` consult the disk cache first (for this renderer object only)."""
    inline: Callable[[str], str] = renderer.inline
    folder = cache_dir(settings)
    fingerprint: list[bytes] = []

    def cached_inline(html: str) -> str:
        if not fingerprint:
            fingerprint.append(_fingerprint(renderer))
        key = hashlib.sha256(fingerprint[0] + html.encode("utf-8")).hexdigest()
        path = folder / f"{key}.html"
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            pass
        result = inline(html)
        _store(folder, path, result)
        return result

    renderer.inline = cached_inline


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
