"""The EU emblem, drawn by code to its official construction, and the funding block's settings.

The construction (EU visual identity): a blue rectangle of 3:2 proportions (reflex blue, #003399); twelve gold
(#FFDD00) five-pointed stars, upright, spaced like the hours on a clock face on an invisible circle whose radius is
one third of the height, centred; each star's points lie on a circle whose radius is one eighteenth of the height.

`python -m outreach.emblem` writes the SVG (web pages) and the PNG (embedded in mails, as a related MIME part so it
shows without loading remote images) into `outreach/web/static/`. The shipped files are what it writes; a test
regenerates both and compares the bytes. The PNG is written with zlib and struct: one small picture does not need
an imaging library (each pixel is the share of 4×4 sample points inside a star, blended between blue and gold).
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from outreach.config import Settings
from outreach.mail.message import RelatedPart
from outreach.resources import PACKAGE_DIR

BLUE = (0x00, 0x33, 0x99)
GOLD = (0xFF, 0xDD, 0x00)
STATIC_DIR = PACKAGE_DIR / "web" / "static"
SVG_NAME, PNG_NAME = "eu-emblem.svg", "eu-emblem.png"
PNG_HEIGHT = 120  # pixels; mails show it 40 px high, so it stays sharp on high-density screens
DISPLAY_HEIGHT = 40
CONTENT_ID = "eu-emblem@outreach"  # the related part's Content-ID; the HTML refers to it as cid:…
# The standard disclaimer after the funding statement (msgid of the layouts' and pages' catalogs)
DISCLAIMER = ("Views and opinions expressed are however those of the author(s) only and do not necessarily reflect "
              "those of the European Union or %(authority)s. Neither the European Union nor the granting authority "
              "can be held responsible for them.")
_SAMPLES = 4  # per pixel side


def star_points(cx: float, cy: float, outer: float) -> list[tuple[float, float]]:
    """The ten corners of an upright five-pointed star (first point straight up), outer and inner alternating."""
    inner = outer * math.cos(math.radians(72)) / math.cos(math.radians(36))
    points = []
    for index in range(10):
        radius = outer if index % 2 == 0 else inner
        angle = math.radians(-90 + 36 * index)
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def stars(height: float) -> list[list[tuple[float, float]]]:
    """The twelve stars of a flag `height` high (and 1.5 × as wide), at the hours of a clock face."""
    cx, cy = height * 0.75, height / 2
    ring, outer = height / 3, height / 18
    centres = [(cx + ring * math.sin(math.radians(30 * hour)), cy - ring * math.cos(math.radians(30 * hour)))
               for hour in range(12)]
    return [star_points(x, y, outer) for x, y in centres]


def emblem_svg() -> str:
    """The emblem as SVG (540 units high), with a title for assistive technology."""
    height = 540
    paths = []
    for star in stars(height):
        corners = " ".join(f"{x:.3f},{y:.3f}" for x, y in star)
        paths.append(f'<polygon points="{corners}"/>')
    return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 810 540" width="810" height="540">\n'
            '<title>Emblem of the European Union</title>\n'
            f'<rect width="810" height="540" fill="#{bytes(BLUE).hex().upper()}"/>\n'
            f'<g fill="#{bytes(GOLD).hex().upper()}">\n' + "\n".join(paths) + "\n</g>\n</svg>\n")


def _inside(x: float, y: float, polygon: list[tuple[float, float]]) -> bool:
    """Even-odd ray casting: whether (x, y) is inside the polygon."""
    inside = False
    j = len(polygon) - 1
    for i, (xi, yi) in enumerate(polygon):
        xj, yj = polygon[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def _coverage(height: int) -> Iterator[list[int]]:
    """Per row, per pixel: how many of the 16 sample points lie inside a star."""
    width = height * 3 // 2
    shapes = [(star, min(p[0] for p in star), max(p[0] for p in star), min(p[1] for p in star),
               max(p[1] for p in star)) for star in stars(height)]
    offsets = [(k + 0.5) / _SAMPLES for k in range(_SAMPLES)]
    for row in range(height):
        near = [s for s in shapes if s[3] <= row + 1 and s[4] >= row]
        line = []
        for col in range(width):
            count = 0
            for star, x0, x1, _y0, _y1 in near:
                if x0 <= col + 1 and x1 >= col:
                    count += sum(_inside(col + dx, row + dy, star) for dy in offsets for dx in offsets)
            line.append(min(count, _SAMPLES * _SAMPLES))
        yield line


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def emblem_png(height: int = PNG_HEIGHT) -> bytes:
    """The emblem as an 8-bit RGB PNG `height` pixels high, anti-aliased."""
    full = _SAMPLES * _SAMPLES
    palette = [bytes(round(b + (g - b) * share / full) for b, g in zip(BLUE, GOLD, strict=True))
               for share in range(full + 1)]
    raw = b"".join(b"\x00" + b"".join(palette[share] for share in line) for line in _coverage(height))
    header = struct.pack(">IIBBBBB", height * 3 // 2, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b""))


def write_files(folder: Path = STATIC_DIR) -> list[Path]:
    """Write the SVG and the PNG into `folder` (the shipped files); returns their paths."""
    svg, png = folder / SVG_NAME, folder / PNG_NAME
    svg.write_text(emblem_svg(), encoding="utf-8", newline="\n")
    png.write_bytes(emblem_png())
    return [svg, png]


@cache
def png_bytes() -> bytes:
    """The shipped PNG, as mails embed it."""
    return (STATIC_DIR / PNG_NAME).read_bytes()


def png_data_uri() -> str:
    """The shipped PNG as a data: URI (the web archive's copy of a mail, which has no related parts)."""
    return "data:image/png;base64," + base64.b64encode(png_bytes()).decode("ascii")


@dataclass(frozen=True)
class EuFunding:
    """What the layouts need for the funding block: the statement's kind, the granting authority, the image."""

    funding: str  # "funded" or "co-funded"
    authority: str
    emblem_src: str  # cid:… in a mail, a data: URI on the web
    height: int = DISPLAY_HEIGHT

    @property
    def width(self) -> int:
        return self.height * 3 // 2


def funding_for(settings: Settings, *, src: str | None = None) -> EuFunding | None:
    """The funding block for a layout when OUTREACH_EU_FUNDING is set; the image is the mail's related part
    unless `src` says otherwise (a page's static file, the archive's data: URI)."""
    if settings.eu_funding is None:
        return None
    return EuFunding(settings.eu_funding, settings.eu_granting_authority or "", src or f"cid:{CONTENT_ID}")


def related_parts(settings: Settings) -> tuple[RelatedPart, ...]:
    """The image parts a mail carries for its layout: the emblem when OUTREACH_EU_FUNDING is set, else none."""
    if settings.eu_funding is None:
        return ()
    return (RelatedPart(CONTENT_ID, "image/png", PNG_NAME, png_bytes()),)


def eu_block_missing(settings: Settings, html: str, text: str, translate: Callable[[str], str]) -> str | None:
    """With OUTREACH_EU_FUNDING set: what a rendered message lacks of the EU funding block, or None.

    `translate` is the reader's gettext for the layouts (the disclaimer is looked for in their language)."""
    if settings.eu_funding is None:
        return None
    disclaimer = translate(DISCLAIMER) % {"authority": settings.eu_granting_authority}
    lacks = [part for part, present in (("the emblem (HTML)", f'src="cid:{CONTENT_ID}"' in html),
                                        ("the disclaimer (text)", disclaimer in text)) if not present]
    if not lacks:
        return None
    return (f"OUTREACH_EU_FUNDING is set but the layout lacks {' and '.join(lacks)}: put "
            '{% include "_eu_funding.html.j2" %} and {% include "_eu_funding.txt.j2" %} in its footers')


if __name__ == "__main__":  # pragma: no cover - the maintainer's regeneration step
    for written in write_files():
        print(written)
