"""Reports: figures per campaign and breakdown, periods, reach, CSV/JSON, person history, the HTML file in Chromium."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest
from _tracking_data import add_campaign, add_delivery

from outreach.contacts.model import clean_fields, insert_contact
from outreach.errors import InputError, NotFoundError
from outreach.models import BounceType, EventType
from outreach.tracking.events import record_event, unsubscribe
from outreach.tracking.report_html import render_html
from outreach.tracking.reports import (
    build_reach,
    build_report,
    parse_by,
    person_history,
    reach_csv,
    report_csv,
    report_document,
)

A, B = "bsi-awareness", "bsi-training"
A_DAY, B_DAY = "2026-11-02T10:00:00Z", "2026-11-20T10:00:00Z"


@pytest.fixture
def sample(db, clock):
    """Two campaigns with known outcomes (see the expected numbers in the tests)."""
    add_campaign(db, clock, A, "BSI awareness")
    add_campaign(db, clock, B, "BSI training")
    people = {}

    def person(key: str, country: str, kind: str):
        people[key] = insert_contact(db, clock, f"{key}@{country.lower()}.example.org",
                                     clean_fields({"country": country, "kind": kind, "name": key.title()}))
        return people[key]

    ids = {}
    for n, status in enumerate(["sent", "sent", "sent", "failed"]):
        ids[f"pl-a{n}"] = add_delivery(db, clock, A, person(f"pl-a{n}", "PL", "authority"), status=status, when=A_DAY)
    for n, status in enumerate(["sent", "sent", "queued"]):
        ids[f"pl-s{n}"] = add_delivery(db, clock, A, person(f"pl-s{n}", "PL", "supplier"), status=status, when=A_DAY)
    for n, status in enumerate(["sent", "sent", "unknown"]):
        ids[f"de-a{n}"] = add_delivery(db, clock, A, person(f"de-a{n}", "DE", "authority"), status=status, when=A_DAY)
    ids["de-s0"] = add_delivery(db, clock, A, person("de-s0", "DE", "supplier"), when=A_DAY)
    for n in range(2):  # the same two Polish authorities get the training invitation
        add_delivery(db, clock, B, people[f"pl-a{n}"], when=B_DAY)
    record_event(db, clock, EventType.BOUNCED, people["pl-a2"].id, campaign=A, delivery_id=ids["pl-a2"],
                 bounce_type=BounceType.HARD, source="bounce", source_id="b1")
    record_event(db, clock, EventType.BOUNCED, people["de-a1"].id, campaign=A, delivery_id=ids["de-a1"],
                 bounce_type=BounceType.SOFT, source="bounce", source_id="b2")
    record_event(db, clock, EventType.COMPLAINED, people["de-s0"].id, campaign=A, delivery_id=ids["de-s0"],
                 source="arf", source_id="c1")
    unsubscribe(db, clock, people["pl-s1"], campaign=A, source="web")  # web: campaign and contact, no delivery
    return people


def figures(counts) -> tuple[int, ...]:
    return (counts.targeted, counts.sent, counts.failed, counts.unknown, counts.pending, counts.bounced,
            counts.soft_bounced, counts.complained, counts.unsubscribed)


def test_totals_per_campaign_and_overall(db, clock, sample) -> None:
    report = build_report(db, clock)
    assert figures(report.total(A)) == (11, 8, 1, 1, 1, 1, 1, 1, 1)
    assert figures(report.total(B)) == (2, 2, 0, 0, 0, 0, 0, 0, 0)
    assert figures(report.total(None)) == (13, 10, 1, 1, 1, 1, 1, 1, 1)
    assert report.total(None).rates() == {"delivered_rate": 0.9, "bounce_rate": 0.1, "complaint_rate": 0.1,
                                          "unsubscribe_rate": 0.1}
    assert report.total(None).delivered == 9
    assert [c.slug for c in report.campaigns] == [A, B]


def test_breakdown_by_country_and_kind(db, clock, sample) -> None:
    report = build_report(db, clock, by=parse_by(["country,kind"]))
    rows = {(r.campaign, r.group["country"], r.group["kind"]): figures(r.counts) for r in report.rows}
    assert rows[(A, "PL", "authority")] == (4, 3, 1, 0, 0, 1, 0, 0, 0)
    assert rows[(A, "PL", "supplier")] == (3, 2, 0, 0, 1, 0, 0, 0, 1)
    assert rows[(A, "DE", "supplier")] == (1, 1, 0, 0, 0, 0, 0, 1, 0)
    assert rows[(None, "PL", "authority")] == (6, 5, 1, 0, 0, 1, 0, 0, 0)  # both campaigns
    assert rows[(A, None, None)] == (11, 8, 1, 1, 1, 1, 1, 1, 1)
    assert rows[(None, None, None)] == (13, 10, 1, 1, 1, 1, 1, 1, 1)


def test_one_campaign_and_a_period(db, clock, sample) -> None:
    only_b = build_report(db, clock, since=date(2026, 11, 10))
    assert [c.slug for c in only_b.campaigns] == [B]
    assert figures(only_b.total(None))[:2] == (2, 2)
    until = build_report(db, clock, until=date(2026, 11, 2))  # inclusive
    assert figures(until.total(None))[:2] == (11, 8)
    one = build_report(db, clock, campaign=B, by=("language",))
    assert {r.group["language"] for r in one.rows if not r.is_total} == {"pl"}
    with pytest.raises(NotFoundError, match="bsi-nothing"):
        build_report(db, clock, campaign="bsi-nothing")
    with pytest.raises(InputError, match="--by 'region'"):
        parse_by(["country,region"])
    with pytest.raises(InputError, match="after --until"):
        build_report(db, clock, since=date(2026, 12, 1), until=date(2026, 11, 1))


def test_csv_and_json(db, clock, sample) -> None:
    report = build_report(db, clock, by=("country",))
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    total = next(r for r in rows if r["campaign"] == "(all)" and r["country"] == "(all)")
    assert (total["targeted"], total["sent"], total["bounced"], total["bounce_rate"]) == ("13", "10", "1", "0.1000")
    document = report_document(report)
    assert document["by"] == ["country"]
    assert any(r["campaign"] == A and r["country"] == "DE" and r["complained"] == 1 for r in document["rows"])


def test_reach_counts_distinct_people_per_country_and_audience(db, clock, sample) -> None:
    reach = build_reach(db, clock)
    # pl-a2's message hard-bounced: sent, but not delivered, so pl-a2 is not reached
    assert reach.countries["PL"] | {} == {"authority": 2, "supplier": 2, "others": 0, "total": 4, "campaigns": 2}
    assert reach.countries["DE"]["authority"] == 2 and reach.countries["DE"]["supplier"] == 1
    assert reach.countries["LV"]["total"] == 0  # every BSI country is listed
    assert reach.totals == {"authority": 4, "supplier": 3, "others": 0, "total": 7, "campaigns": 2}
    late = build_reach(db, clock, since=date(2026, 11, 10))
    assert late.countries["PL"]["authority"] == 2 and late.totals["total"] == 2
    assert "PL,2,2,0,4,2,0,0,0,0" in reach_csv(reach)  # the sample's contacts name no organisation


def test_person_history(db, clock, sample) -> None:
    history = person_history(db, "PL-S1@pl.example.org")
    assert history["contact"]["status"] == "unsubscribed"
    assert [(d["campaign"], d["status"], d["outcome"]) for d in history["deliveries"]] == [
        (A, "sent", "sent, then unsubscribed")]
    assert [e["type"] for e in history["events"]] == ["unsubscribed"]
    bounced = person_history(db, "pl-a2@pl.example.org")
    assert bounced["deliveries"][0]["outcome"] == "bounced"
    assert bounced["deliveries"][0]["events"] == ["bounced (hard)"]
    with pytest.raises(NotFoundError, match="No contact"):
        person_history(db, "nobody@example.org")


def test_html_is_standalone_and_escaped(db, clock, sample) -> None:
    db.execute("UPDATE campaigns SET name = ? WHERE slug = ?", ["<script>alert(1)</script> & co", B])
    html = render_html(build_report(db, clock, by=("country", "kind")), build_reach(db, clock))
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # no external request
    assert "@media print" in html and "<svg" in html and 'scope="col"' in html and "<caption>" in html


BROWSER_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian chromium is not installed")
def test_html_report_renders_in_chromium(db, clock, sample, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    page_file = tmp_path / "report.html"
    page_file.write_text(render_html(build_report(db, clock, by=("country",)), build_reach(db, clock)),
                         encoding="utf-8")
    requests: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            page.goto(page_file.as_uri())
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
            assert page.title() == "Buying for Social Impact — outreach report"
            total = page.locator("#campaigns tr.total")
            assert total.locator("th").inner_text() == "All campaigns"
            assert total.locator("td").all_inner_texts() == ["13", "10", "9", "1", "1", "1"]  # … delivered, failed
            outcomes = page.locator("#outcomes tr.total td").all_inner_texts()
            assert outcomes == ["1", "1", "1", "1", "90.0 %", "10.0 %", "10.0 %", "10.0 %"]  # rates over sent
            poland = page.locator("#reach tr", has_text="Poland (PL)").locator("td").all_inner_texts()
            assert poland == ["2", "0", "2", "0", "0", "4", "0", "2"]
            germany = page.locator("#breakdown tr", has=page.locator("th", has_text="BSI awareness")).filter(
                has_text="Germany (DE)").locator("td").all_inner_texts()
            assert germany[1:5] == ["4", "3", "3", "0"]  # targeted, sent, delivered, failed
            # At 1100 px nothing scrolls sideways (the rate columns used to push the page to 1,580 px).
            page.set_viewport_size({"width": 1100, "height": 900})
            assert page.evaluate("document.documentElement.scrollWidth") <= 1100
            assert page.locator("svg rect").count() == 2 * 15
            widths = {name: page.locator("svg rect", has_text=name).bounding_box()["width"]
                      for name in ("Poland (PL): 2 contracting", "Germany (DE): 1 social")}
            assert widths["Poland (PL): 2 contracting"] == pytest.approx(2 * widths["Germany (DE): 1 social"], 0.02)
            page.emulate_media(media="print")
            assert page.locator("#reach").is_visible()
            assert len(page.pdf(format="A4")) > 1000
        finally:
            browser.close()
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert all(url.startswith("file://") for url in requests), requests
