"""Placeholders that carry per-recipient values through Markdown, layouts and premailer, and the escaping that
makes the filled-in result byte-identical to a render with the values in place.

`Slots.protect` swaps a body's Jinja for alphanumeric tokens (inert in Markdown, HTML and URLs) before Markdown;
layouts see `Late` values that print as tokens; after premailer, `Slots.restore` turns the tokens back into Jinja.
Values are escaped as lxml's HTML serialiser (inside premailer) writes them: `esc_text` in element text, and
`attribute_out` rebuilding a whole attribute, because a value can change how lxml quotes and URL-escapes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from outreach.errors import TemplateError

NONCE = "xqzjv"  # placeholder tokens are Xq<nonce>q<n>qX: alphanumeric, inert in Markdown, HTML and URLs


# --- escaping exactly as lxml's HTML serialiser writes values (what premailer outputs) ---------------------

def esc_text(value: Any) -> str:
    """A value in element text: lxml writes & < > as entities and everything else as is."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def serialize_attribute(tag: str, name: str, value: str) -> str:
    """`name="value"` exactly as lxml writes it: URL attributes lose leading blanks and get spaces, controls and
    non-ASCII percent-encoded; a value with " but no ' is put in single quotes, otherwise " becomes &quot;."""
    if name in _URL_ATTRS or (name == "name" and tag == "a"):
        value = _URL_UNSAFE.sub(_percent, value.lstrip(" \t\n\r"))
    body = esc_text(value)
    if '"' in body and "'" not in body:
        return f"{name}='{body}'"
    return f'{name}="{body.replace(chr(34), "&quot;")}"'


_URL_UNSAFE = re.compile(r"[^\x21-\x7e]")


def _percent(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode("utf-8"))


@dataclass(frozen=True)
class AttributeSpec:
    """An attribute of the built HTML whose value holds per-recipient values between static pieces."""

    tag: str
    name: str
    statics: tuple[str, ...]  # unescaped; one more than there are values


def attribute_out(spec: AttributeSpec, *values: Any) -> str:
    """The attribute with the recipient's values put in, serialised as lxml would serialise the whole."""
    parts = [spec.statics[0]]
    for value, static in zip(values, spec.statics[1:], strict=True):
        parts += [str(value), static]
    return serialize_attribute(spec.tag, spec.name, "".join(parts))


# --- placeholders ---------------------------------------------------------------------------------------------

_JINJA = re.compile(r"\{\{(-?)(.*?)(-?)\}\}|\{%(-?)(.*?)(-?)%\}|\{#.*?#\}", re.S)
_TOKEN = re.compile(r"(<!--)?Xq" + NONCE + r"q(\d+)qX(-->)?")
_BARE_TOKEN = re.compile(r"Xq" + NONCE + r"q(\d+)qX")
_LEAF_ITEM = re.compile(r"(<li\b[^>]*>)([^<]*)</li>")  # a list item without child elements
_STATIC_JINJA = re.compile(r"\{(?=[{%#]|$)")
_URL_ATTRS = ("href", "src", "action")
_TAG_NAME = re.compile(r"<\s*([^\s/>]+)")
_ATTRIBUTE = re.compile(r"""([^\s=/<>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")


class LateValueError(TemplateError):
    """A layout tested a per-recipient value, which is only known when each message is filled in."""


class Slots:
    """Jinja fragments taken out of a text and the tokens that stand for them until they are put back."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str, str]] = []  # (kind "expr"|"block", source, ws_left, ws_right)

    def add(self, kind: str, source: str, left: str = "", right: str = "") -> str:
        """Keep a Jinja fragment aside; the token that stands for it until `restore` puts it back."""
        self.items.append((kind, source, left, right))
        return f"Xq{NONCE}q{len(self.items) - 1}qX"

    def protect(self, source: str) -> str:
        """Replace Jinja in Markdown: block tags on their own line → `<!--token-->`, the rest → inline tokens."""
        out: list[str] = []
        pos = 0
        for match in _JINJA.finditer(source):
            out.append(source[pos:match.start()])
            pos = match.end()
            text = match.group(0)
            if text.startswith("{#"):
                continue
            if text.startswith("{{"):
                out.append(self.add("expr", match.group(2).strip(), match.group(1), match.group(3)))
                continue
            line_start = source.rfind("\n", 0, match.start()) + 1
            line_end = source.find("\n", match.end())
            line_end = len(source) if line_end < 0 else line_end
            alone = not source[line_start:match.start()].strip() and not source[match.end():line_end].strip()
            token = self.add("block", text)
            out.append(f"<!--{token}-->" if alone else token)
        out.append(source[pos:])
        return "".join(out)

    def restore(self, text: str, mode: str) -> str:
        """Put the Jinja back. mode "plain": as written; "html": every value escaped the way lxml would have
        written it in that place (element text, or the whole attribute it is part of)."""
        self.attributes: list[AttributeSpec] = []
        if mode == "html":
            text = self._omissible_end_tags(text)
        out: list[str] = []
        pos = 0
        matches = list(_TOKEN.finditer(text))
        index = 0
        while index < len(matches):
            match = matches[index]
            kind, source, left, right = self.items[int(match.group(2))]
            wrapped = bool(match.group(1) and match.group(3))
            if mode == "html" and not wrapped:
                span = _attribute_span(text, match.start())
                if span is not None:
                    consumed = self._restore_attribute(text, span, matches[index:], out, pos)
                    if consumed:
                        pos, index = span[1], index + consumed
                        continue
            out.append(_STATIC_JINJA.sub('{{ "{" }}', text[pos:match.start()]))
            pos = match.end()
            index += 1
            if kind == "block":
                out.append(source)
                continue
            if wrapped:  # an expression token that only looked like a block comment
                out.append("<!--")
            escape = "" if mode == "plain" else "|esc_text"
            out.append(f"{{{{{left} ({source}){escape} {right}}}}}")
            if wrapped:
                out.append("-->")
        out.append(_STATIC_JINJA.sub('{{ "{" }}', text[pos:]))
        return "".join(out)

    def _omissible_end_tags(self, html: str) -> str:
        """lxml writes an empty <li> without its end tag. Where a <li>'s content depends on the recipient (values,
        tags), capture it and write </li> only when it is not empty, as lxml would have."""

        def rewrite(match: re.Match[str]) -> str:
            inner = match.group(2)
            numbers = [int(n) for n in _BARE_TOKEN.findall(inner)]
            if not numbers or not balanced_blocks([self.items[n][1] for n in numbers if self.items[n][0] == "block"]):
                return match.group(0)
            start = self.add("block", "{% set outreach_item %}")
            # ends with an expression, not a tag: trim_blocks would eat the newline after a closing {% endif %}
            end = self.add("block", '{% endset %}{{ outreach_item }}{{ "</li>" if outreach_item else "" }}')
            return match.group(1) + start + inner + end

        return _LEAF_ITEM.sub(rewrite, html)

    def _restore_attribute(self, text: str, span: tuple[int, int, str, str, int, int], matches: list[Any],
                           out: list[str], pos: int) -> int:
        """Replace a whole attribute holding value tokens by one call of `attribute_out`; 0 if it cannot."""
        import html as htmlmod

        start, _, tag, name, value_start, value_end = span
        inside = [m for m in matches if value_start <= m.start() and m.end() <= value_end]
        if any(m.group(1) for m in inside):
            return 0
        blocks = [self.items[int(m.group(2))][1] for m in inside if self.items[int(m.group(2))][0] == "block"]
        if blocks:
            if not balanced_blocks(blocks):
                return 0  # a tag that opens here and closes elsewhere: leave it to the plain path
            # Tags decide which pieces the value has: capture it, then serialise the whole as lxml would.
            content, cursor = [], value_start
            for m in inside:
                kind, source, left, right = self.items[int(m.group(2))]
                content.append(_STATIC_JINJA.sub('{{ "{" }}', htmlmod.unescape(text[cursor:m.start()])))
                content.append(source if kind == "block" else f"{{{{{left} ({source}) {right}}}}}")
                cursor = m.end()
            content.append(_STATIC_JINJA.sub('{{ "{" }}', htmlmod.unescape(text[cursor:value_end])))
            out.append(_STATIC_JINJA.sub('{{ "{" }}', text[pos:start]))
            out.append("{% set outreach_attribute %}" + "".join(content) + "{% endset %}"
                       f'{{{{ serialize_attribute("{tag}", "{name}", outreach_attribute) }}}}')
            return len(inside)
        statics, values, cursor, strip_next = [], [], value_start, False
        for m in inside:
            _, source, left, right = self.items[int(m.group(2))]
            static = htmlmod.unescape(text[cursor:m.start()])
            static = static.lstrip() if strip_next else static
            statics.append(static.rstrip() if left == "-" else static)  # {{- … -}} as Jinja would apply it
            values.append(f"({source})")
            cursor, strip_next = m.end(), right == "-"
        last = htmlmod.unescape(text[cursor:value_end])
        statics.append(last.lstrip() if strip_next else last)
        self.attributes.append(AttributeSpec(tag, name, tuple(statics)))
        out.append(_STATIC_JINJA.sub('{{ "{" }}', text[pos:start]))
        out.append(f"{{{{ attribute_out(attribute_specs[{len(self.attributes) - 1}], {', '.join(values)}) }}}}")
        return len(inside)


def _attribute_span(html: str, pos: int) -> tuple[int, int, str, str, int, int] | None:
    """(start, end, tag, name, value start, value end) of the attribute whose value holds `pos`, or None when
    `pos` is in element text. lxml escapes < and > inside attribute values, so the last < opens the tag."""
    lt = html.rfind("<", 0, pos)
    if lt <= html.rfind(">", 0, pos):
        return None
    tag_end = html.find(">", pos)
    tag = _TAG_NAME.match(html, lt)
    for match in _ATTRIBUTE.finditer(html, lt + 1 + (len(tag.group(1)) if tag else 0), tag_end):
        for group in (2, 3, 4):
            if match.group(group) is not None and match.start(group) <= pos < match.end(group):
                return (match.start(), match.end(), tag.group(1).lower() if tag else "", match.group(1).lower(),
                        match.start(group), match.end(group))
    return None


class Late:
    """What a layout sees for a per-recipient value while the variant is built: prints as a token, cannot be
    tested (its value is not known yet)."""

    __slots__ = ("expression", "token")

    def __init__(self, slots: Slots, expression: str) -> None:
        self.expression = expression
        self.token = slots.add("expr", expression)

    def __str__(self) -> str:
        return self.token

    def __html__(self) -> str:
        return self.token

    def _refuse(self, *args: Any) -> Any:
        raise LateValueError(f"A layout tested {self.expression}, which differs per recipient",
                             "Layouts may print contact fields and links but only test contact.kind.")

    __bool__ = __eq__ = __ne__ = __lt__ = __gt__ = __len__ = __iter__ = __contains__ = _refuse
    __hash__ = object.__hash__


def balanced_blocks(blocks: list[str]) -> bool:
    """Whether Jinja block tags open and close within the list (so they can be wrapped in a {% set %} block)."""
    depth = 0
    for source in blocks:
        words = source.strip("{%-+ }").split()
        keyword = words[0] if words else ""
        if keyword.startswith("end"):
            depth -= 1
            if depth < 0:
                return False
        elif keyword in ("if", "for", "with", "filter", "macro", "call", "block", "autoescape", "trans") or (
                keyword == "set" and "=" not in source):
            depth += 1
    return depth == 0
