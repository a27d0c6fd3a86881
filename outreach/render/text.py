"""The plain-text part of a message, written from the same Markdown tokens as the HTML part.

Readers of the text part see prose, not Markdown syntax: headings underlined, list markers kept, links as
"text (url)", images as their alt text. Jinja tokens left in the text by `render.Slots.protect` pass through
untouched; block tags keep a line of their own and no blank line, so a branch that is left out leaves no gap.
"""

from __future__ import annotations

import html
import re
from typing import Any

_BLOCK_TOKEN_PREFIX = "<!--Xq"
_TAG = re.compile(r"<[^>]*>")
_TOKEN_MARK = "Xqxqzjvq"  # the start of every placeholder token (render_slots.NONCE)


def _inline(children: list[Any]) -> str:
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


def markdown_to_text(tokens: list[Any], slots: Any = None) -> str:
    """Plain text from a markdown-it token stream.

    With `slots` (render.Slots), a heading that holds a placeholder gets its underline computed when the message
    is filled in, so that it matches the length of the real value."""
    blocks: list[str] = []
    lists: list[list[int]] = []  # per open list: [next number or -1 for bullets]
    quote = 0
    pending_marker = ""
    row: list[str] = []
    tight = False

    def emit(text: str, end: str = "\n\n") -> None:
        nonlocal pending_marker
        indent = "   " * max(len(lists) - 1, 0)
        prefix = "> " * quote
        lines = text.split("\n")
        first = prefix + indent + pending_marker + lines[0]
        rest = [prefix + indent + " " * len(pending_marker) + line for line in lines[1:]]
        pending_marker = ""
        blocks.append("\n".join([first, *rest]) + end)

    for index, tok in enumerate(tokens):
        kind = tok.type
        if kind == "heading_open":
            level = int(tok.tag[1])
            text = _inline(tokens[index + 1].children)
            underline = {1: "=", 2: "-"}.get(level)
            if underline and slots is not None and _TOKEN_MARK in text:
                underline_source = "{{ '" + underline + "' * (outreach_heading | length) }}"
                emit(slots.add("block", "{% set outreach_heading %}") + text + slots.add(
                    "block", "{% endset %}{{ outreach_heading }}\n" + underline_source))
            else:
                emit(text + ("\n" + underline * len(text) if underline else ""))
        elif kind == "paragraph_open":
            tight = tok.hidden
        elif kind == "inline" and tokens[index - 1].type == "paragraph_open":
            emit(_inline(tok.children), "\n" if tight else "\n\n")
        elif kind in ("bullet_list_open", "ordered_list_open"):
            start = int(tok.attrs.get("start", 1)) if kind == "ordered_list_open" else -1
            lists.append([start])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            if not lists and blocks and not blocks[-1].endswith("\n\n"):
                blocks[-1] += "\n"
        elif kind == "list_item_open" and lists:
            number = lists[-1][0]
            pending_marker = "- " if number < 0 else f"{number}. "
            if number >= 0:
                lists[-1][0] = number + 1
        elif kind == "blockquote_open":
            quote += 1
        elif kind == "blockquote_close":
            quote -= 1
        elif kind in ("fence", "code_block"):
            emit("\n".join("    " + line for line in tok.content.rstrip("\n").split("\n")))
        elif kind == "hr":
            emit("-" * 20)
        elif kind == "html_block":
            # Raw HTML keeps its text; a Jinja block tag (<!--token-->) keeps a line of its own, no blank line.
            # An HTML block runs to the next blank line, so block tags can sit inside one.
            text_lines: list[str] = []
            for line in tok.content.split("\n"):
                stripped = line.strip()
                if stripped.startswith(_BLOCK_TOKEN_PREFIX) and stripped.endswith("-->"):
                    if text_lines:
                        emit(" ".join(text_lines))
                        text_lines = []
                    blocks.append(stripped[4:-3] + "\n")
                    continue
                words = html.unescape(_TAG.sub("", line)).strip()
                if words:
                    text_lines.append(words)
            if text_lines:
                emit(" ".join(text_lines))
        elif kind == "tr_open":
            row = []
        elif kind == "inline" and tokens[index - 1].type in ("th_open", "td_open"):
            row.append(_inline(tok.children))
        elif kind == "tr_close":
            blocks.append(" | ".join(row) + "\n")
        elif kind == "table_close":
            blocks.append("\n")
    return "".join(blocks).rstrip("\n") + "\n"
