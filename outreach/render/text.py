"""The plain-text part of a message, written from the same Markdown tokens as the HTML part.

Readers of the text part see prose, not Markdown syntax: headings underlined, list markers kept, links as
"text (url)", images as their alt text. Jinja tokens left in the text by `render.Slots.protect` pass through
untouched; block tags keep a line of their own and no blank line, so a branch that is left out leaves no gap.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it.token import Token

    from outreach.render.slots import Slots

_BLOCK_TOKEN_PREFIX = "<!--Xq"
_TAG = re.compile(r"<[^>]*>")
_TOKEN_MARK = "Xqxqzjvq"  # the start of every placeholder token (render_slots.NONCE)


def _inline(children: list[Token] | None) -> str:
    out: list[str] = []
    hrefs: list[tuple[str, int]] = []
    for tok in children or []:
        kind = tok.type
        if kind in ("text", "code_inline"):
            out.append(tok.content)
        elif kind in ("softbreak", "hardbreak"):
            out.append("\n")
        elif kind == "image":
            out.append(tok.content or "")
        elif kind == "link_open":
            hrefs.append((str(tok.attrs.get("href", "")), len(out)))
        elif kind == "link_close" and hrefs:
            href, start = hrefs.pop()
            label = "".join(out[start:])
            if href and href != label and not (href.startswith("mailto:") and href[7:] == label):
                out.append(f" ({href})")
        elif kind == "html_inline" and tok.content.lower().startswith("<br"):
            out.append("\n")
    return "".join(out)


def markdown_to_text(tokens: list[Token], slots: Slots | None = None) -> str:
    """Plain text from a markdown-it token stream.

    With `slots` (render.Slots), a heading that holds a placeholder gets its underline computed when the message
    is filled in, so that it matches the length of the real value."""
    return _TextWriter(tokens, slots).write()


class _TextWriter:
    """Walks the token stream once, appending text blocks; the state is where in the document it is."""

    def __init__(self, tokens: list[Token], slots: Slots | None) -> None:
        self.tokens, self.slots = tokens, slots
        self.blocks: list[str] = []
        self.lists: list[list[int]] = []  # per open list: [next number or -1 for bullets]
        self.quote = 0
        self.pending_marker = ""
        self.row: list[str] = []
        self.tight = False

    def write(self) -> str:
        for index, tok in enumerate(self.tokens):
            self.token(index, tok)
        return "".join(self.blocks).rstrip("\n") + "\n"

    def emit(self, text: str, end: str = "\n\n") -> None:
        indent = "   " * max(len(self.lists) - 1, 0)
        prefix = "> " * self.quote
        lines = text.split("\n")
        first = prefix + indent + self.pending_marker + lines[0]
        rest = [prefix + indent + " " * len(self.pending_marker) + line for line in lines[1:]]
        self.pending_marker = ""
        self.blocks.append("\n".join([first, *rest]) + end)

    def token(self, index: int, tok: Token) -> None:
        kind, previous = tok.type, self.tokens[index - 1].type if index else ""
        if kind == "heading_open":
            self.heading(int(tok.tag[1]), _inline(self.tokens[index + 1].children))
        elif kind == "paragraph_open":
            self.tight = tok.hidden
        elif kind == "inline" and previous == "paragraph_open":
            self.emit(_inline(tok.children), "\n" if self.tight else "\n\n")
        elif kind in ("bullet_list_open", "ordered_list_open"):
            self.lists.append([int(tok.attrs.get("start", 1)) if kind == "ordered_list_open" else -1])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self.lists.pop()
            if not self.lists and self.blocks and not self.blocks[-1].endswith("\n\n"):
                self.blocks[-1] += "\n"
        elif kind == "list_item_open" and self.lists:
            number = self.lists[-1][0]
            self.pending_marker = "- " if number < 0 else f"{number}. "
            if number >= 0:
                self.lists[-1][0] = number + 1
        elif kind in ("blockquote_open", "blockquote_close"):
            self.quote += 1 if kind == "blockquote_open" else -1
        elif kind in ("fence", "code_block"):
            self.emit("\n".join("    " + line for line in tok.content.rstrip("\n").split("\n")))
        elif kind == "hr":
            self.emit("-" * 20)
        elif kind == "html_block":
            self.html_block(tok.content)
        elif kind == "tr_open":
            self.row = []
        elif kind == "inline" and previous in ("th_open", "td_open"):
            self.row.append(_inline(tok.children))
        elif kind == "tr_close":
            self.blocks.append(" | ".join(self.row) + "\n")
        elif kind == "table_close":
            self.blocks.append("\n")

    def heading(self, level: int, text: str) -> None:
        underline = {1: "=", 2: "-"}.get(level)
        if underline and self.slots is not None and _TOKEN_MARK in text:
            underline_source = "{{ '" + underline + "' * (outreach_heading | length) }}"
            self.emit(self.slots.add("block", "{% set outreach_heading %}") + text + self.slots.add(
                "block", "{% endset %}{{ outreach_heading }}\n" + underline_source))
        else:
            self.emit(text + ("\n" + underline * len(text) if underline else ""))

    def html_block(self, content: str) -> None:
        """Raw HTML keeps its text; a Jinja block tag (<!--token-->) keeps a line of its own, no blank line.
        An HTML block runs to the next blank line, so block tags can sit inside one."""
        text_lines: list[str] = []
        for line in content.split("\n"):
            stripped = line.strip()
            if stripped.startswith(_BLOCK_TOKEN_PREFIX) and stripped.endswith("-->"):
                if text_lines:
                    self.emit(" ".join(text_lines))
                    text_lines = []
                self.blocks.append(stripped[4:-3] + "\n")
                continue
            words = html.unescape(_TAG.sub("", line)).strip()
            if words:
                text_lines.append(words)
        if text_lines:
            self.emit(" ".join(text_lines))
