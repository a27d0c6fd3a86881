"""Each figure's definition pinned on a hand-built database (report_support.spring_history, whose docstring
says who is who), and the same figures in every report format."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from pathlib import Path

import pytest
from report_support import MAY, SPRING, Ledger, spring_history

from outreach.contacts.model import get_contact
from outreach.models import BounceType, EventType
from outreach.tracking.definitions import DEFINITIONS
from outreach.tracking.report_html import render_html
from outreach.tracking.reports import build_reach, build_report, reach_csv, report_csv, report_document

REPO = Path(__file__).resolve().parent.parent
FROM, TO = date(2027, 1, 1), date(2027, 6, 30)


@pytest.fixture
def history(db, clock) -> Ledger:
    return spring_history(db, clock)


def figures(counts) -> dict[str, int]:
    return {m: getattr(counts, m) for m in ("targeted", "sent", "delivered", "failed", "unknown", "pending",
                                            "bounced", "soft_bounced", "complained", "unsubscribed")}


def test_message_figures_follow_their_definitions(db, clock, history) -> None:
    report = build_report(db, clock, since=FROM, until=TO)
    assert [c.slug for c in report.campaigns] == [SPRING, MAY]  # autumn was sent before the period
    assert figures(report.total(SPRING)) == {
        "targeted": 11,  # queued for a contact, whatever became of it
        "sent": 8,  # accepted by the relay
        "delivered": 7,  # sent minus the hard bounce (a3), though it came back after the period
        "failed": 1,  # a4, refused while sending: its SMTP hard-bounce event does not make it "bounced"
        "unknown": 1, "pending": 1,
        "bounced": 1, "soft_bounced": 1,  # s1's soft bounce: still delivered
        "complained": 1, "unsubscribed": 1}  # s3's web unsubscribe names the campaign, not the delivery
    assert report.total(SPRING).rates() == {"delivered_rate": 0.875, "bounce_rate": 0.125,
                                            "complaint_rate": 0.125, "unsubscribe_rate": 0.125}  # all over sent
    assert figures(report.total(None))["delivered"] == 9 and figures(report.total(None))["targeted"] == 13


def test_reach_counts_people_and_organisations_with_a_delivered_message(db, clock, history) -> None:
    reach = build_reach(db, clock, since=FROM, until=TO)
    # PL: a1 and a2 (a3 bounced, a4 failed, q1 never sent, o1 before the period); one organisation, two spellings
    assert (reach.countries["PL"]["authority"], reach.organisations["PL"]["authority"]) == (2, 1)
    # DE: three suppliers delivered; s2 names no organisation
    assert (reach.countries["DE"]["supplier"], reach.organisations["DE"]["supplier"]) == (3, 2)
    # FR: e1 (two campaigns) and e2 were erased: two people without identity, never three; no organisation left
    assert (reach.countries["FR"]["others"], reach.organisations["FR"]["others"]) == (2, 0)
    assert reach.totals == {"authority": 2, "supplier": 3, "others": 2, "total": 7, "campaigns": 2}
    assert reach.organisation_totals["total"] == 3
    assert build_reach(db, clock, since=date(2026, 10, 1), until=date(2026, 10, 1)).totals["authority"] == 1  # o1


def test_every_format_shows_the_same_figures(db, clock, history, runner, tmp_path: Path) -> None:
    report = build_report(db, clock, since=FROM, until=TO)
    rows = {r["campaign"]: r for r in csv.DictReader(io.StringIO(report_csv(report)))}
    assert (rows[SPRING]["sent"], rows[SPRING]["delivered"], rows[SPRING]["delivered_rate"],
            rows[SPRING]["bounce_rate"]) == ("8", "7", "0.8750", "0.1250")
    document = report_document(report)
    spring = next(r for r in document["rows"] if r["campaign"] == SPRING)
    assert (spring["delivered"], spring["delivered_rate"], spring["bounced"]) == (7, 0.875, 1)
    assert document["definitions"]["delivered"] == DEFINITIONS["delivered"].text
    reach = build_reach(db, clock, since=FROM, until=TO)
    assert "(all),2,3,2,7,2,1,2,0,3" in reach_csv(reach)

    html = render_html(report, reach)
    assert re.search(r"<th scope=\"row\">Spring invitation</th><td class=\"num\">11</td><td class=\"num\">8</td>"
                     r"<td class=\"num\">7</td>", html)
    assert "87.5 %" in html and "12.5 %" in html
    headline = re.findall(r'<span class="value">([^<]+)</span> <span class="label">([^<]+)</span>', html)
    assert ("2", "Contracting authorities reached (people)") in headline  # a3's bounce is no reach
    assert ("1", "Contracting authorities reached (organisations)") in headline
    assert ("9", "Messages delivered") in headline
    for item in DEFINITIONS.values():  # the footnotes are the definitions, word for word
        if item.label in ("Sign-ups", "Unsubscribed persons", "Consent basis held", "Bounces cleaned",
                          "Campaigns sent", "Invited", "Registered", "Attended"):
            continue  # KPI-pack figures, not shown in this report
        assert f"<dt>{item.label}</dt><dd>{item.text}</dd>" in html, item.label

    table = runner("report", "--since", "2027-01-01", "--until", "2027-06-30")
    assert table.exit_code == 0, table.output
    lines = [line.split("\t") for line in table.stdout.splitlines()]
    header, spring_line = lines[0], next(line for line in lines if line[0] == SPRING and "11" in line)
    assert header[header.index("delivered")] == "delivered"
    assert spring_line[header.index("delivered")] == "7" and spring_line[header.index("delivered %")] == "87.5%"
    assert json.loads(runner("report", "reach", "--since", "2027-01-01", "--until", "2027-06-30", "--format",
                             "json").stdout)["totals"]["total"] == 7


def test_events_link_as_the_definitions_say(db, history) -> None:
    """The hand-built history really holds what the table above says (so the pins above pin something)."""
    kinds = {(t, b) for t, b in db.execute("SELECT type, bounce_type FROM events").fetchall()}
    assert {(EventType.BOUNCED, BounceType.HARD), (EventType.BOUNCED, BounceType.SOFT),
            (EventType.COMPLAINED, None), (EventType.UNSUBSCRIBED, None), (EventType.ERASED, None)} <= kinds
    assert get_contact(db, "e1@ville.example.net") is None
    assert db.execute("SELECT count(*) FROM deliveries WHERE contact_id IS NULL").fetchone()[0] == 3


def test_docs_hold_every_definition_word_for_word() -> None:
    docs = " ".join((REPO / "docs" / "tracking.md").read_text(encoding="utf-8").split())
    for name, item in DEFINITIONS.items():
        assert f"**{item.label}**" in docs and item.text in docs, name
