"""The KPI pack and the outreach report in real headless Chromium: printed to an A4 PDF with every column header
in the PDF's text (pypdf), no sideways scrolling at 1100 px, no request leaving the file, axe-core clean.

Debian's /usr/bin/chromium driven by playwright (never a downloaded browser); axe-core from node_modules.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from report_support import spring_history

from outreach.tracking.kpi import build_kpi
from outreach.tracking.kpi_html import render_kpi_html
from outreach.tracking.report_html import render_html
from outreach.tracking.reports import build_reach, build_report

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
A4_POINTS = (595, 842)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture
def page() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium.new_context(viewport={"width": 1100, "height": 900}, bypass_csp=True).new_page()
        finally:
            chromium.close()


def _flat(text: str) -> str:
    """Text without spaces, line breaks, hyphens or ligatures (the PDF writes "ﬁ"), so that a heading wrapped over
    two lines still matches."""
    return re.sub(r"[\s\u00ad-]+", "", unicodedata.normalize("NFKC", text))


def open_file(page: Any, html: str, path: Path) -> list[str]:
    """Open the document from a file; returns the list every request it makes is added to."""
    path.write_text(html, encoding="utf-8")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    return requests


def assert_fits_and_prints(page: Any) -> str:
    """No sideways scrolling at 1100 px; the A4 PDF holds every column header of every table; its text."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 1100
    heads = page.locator("th[scope=col]").all_inner_texts()
    assert len(heads) > 10
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(page.pdf(format="A4")))
    for pdf_page in reader.pages:  # A4 is 595 × 842 points (Chromium writes 595.92 × 842.88)
        assert (float(pdf_page.mediabox.width), float(pdf_page.mediabox.height)) == pytest.approx(A4_POINTS, abs=2)
    text = "\n".join(p.extract_text() for p in reader.pages)
    missing = [head for head in heads if _flat(head) not in _flat(text)]
    assert not missing, f"column headers cut off the A4 page: {missing}"
    return text


def axe_problems(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]]


def test_kpi_pack_prints_on_a4_and_reads_at_1100_px(db, clock, page, tmp_path: Path) -> None:
    spring_history(db, clock)
    pack = build_kpi(db, clock, date(2027, 1, 1), date(2027, 6, 30))
    requests = open_file(page, render_kpi_html(pack), tmp_path / "kpi.html")
    assert page.title() == "Buying for Social Impact — KPI pack"
    poland = page.locator("#t-reach tr", has_text="Poland (PL)").locator("td").all_inner_texts()
    assert poland[:2] == ["2", "1"]  # authorities: people, organisations
    svg = page.locator("svg[role=img]")
    assert svg.count() == 1 and "Organisations reached" in svg.locator("title").first.text_content()
    assert "Poland (PL) 1" in page.locator("desc").first.text_content()  # the chart's text alternative
    page.emulate_media(media="print")
    text = assert_fits_and_prints(page)
    assert _flat("Spring invitation") in _flat(text) and _flat("What the figures mean") in _flat(text)
    assert all(url.startswith("file://") for url in requests), requests


@pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed (run npm ci)")
def test_kpi_pack_passes_axe(db, clock, page, tmp_path: Path) -> None:
    spring_history(db, clock)
    open_file(page, render_kpi_html(build_kpi(db, clock, date(2027, 1, 1), date(2027, 6, 30))), tmp_path / "k.html")
    assert axe_problems(page) == []
    open_file(page, render_kpi_html(build_kpi(db, clock, date(2030, 1, 1), date(2030, 1, 31))), tmp_path / "e.html")
    assert page.get_by_role("note").inner_text().endswith("every figure of the period is zero.")
    assert axe_problems(page) == []


def test_outreach_report_prints_every_column_on_a4(db, clock, page, tmp_path: Path) -> None:
    """The rate columns used to be cut off the printed page, and the page scrolled sideways at 1100 px."""
    spring_history(db, clock)
    db.execute("UPDATE campaigns SET name = 'Buying for Social Impact: spring invitation to the regional "
               "market-dialogue days' WHERE slug = 'spring'")
    report = build_report(db, clock, by=("country", "kind", "language"))
    open_file(page, render_html(report, build_reach(db, clock)), tmp_path / "report.html")
    text = assert_fits_and_prints(page)
    assert "Unsubscribe rate" in text and "87.5 %" in text
