"""A language file cut into the segments a translator works on, and the code inside them that must not change.

A segment is one translatable unit: the subject, the preheader, the campaign's name, and each block of the body
(paragraph, heading, list item, quote line, table row). What lies between blocks — blank lines, `{% if %}` lines,
fenced code, link definitions — is the skeleton: it comes from the source file and is never translated.

Inside a segment, Jinja tags, Markdown link targets, HTML tags and URLs are *codes*: the translator moves them but
cannot change them. A link `[label](target)` is a paired code around its label, which stays translatable.

A segment's revision is a hash of its text with link targets and URLs left out, so that fixing a link in the source
does not make the prose of any translation outdated; a changed word or a changed `{{ variable }}` does.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

INLINE = re.compile(r"""
 (?P<jinja>\{\{.*?\}\}|\{%.*?%\}|\{\#.*?\#\})
|(?P<end>\]\((?:[^()\s{}]|\{\{.*?\}\}|\{%.*?%\})*(?:[ \t]+"[^"]*")?\))
|(?P<start>!?\[)
|(?P<auto><(?:https?|mailto):[^>\s]*>)
|(?P<html></?[A-Za-z][^<>]*>)
|(?P<url>(?:https?://|mailto:)[^\s<>()\[\]{}]*[^\s<>()\[\]{}.,;:!?'"’”])
""", re.X | re.S)

_TAG_LINE = re.compile(r"^[ \t]*(?:\{%.*?%\}|\{#.*?#\}|<!--.*?-->)(?:[ \t]*(?:\{%.*?%\}|\{#.*?#\}))*[ \t]*$")
_HEADING = re.compile(r"^([ \t]{0,3}#{1,6}[ \t]+)(.*?)((?:[ \t]+#+)?[ \t]*)$")
_ITEM = re.compile(r"^([ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+)(.*?)([ \t]*)$")
_QUOTE = re.compile(r"^([ \t]*>[ \t]?)(.*?)([ \t]*)$")
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
_TABLE_SEP = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_REF_DEF = re.compile(r"^[ \t]{0,3}\[[^\]]+\]:[ \t]*\S+")
_RULE = re.compile(r"^[ \t]*([-*_])(?:[ \t]*\1){2,}[ \t]*$")


@dataclass(frozen=True)
class Code:
    """A locked piece of a segment: `ph` stands alone, `open`/`close` pair around translatable text (a link)."""

    id: str
    role: str  # "ph" | "open" | "close"
    text: str  # the Markdown, Jinja, HTML or URL it stands for
    url: bool = False  # a link target or URL: left out of the prose revision


Part = str | Code


def tokenize(text: str) -> list[Part]:
    """A segment's text as plain text and codes, numbered 1, 2 … in the order they appear."""
    parts: list[Part] = []
    pending: list[int] = []  # indexes of "[" not yet closed by "](…)"
    pos = 0
    for match in INLINE.finditer(text):
        if match.start() > pos:
            parts.append(text[pos:match.start()])
        kind, value = match.lastgroup, match.group()
        if kind == "start":
            pending.append(len(parts))
            parts.append(value)
        elif kind == "end" and pending:
            index = pending.pop()
            parts[index] = Code("", "open", str(parts[index]))
            parts.append(Code("", "close", value, url=True))
        else:
            parts.append(Code("", "ph", value, url=kind in ("auto", "url", "end")))
        pos = match.end()
    if pos < len(text):
        parts.append(text[pos:])
    return _numbered(parts)


def _numbered(parts: list[Part]) -> list[Part]:
    """Merge neighbouring text, then number the codes in order (a pair shares the number of its opening)."""
    merged: list[Part] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    result: list[Part] = []
    opened: list[str] = []
    number = 0
    for part in merged:
        if isinstance(part, Code):
            if part.role == "close":
                code_id = opened.pop()
            else:
                number += 1
                code_id = str(number)
                if part.role == "open":
                    opened.append(code_id)
            part = Code(code_id, part.role, part.text, part.url)
        result.append(part)
    return result


def join(parts: Sequence[Part]) -> str:
    """The Markdown a list of parts stands for."""
    return "".join(part if isinstance(part, str) else part.text for part in parts)


def prose_revision(text: str) -> str:
    """A segment's revision: its text and Jinja, but not its link targets and URLs (8 hex characters)."""
    canon = "".join(p if isinstance(p, str) else ("\x00url\x00" if p.url else p.text) for p in tokenize(text))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()[:8]


def has_words(text: str) -> bool:
    """Whether anything outside the codes is there to translate (a letter)."""
    return any(isinstance(p, str) and re.search(r"[^\W\d_]", p) for p in tokenize(text))


@dataclass(frozen=True)
class Block:
    """A translatable block of a body: the markup before it, its text, what follows it on its last line."""

    kind: str  # "paragraph", "heading 2", "list item", "quote", "table row"
    prefix: str
    text: str
    suffix: str  # trailing markup and the line end
    line: int  # 1-based line in the body
    context: str  # the {% if %} branches it sits in, outermost first


Layout = list[str | Block]


def parse_body(body: str) -> Layout:
    """The body as skeleton lines and blocks; `"".join` of the rebuilt pieces gives the body back unchanged."""
    lines = body.splitlines(keepends=True)
    layout: Layout = []
    conditions: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        content = _split_end(line)[0]
        if _FENCE.match(content):
            closing = next((j for j in range(index + 1, len(lines)) if _FENCE.match(lines[j])), len(lines) - 1)
            layout.extend(lines[index:closing + 1])
            index = closing + 1
            continue
        if (not content.strip() or _TAG_LINE.match(content) or (_TABLE_SEP.match(content) and "-" in content)
                or _REF_DEF.match(content) or _RULE.match(content) or not has_words(content)):
            _track(content, conditions)
            layout.append(line)
            index += 1
            continue
        block, index = _block(lines, index, " / ".join(conditions))
        layout.append(block)
    return layout


def _split_end(line: str) -> tuple[str, str]:
    stripped = line.rstrip("\r\n")
    return stripped, line[len(stripped):]


def _track(content: str, conditions: list[str]) -> None:
    """Follow the {% if %} / {% elif %} / {% else %} / {% endif %} a skeleton line holds."""
    for match in re.finditer(r"\{%-?\s*(if|elif|else|for|endif|endfor)\b(.*?)-?%\}", content):
        keyword, rest = match.group(1), match.group(2).strip()
        if keyword in ("if", "for"):
            conditions.append(f"{keyword} {rest}")
        elif keyword in ("elif", "else") and conditions:
            conditions[-1] = f"{keyword} {rest}".strip()
        elif keyword in ("endif", "endfor") and conditions:
            conditions.pop()


def _block(lines: list[str], index: int, context: str) -> tuple[Block, int]:
    """The block starting at `lines[index]` and the index after it."""
    content, end = _split_end(lines[index])
    for kind, pattern in (("heading", _HEADING), ("list item", _ITEM), ("quote", _QUOTE)):
        match = pattern.match(content)
        if match:
            if kind == "heading":
                kind = f"heading {match.group(1).count('#')}"
            return Block(kind, match.group(1), match.group(2), match.group(3) + end, index + 1, context), index + 1
    if content.lstrip().startswith("|"):
        return Block("table row", "", content, end, index + 1, context), index + 1
    text = [content]
    last_end = end
    following = index + 1
    while following < len(lines):
        nxt, nxt_end = _split_end(lines[following])
        if (not nxt.strip() or _TAG_LINE.match(nxt) or _HEADING.match(nxt) or _ITEM.match(nxt) or _QUOTE.match(nxt)
                or _FENCE.match(nxt) or _RULE.match(nxt) or nxt.lstrip().startswith("|")):
            break
        text.append(last_end + nxt)
        last_end = nxt_end
        following += 1
    return Block("paragraph", "", "".join(text), last_end, index + 1, context), following


def rebuild(layout: Layout, texts: Sequence[str]) -> str:
    """The body with the blocks' texts replaced by `texts` (in order), the skeleton and markup unchanged."""
    pieces = []
    blocks = iter(texts)
    for item in layout:
        if isinstance(item, Block):
            pieces.append(item.prefix + next(blocks) + item.suffix)
        else:
            pieces.append(item)
    return "".join(pieces)


def blocks_of(layout: Layout) -> list[Block]:
    """The translatable blocks of a parsed body, in order."""
    return [item for item in layout if isinstance(item, Block)]
