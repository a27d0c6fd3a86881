"""PO files for translators (written and read with translate-toolkit's `pypo`).

One entry per segment: `msgctxt` is the segment id, `msgid` the source with its locked codes as numbered
placeholders — `<1/>` for a Jinja tag or URL, `<2>…</2>` around a link's label — that the translator must keep,
each exactly once. A translated entry has a msgstr and no `fuzzy` flag; an entry whose source changed since the
current translation is exported fuzzy. The header names the campaign, the languages and the source revision.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

from outreach.campaigns.segments import Code, Part
from outreach.campaigns.translator.units import CHANGED, Exchange, Unit
from outreach.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

PLACEHOLDER = re.compile(r"<(/?)(\d{1,4})(/?)>")


def placeholders(parts: list[Part]) -> str:
    """Parts as PO text: codes as `<n/>`, `<n>`, `</n>`."""
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        else:
            out.append({"ph": f"<{part.id}/>", "open": f"<{part.id}>", "close": f"</{part.id}>"}[part.role])
    return "".join(out)


def write_po(exchange: Exchange) -> bytes:
    """The exchange as a PO file."""
    from translate.storage.pypo import pofile

    store: Any = pofile()  # the toolkit's header and parse functions are untyped
    store.updateheader(add=True, Project_Id_Version=exchange.slug, Language=exchange.language,
                       X_Outreach_Campaign=exchange.slug, X_Outreach_Source_Language=exchange.source_language,
                       X_Outreach_Revision=exchange.revision)
    for unit in exchange.units:
        entry = store.addsourceunit(placeholders(unit.source))
        entry.setcontext(unit.id)
        entry.addnote(unit.note, origin="developer")
        if unit.target is not None:
            entry.target = placeholders(unit.target)
        if unit.state == CHANGED:
            entry.markfuzzy(True)
    return bytes(store)


def read_po(data: bytes, path: Path) -> tuple[Exchange, dict[str, bool]]:
    """The exchange a PO file holds, and per entry whether it is translated (a msgstr, not fuzzy). Placeholders
    come back as codes without their text (the campaign's source supplies it)."""
    from translate.storage.pypo import pofile

    try:
        store = cast(Any, pofile).parsestring(data)
        header = store.parseheader()
    except Exception as error:  # the toolkit raises ValueError, UnicodeDecodeError, its own parse errors
        raise InputError(f"{path}: not a readable PO file ({str(error).splitlines()[0][:120]})",
                         "Import the .po written by outreach campaign export, saved as UTF-8.") from None
    exchange = Exchange(str(header.get("X-Outreach-Campaign", "")), str(header.get("X-Outreach-Source-Language", "")),
                        str(header.get("Language", "")), str(header.get("X-Outreach-Revision", "")))
    done: dict[str, bool] = {}
    for entry in store.units:
        if entry.isheader() or entry.isobsolete():
            continue
        unit_id = str(entry.getcontext())
        text = str(entry.target or "")
        parts = _parts(text) if text else None
        done[unit_id] = bool(text) and not entry.isfuzzy()
        exchange.units.append(Unit(unit_id, "", [], parts, "", ""))
    return exchange, done


def _parts(text: str) -> list[Part]:
    parts: list[Part] = []
    pos = 0
    for match in PLACEHOLDER.finditer(text):
        if match.start() > pos:
            parts.append(text[pos:match.start()])
        closing, number, alone = match.groups()
        role = "close" if closing else "ph" if alone else "open"
        parts.append(Code(number, role, ""))
        pos = match.end()
    if pos < len(text):
        parts.append(text[pos:])
    return parts
