"""XLIFF 2.1 (OASIS core, with the Metadata module) for translator files.

Written with lxml: translate-toolkit's XLIFF 2 writer has no inline codes and puts `<notes>` inside `<segment>`,
which the 2.x schema does not allow. Read with translate-toolkit's `Xliff2File` (its parser refuses entities and
network access); the inline `<ph>`/`<pc>` of each segment are then walked with lxml.

Locked codes: `<ph>` for Jinja, URLs and HTML; `<pc>` around a link's label. Both carry canCopy="no" and
canDelete="no", their Markdown or Jinja is in the unit's `<originalData>`, and `disp` shows it to the translator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from outreach.campaigns.segments import Code, Part
from outreach.campaigns.translator.units import CHANGED, NEW, TRANSLATED, Exchange, Unit
from outreach.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

NS = "urn:oasis:names:tc:xliff:document:2.0"
MDA = "urn:oasis:names:tc:xliff:metadata:2.0"
DONE_STATES = ("translated", "reviewed", "final")


def _q(tag: str, ns: str = NS) -> str:
    return f"{{{ns}}}{tag}"


def write_xliff(exchange: Exchange) -> bytes:
    """The exchange as an XLIFF 2.1 document."""
    from lxml import etree

    root = etree.Element(_q("xliff"), nsmap={None: NS, "mda": MDA},
                         attrib={"version": "2.1", "srcLang": exchange.source_language, "trgLang": exchange.language})
    file = etree.SubElement(root, _q("file"), id=exchange.slug,
                            original=f"{exchange.slug}/{exchange.source_language}.md")
    group = etree.SubElement(etree.SubElement(file, _q("metadata", MDA)), _q("metaGroup", MDA), category="outreach")
    for key, value in (("campaign", exchange.slug), ("language", exchange.language),
                       ("revision", exchange.revision)):
        etree.SubElement(group, _q("meta", MDA), type=key).text = value
    for unit in exchange.units:
        _unit(file, unit)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _unit(file: Any, unit: Unit) -> None:
    from lxml import etree

    element = etree.SubElement(file, _q("unit"), id=unit.id, name=unit.kind)
    notes = etree.SubElement(element, _q("notes"))
    etree.SubElement(notes, _q("note"), category="context").text = unit.note
    codes = [part for part in unit.source if isinstance(part, Code)]
    if codes:
        data = etree.SubElement(element, _q("originalData"))
        for code in codes:
            etree.SubElement(data, _q("data"), id=_data_id(code)).text = code.text
    segment = etree.SubElement(element, _q("segment"))
    segment.set("state", {TRANSLATED: "translated", CHANGED: "initial", NEW: "initial"}[unit.state])
    if unit.state == CHANGED:
        segment.set("subState", "outreach:changed")
    _fill(etree.SubElement(segment, _q("source")), unit.source)
    if unit.target is not None:
        _fill(etree.SubElement(segment, _q("target")), unit.target)


def _data_id(code: Code) -> str:
    return f"d{code.id}" + {"ph": "", "open": "s", "close": "e"}[code.role]


def _fill(element: Any, parts: list[Part]) -> None:
    """Mixed content: text, `<ph/>`, and `<pc>` opened and closed around the text between a pair."""
    from lxml import etree

    element.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    stack = [element]
    for part in parts:
        current = stack[-1]
        if isinstance(part, str):
            if len(current):
                current[-1].tail = (current[-1].tail or "") + part
            else:
                current.text = (current.text or "") + part
        elif part.role == "ph":
            etree.SubElement(current, _q("ph"), id=part.id, dataRef=_data_id(part), canCopy="no", canDelete="no",
                             disp=part.text)
        elif part.role == "open":
            stack.append(etree.SubElement(current, _q("pc"), id=part.id, dataRefStart=_data_id(part),
                                          dataRefEnd=f"d{part.id}e", canCopy="no", canDelete="no",
                                          canOverlap="no", dispStart=part.text))
        else:
            current.set("dispEnd", part.text)
            stack.pop()


def read_xliff(data: bytes, path: Path) -> tuple[Exchange, dict[str, bool]]:
    """The exchange an XLIFF 2.x file holds (targets only; sources are the campaign's), and per unit whether the
    translator marked it done (state translated, reviewed or final)."""
    from lxml import etree
    from translate.storage.xliff2 import Xliff2File

    try:
        store = cast(Any, Xliff2File).parsestring(data)  # the toolkit's parse functions are untyped
    except (etree.XMLSyntaxError, ValueError, AssertionError) as error:
        raise InputError(f"{path}: not an XLIFF 2 file ({str(error).splitlines()[0][:120]})",
                         "Import the .xlf written by outreach campaign export, saved by your translation tool.") \
            from None
    root = store.document.getroot()
    if root.tag != _q("xliff") or not str(root.get("version", "")).startswith("2."):
        raise InputError(f"{path}: not an XLIFF 2 file (version {root.get('version')!r})",
                         "Export again with outreach campaign export … --format xliff.")
    meta = {m.get("type"): (m.text or "").strip() for m in root.iter(_q("meta", MDA))}
    exchange = Exchange(meta.get("campaign", ""), str(root.get("srcLang", "")), str(root.get("trgLang", "")),
                        meta.get("revision", ""))
    done: dict[str, bool] = {}
    for tt_unit in store.units:
        segment = tt_unit.xmlelement
        unit = segment.getparent()
        unit_id = str(unit.get("id"))
        if len(unit.findall(_q("segment"))) != 1:
            raise InputError(f"{path}: segment {unit_id} was split or joined in the translation tool",
                             "Keep one segment per unit; translate it as a whole.")
        if unit_id in done:
            continue
        originals = {d.get("id"): d.text or "" for d in unit.iter(_q("data"))}
        target = segment.find(_q("target"))
        parts = _parts(target, originals, unit_id, path) if target is not None else None
        done[unit_id] = bool(parts) and segment.get("state", "initial") in DONE_STATES
        exchange.units.append(Unit(unit_id, str(unit.get("name", "")), [], parts, "", ""))
    return exchange, done


def _parts(element: Any, originals: dict[str, str], unit_id: str, path: Path) -> list[Part]:
    """A `<target>`'s mixed content as text and codes (their Markdown from `<originalData>`; "" when a tool left
    the reference out, and then only the code's id is checked)."""
    parts: list[Part] = [element.text] if element.text else []
    for child in element:
        name = str(child.tag).rpartition("}")[2]
        code_id = str(child.get("id", ""))
        if name == "ph":
            parts.append(Code(code_id, "ph", originals.get(str(child.get("dataRef")), "")))
        elif name == "pc":
            parts.append(Code(code_id, "open", originals.get(str(child.get("dataRefStart")), "")))
            parts.extend(_parts(child, originals, unit_id, path))
            parts.append(Code(code_id, "close", originals.get(str(child.get("dataRefEnd")), "")))
        elif name == "mrk":
            parts.extend(_parts(child, originals, unit_id, path))
        else:
            raise InputError(f"{path}: segment {unit_id}: unsupported inline element <{name}>",
                             "Keep the locked codes as the export wrote them (<ph/> and <pc>).")
        if child.tail:
            parts.append(child.tail)
    return parts
