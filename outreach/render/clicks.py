"""Tracked links (`track_clicks = true` in campaign.toml): which links of a built message count clicks, and
putting the `/l/<token>` link in their place in the HTML and the text part.

A tracked link's token names the campaign, the link, the language, the country and the kind — never the reader —
so it is the same for every recipient of a variant and is signed once per variant and country
(`Variant.render`). Tracked are the web links (http, https) of `<a href>` elements, including those written with
the event's fields (`{{ event.registration_url }}`), which are the same for every reader of a variant. Left as they
are: links to the subscriber site itself (unsubscribe, preferences, web version, sign-up), `mailto:` and other
schemes, and links whose address holds a per-recipient value (a contact field in a URL would make it personal).
"""

from __future__ import annotations

import html as htmlmod
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from outreach.render.slots import NONCE, Slots, serialize_attribute

# An href as built (it may hold placeholder tokens) → the URL it stands for, or None when that differs per reader.
Resolve = Callable[[str], "str | None"]

_ANCHOR_HREF = re.compile(r"""(<a\b[^>]*?\s)href\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_TOKEN = re.compile(r"Xq" + NONCE + r"q(\d+)qX")
_EVENT_FIELD = re.compile(r"\s*event\s*(?:\.\s*(\w+)|\[\s*['\"](\w+)['\"]\s*\])\s*")
_WEB = ("http://", "https://")
# What may continue an address in plain text: a known link followed by one of these is part of a longer one.
_CONTINUES = r"(?![\w/?#&=%~+@:;-])(?!\.\w)"


def static_only(href: str) -> str | None:
    """The resolver for a page with real values in place (no placeholders): the href itself."""
    return None if NONCE in href else href


def event_resolver(slots: Slots, event: Mapping[str, Any]) -> Resolve:
    """A resolver for a page being built: placeholders of the event's fields are put in (they are the same for every
    reader of the variant), and the address is written as lxml writes an href; any other placeholder → None."""

    class Personal(Exception):
        pass

    def value(match: re.Match[str]) -> str:
        kind, source, _, _ = slots.items[int(match.group(1))]
        field = _EVENT_FIELD.fullmatch(source) if kind == "expr" else None
        name = (field.group(1) or field.group(2)) if field else None
        if name is None or event.get(name) in (None, ""):
            raise Personal
        return str(event[name])

    def resolve(href: str) -> str | None:
        try:
            raw = _TOKEN.sub(value, href)
        except Personal:
            return None
        return htmlmod.unescape(serialize_attribute("a", "href", raw)[6:-1])

    return resolve


def _href(match: re.Match[str]) -> str:
    raw = match.group(2) if match.group(2) is not None else match.group(3)
    return htmlmod.unescape(raw).strip()


def tracked_links(page: str, public_url: str, resolve: Resolve = static_only) -> list[str]:
    """The distinct web links of a built HTML page that count clicks, in the order they first appear."""
    own = public_url.rstrip("/") + "/"
    found: list[str] = []
    for match in _ANCHOR_HREF.finditer(page):
        url = resolve(_href(match))
        if url and url.lower().startswith(_WEB) and not (url + "/").startswith(own) and url not in found:
            found.append(url)
    return found


def replace_links(page: str, urls: list[str], stand_in: Callable[[int], str], html: bool,
                  resolve: Resolve = static_only) -> str:
    """`page` with every occurrence of `urls` (as `<a href>` in HTML; written out, or as a placeholder of the
    event's fields, in text) replaced by `stand_in(index)`: a placeholder while a variant is built, the tracked
    link itself in the reference render."""
    if not urls:
        return page
    index = {url: number for number, url in enumerate(urls)}
    if html:
        def anchor(match: re.Match[str]) -> str:
            number = index.get(resolve(_href(match)) or "")
            return match.group(0) if number is None else f'{match.group(1)}href="{stand_in(number)}"'

        return _ANCHOR_HREF.sub(anchor, page)

    def placeholder(match: re.Match[str]) -> str:
        number = index.get(resolve(match.group(0)) or "")
        return match.group(0) if number is None else stand_in(number)

    page = _TOKEN.sub(placeholder, page)
    written = {url: number for url, number in index.items()} | {unquote(url): number for url, number in index.items()}
    pattern = re.compile("|".join(re.escape(url) for url in sorted(written, key=len, reverse=True)) + _CONTINUES)
    return pattern.sub(lambda match: stand_in(written[match.group(0)]), page)
