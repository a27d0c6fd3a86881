"""The disk cache of CSS inlining: a second send reuses premailer's output, byte for byte, and anything that
could change that output (the stylesheet, the page) is a different entry."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from conftest import REPO

from outreach.campaigns.folder import load_campaign
from outreach.contacts.model import Contact
from outreach.render.inline import DiskCachedInliner, cache_dir, cached_inliner
from outreach.render.renderer import Links, Renderer

PEOPLE = [Contact(id=1, email="anna@gmina.example.org", name="Anna Kowalska", kind="authority", country="PL"),
          Contact(id=2, email="maria@koinsep.example.org", name="Μαρία Παπαδοπούλου", kind="supplier", country="GR")]
LINKS = Links("https://news.example.org/u/x", "https://news.example.org/p/x", "https://news.example.org/a")


def rendered_pages(settings, campaign) -> list[str]:  # type: ignore[no-untyped-def]
    renderer = Renderer(settings, campaign, cached_inliner(settings))  # as `outreach send` renders
    return [renderer.variant(c.language or ("pl" if c.country == "PL" else "el"), c.kind).render(c, LINKS).html
            for c in PEOPLE]


def test_a_second_run_reuses_the_inlined_pages_exactly(settings) -> None:
    campaign = load_campaign(settings, "bsi-awareness")
    first = rendered_pages(settings, campaign)
    entries = sorted(cache_dir(settings).glob("*.html"))
    assert entries  # premailer's output was stored
    stamps = {entry: entry.stat().st_mtime_ns for entry in entries}
    second = rendered_pages(settings, campaign)
    assert second == first
    assert {entry: entry.stat().st_mtime_ns for entry in sorted(cache_dir(settings).glob("*.html"))} == stamps
    # and it is what premailer makes without the cache
    plain = Renderer(settings, campaign)
    assert [plain.variant("pl", "authority").render(PEOPLE[0], LINKS).html] == first[:1]


def test_a_changed_stylesheet_is_a_new_entry(settings, tmp_path: Path) -> None:
    layouts = tmp_path / "layouts"
    shutil.copytree(REPO / "templates" / "emails", layouts)
    settings = replace(settings, templates_dir=layouts)
    campaign = load_campaign(settings, "bsi-awareness")
    before = rendered_pages(settings, campaign)
    count = len(list(cache_dir(settings).glob("*.html")))
    css = layouts / "styles.css"
    css.write_text(css.read_text(encoding="utf-8") + "\np { color: #123456; }\n", encoding="utf-8")
    after = rendered_pages(settings, campaign)
    assert "#123456" in after[0] and "#123456" not in before[0]
    assert len(list(cache_dir(settings).glob("*.html"))) > count


def test_an_unwritable_cache_folder_only_costs_time(settings) -> None:
    folder = cache_dir(settings)
    folder.parent.mkdir(parents=True)
    folder.write_text("not a folder")  # mkdir and every write fail
    calls: list[str] = []

    class Inliner:
        def inline(self, html: str) -> str:
            calls.append(html)
            return html.upper()

        def cache_key(self) -> bytes:
            return b"upper"

    inliner = DiskCachedInliner(Inliner(), folder)
    assert inliner.inline("<p>a</p>") == "<P>A</P>" and inliner.inline("<p>a</p>") == "<P>A</P>"
    assert len(calls) == 2


def test_the_cache_keys_on_the_inliner_and_the_page(settings, tmp_path: Path) -> None:
    calls: list[str] = []

    class Inliner:
        def __init__(self, key: bytes) -> None:
            self.key = key

        def inline(self, html: str) -> str:
            calls.append(html)
            return html.upper() + self.key.decode()

        def cache_key(self) -> bytes:
            return self.key

    folder = tmp_path / "inlined"
    one, other = DiskCachedInliner(Inliner(b"1"), folder), DiskCachedInliner(Inliner(b"2"), folder)
    assert one.inline("<p>a</p>") == "<P>A</P>1" and one.inline("<p>a</p>") == "<P>A</P>1"
    assert other.inline("<p>a</p>") == "<P>A</P>2" and one.inline("<p>b</p>") == "<P>B</P>1"
    assert calls == ["<p>a</p>", "<p>a</p>", "<p>b</p>"]
    assert len(list(folder.glob("*.html"))) == 3
