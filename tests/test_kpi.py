"""The KPI pack: its tables on the hand-built history, the JSON, CSV and XLSX forms read back, bad input, the CLI.

The history is report_support.spring_history plus, for the list figures: two sign-ups (one before the period),
and z1, an Italian supplier whose repeated soft bounces across two campaigns take them off the list in March.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from report_support import MAY, SPRING, Ledger, spring_history

from outreach.contacts.model import get_contact
from outreach.db.registrations import record_attendance
from outreach.db.sessions import sync_session
from outreach.errors import ExitCode, InputError, NotFoundError
from outreach.events.registration import register
from outreach.models import EventType
from outreach.models.sessions import Person
from outreach.tracking.events import record_event, soft_bounce
from outreach.tracking.kpi import build_kpi, check_campaigns, check_period, parse_countries
from outreach.tracking.kpi_formats import CSV_HEADER, kpi_csv, kpi_document, kpi_xlsx

FROM, TO = date(2027, 1, 1), date(2027, 6, 30)
PERIOD = ("--from", "2027-01-01", "--to", "2027-06-30")


@pytest.fixture
def history(db, clock) -> Ledger:
    book = spring_history(db, clock)
    sub1 = book.person("sub1@mail.example.org", "PL", "subscriber", when="2027-03-01T08:00Z", consent_basis="consent")
    record_event(db, clock, EventType.CONFIRMED, sub1.id, source="web", source_id="signup:1")
    sub2 = book.person("sub2@mail.example.org", "HR", "subscriber", when="2026-12-01T08:00Z", consent_basis="consent")
    record_event(db, clock, EventType.CONFIRMED, sub2.id, source="web", source_id="signup:2")
    z1 = book.person("z1@coop.example.com", "IT", "supplier", "Cooperativa Sole")
    spring_id, may_id = book.send(SPRING, z1, when="2027-02-10T09:00Z"), book.send(MAY, z1, when="2027-02-20T09:00Z")
    for n, (campaign, delivery) in enumerate([(SPRING, spring_id), (MAY, may_id), (MAY, may_id)]):
        book.at(f"2027-03-0{n + 2}T10:00Z")
        z1 = soft_bounce(db, clock, z1, limit=3, campaigns=2, campaign=campaign, delivery_id=delivery,
                         source="bounce", source_id=f"z1-soft-{n}")
    assert z1.status == "bounced"
    # The May campaign invites to a session in Warsaw on 20 May: a1 and a guest from the public page register,
    # a1 comes. (Its invitations went to a1, e1 and z1.)
    now = book.at("2027-05-10T08:00Z")
    session = sync_session(db, now, campaign=MAY, code="PL", uid="may-PL@news.example.org", fingerprint="f1",
                           capacity=None, starts_at="2027-05-20T08:00:00Z", deadline_at=None)
    a1 = get_contact(db, "a1@gmina.example.org")
    placed = register(db, clock, session.id, Person(a1.email, contact_id=a1.id))
    assert register(db, clock, session.id, Person("guest@ngo.example.net", name="Guest")).answer == "registered"
    record_attendance(db, book.at("2027-05-20T10:00Z"), session.id, a1.email, a1.id, placed.registration.id, "sheet")
    return book


def rows_of(pack, key: str) -> dict[str, dict]:
    table = pack.table_named(key)
    return {str(row[0]): dict(zip([c.key for c in table.columns], row, strict=True)) for row in table.rows}


def total_of(pack, key: str) -> dict:
    table = pack.table_named(key)
    return dict(zip([c.key for c in table.columns], table.total, strict=True))


def test_the_tables_of_the_pack(db, clock, history) -> None:
    pack = build_kpi(db, clock, FROM, TO)
    assert not pack.empty
    reach = rows_of(pack, "reach")
    assert (reach["PL"]["authorities_people"], reach["PL"]["authorities_organisations"]) == (2, 1)
    assert (reach["DE"]["suppliers_people"], reach["DE"]["suppliers_organisations"]) == (3, 2)
    assert (reach["FR"]["others_people"], reach["IT"]["suppliers_organisations"]) == (2, 1)
    assert reach["LV"]["all_people"] == 0  # every BSI country is listed
    assert total_of(pack, "reach")["all_people"] == 8 and total_of(pack, "reach")["all_organisations"] == 4

    campaigns = rows_of(pack, "campaigns")
    assert list(campaigns) == [SPRING, MAY]  # autumn went out before the period
    assert campaigns[SPRING] | {} == {
        "campaign": SPRING, "name": "Spring invitation", "first_sent": date(2027, 2, 10),
        "last_sent": date(2027, 2, 10), "languages": "de, fr, it, pl", "countries": 4, "sent": 9, "delivered": 8}
    assert (campaigns[MAY]["sent"], campaigns[MAY]["first_sent"]) == (3, date(2027, 2, 20))
    languages = rows_of(pack, "languages")
    assert {lang: (r["campaigns"], r["sent"], r["delivered"]) for lang, r in languages.items()} == {
        "de": (1, 3, 3), "fr": (2, 3, 3), "it": (2, 2, 2), "pl": (2, 4, 3)}

    events = {(row[0], row[1]): row[2:] for row in pack.table_named("events").rows}
    assert events == {(MAY, "FR"): [date(2027, 5, 20), 1, 0, 0], (MAY, "IT"): [date(2027, 5, 20), 1, 0, 0],
                      (MAY, "PL"): [date(2027, 5, 20), 1, 2, 1]}  # the guest counts in the session's country
    assert total_of(pack, "events")["registered"] == 2
    assert build_kpi(db, clock, date(2027, 6, 1), TO).table_named("events").rows == []  # the session was in May

    subscribers = rows_of(pack, "subscribers")  # sub2 signed up before the period
    assert subscribers == {"PL": {"country": "PL", "signups": 1, "unsubscribed": 0, "net": 1},
                           "DE": {"country": "DE", "signups": 0, "unsubscribed": 1, "net": -1}}
    consent = rows_of(pack, "consent")  # active contacts now: a1, a2, q1, o1, u1, s1, sub1, sub2
    assert consent["consent"] | {} == {"consent_basis": "consent", "authority": 0, "supplier": 1, "subscriber": 2,
                                       "other": 0, "all": 3}
    assert consent["legitimate_interest"]["authority"] == 1 and consent["not recorded"]["all"] == 4
    assert total_of(pack, "consent")["all"] == 8
    bounces = rows_of(pack, "bounces")  # a3's hard bounce came back in July: outside the period
    assert bounces == {"IT": {"country": "IT", "refused": 0, "reported": 0, "repeated_soft": 1, "addresses": 1},
                       "PL": {"country": "PL", "refused": 1, "reported": 0, "repeated_soft": 0, "addresses": 1}}
    july = rows_of(build_kpi(db, clock, date(2027, 7, 1), date(2027, 7, 31)), "bounces")
    assert july["PL"]["reported"] == 1


def test_filters_narrow_the_pack(db, clock, history) -> None:
    poland = build_kpi(db, clock, FROM, TO, countries=parse_countries(["Poland"]))
    assert list(rows_of(poland, "reach")) == ["PL"]
    assert {slug: r["sent"] for slug, r in rows_of(poland, "campaigns").items()} == {SPRING: 3, MAY: 1}
    assert list(rows_of(poland, "subscribers")) == ["PL"]
    assert [row[1] for row in poland.table_named("events").rows] == ["PL"]
    only_may = build_kpi(db, clock, FROM, TO, campaigns=check_campaigns(db, ["may"]))
    assert list(rows_of(only_may, "campaigns")) == [MAY] and total_of(only_may, "reach")["all_people"] == 3
    assert parse_countries(["pl,CZ", "Deutschland", "PL"]) == ("PL", "CZ", "DE")


def test_bad_input_is_named_with_a_suggestion(db, clock, history) -> None:
    with pytest.raises(InputError, match="'Polnad' is not an EU/EEA country — did you mean 'Poland'") as bad:
        parse_countries(["Polnad"])
    assert bad.value.exit_code == ExitCode.USAGE
    with pytest.raises(NotFoundError, match="'sprng' is not in the database — did you mean 'spring'"):
        check_campaigns(db, ["sprng"])
    with pytest.raises(InputError, match="--from 2027-06-30 is after --to 2027-01-01") as late:
        check_period(date(2027, 6, 30), date(2027, 1, 1))
    assert "--from 2027-01-01 --to 2027-06-30" in (late.value.hint or "")
    with pytest.raises(InputError, match="--to is missing"):
        check_period(FROM, None)


def test_an_empty_period_gives_zeros(db, clock, history) -> None:
    pack = build_kpi(db, clock, date(2030, 1, 1), date(2030, 6, 30))
    assert pack.empty
    assert total_of(pack, "reach")["all_people"] == 0 and rows_of(pack, "reach")["PL"]["all_organisations"] == 0
    assert pack.table_named("campaigns").rows == [] and total_of(pack, "campaigns")["sent"] == 0
    assert total_of(pack, "subscribers") == {"country": "All countries", "signups": 0, "unsubscribed": 0, "net": 0}
    assert total_of(pack, "consent")["all"] == 8  # held now, not a figure of the period


def test_json_is_one_document(db, clock, history) -> None:
    document = json.loads(json.dumps(kpi_document(build_kpi(db, clock, FROM, TO)), ensure_ascii=False))
    assert document["period"] == {"from": "2027-01-01", "to": "2027-06-30"} and document["empty"] is False
    assert list(document["tables"]) == ["reach", "campaigns", "languages", "events", "subscribers", "consent",
                                        "bounces"]
    spring = document["tables"]["campaigns"]["rows"][0]
    assert (spring["campaign"], spring["first_sent"], spring["delivered"]) == (SPRING, "2027-02-10", 8)
    assert document["tables"]["reach"]["total"]["all_people"] == 8
    assert "reached_organisations" in document["definitions"] and "delivered" in document["definitions"]


def test_csv_is_one_long_table(db, clock, history) -> None:
    lines = list(csv.reader(io.StringIO(kpi_csv(build_kpi(db, clock, FROM, TO)))))
    assert tuple(lines[0]) == CSV_HEADER and {len(line) for line in lines} == {4}
    cells = {(t, k, c): v for t, k, c, v in lines[1:]}
    assert cells[("pack", "", "from")] == "2027-01-01"
    assert cells[("reach", "PL", "authorities_people")] == "2"
    assert cells[("reach", "(all)", "all_organisations")] == "4"
    assert cells[("campaigns", SPRING, "first_sent")] == "2027-02-10"
    assert cells[("subscribers", "DE", "net")] == "-1"
    assert cells[("events", "may/PL", "attended")] == "1" and cells[("events", "(all)", "invited")] == "3"
    assert cells[("definitions", "delivered", "Delivered")].startswith("Sent minus hard bounces")


def test_xlsx_reads_back_typed_with_frozen_headers(db, clock, history, tmp_path: Path) -> None:
    path = tmp_path / "kpi.xlsx"
    path.write_bytes(kpi_xlsx(build_kpi(db, clock, FROM, TO)))
    book = load_workbook(path)
    assert book.sheetnames == ["About", "Reach", "Campaigns", "Languages", "Events", "Subscribers", "Consent",
                               "Bounces"]
    assert all(sheet.freeze_panes == "A2" for sheet in book.worksheets)
    campaigns = book["Campaigns"]
    assert [c.value for c in campaigns[1]] == ["Campaign", "Name", "First sent", "Last sent", "Languages",
                                               "Countries", "Sent", "Delivered"]
    spring = [c.value for c in campaigns[2]]
    assert spring[0] == SPRING and spring[2] == datetime(2027, 2, 10) and campaigns["C2"].is_date
    assert spring[6:] == [9, 8] and all(isinstance(v, int) for v in spring[5:])
    assert campaigns.cell(campaigns.max_row, 1).value == "All campaigns"
    reach = {row[0]: row for row in book["Reach"].iter_rows(min_row=2, values_only=True)}
    assert reach["PL"][1:3] == (2, 1) and reach["All countries"][7] == 8
    about = {row[0]: row[1] for row in book["About"].iter_rows(min_row=2, values_only=True)}
    assert about["Period from"] == datetime(2027, 1, 1) and about["Delivered"].startswith("Sent minus")


def test_cli_writes_every_format(runner, db, clock, history, tmp_path: Path) -> None:
    as_json = runner("report", "kpi", *PERIOD, "--country", "PL", "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["filters"]["countries"] == ["PL"]
    csv_run = runner("report", "kpi", *PERIOD, "--format", "csv")
    assert csv_run.stdout.splitlines()[0] == "table,key,column,value"
    for fmt in ("html", "xlsx"):
        target = tmp_path / f"kpi.{fmt}"
        result = runner("report", "kpi", *PERIOD, "--format", fmt, "--output", str(target))
        assert result.exit_code == 0 and f"Wrote {target}" in result.stderr, result.output
    assert (tmp_path / "kpi.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert load_workbook(tmp_path / "kpi.xlsx").sheetnames[0] == "About"
    table = runner("report", "kpi", *PERIOD)
    assert table.exit_code == 0 and "authorities_people" in table.stdout


def test_cli_empty_period_and_bad_input(runner, db, clock, history) -> None:
    empty = runner("report", "kpi", "--from", "2030-01-01", "--to", "2030-06-30", "--format", "json")
    assert empty.exit_code == 0
    assert json.loads(empty.stdout)["empty"] is True and "every figure of the period is zero" in empty.stderr
    for args, message in [(("--from", "2027-06-30", "--to", "2027-01-01"), "--from 2027-06-30 is after --to"),
                          ((*PERIOD, "--country", "Polnad"), "did you mean 'Poland'?"),
                          ((*PERIOD, "--campaign", "sprng"), "did you mean 'spring'?"),
                          (("--from", "2027-01-01"), "--to is missing"),
                          (("--from", "1/1/2027", "--to", "2027-06-30"), "--from '1/1/2027' is not a date")]:
        result = runner("report", "kpi", *args)
        assert result.exit_code != 0 and message in result.stderr, (args, result.output)
        assert "Traceback" not in result.output
    assert runner("report", "kpi", *PERIOD, "--country", "Polnad").exit_code == ExitCode.USAGE
    assert runner("report", "--country", "PL").exit_code != 0  # only the KPI pack takes it
