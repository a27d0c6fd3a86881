"""The events section of the coordinator's report: invited → registered → attended, per campaign and
country × kind × language (or any part of that breakdown), with totals and the two rates that matter.

Kept apart from `outreach.tracking.reports` (delivery figures): the funnel has its own sources
(`outreach.db.event_figures`) and its own shape.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from outreach.db import event_figures as store
from outreach.db.schema import Database
from outreach.models.sessions import RegistrationStatus

DIMENSIONS = ("country", "kind", "language")


@dataclass
class Funnel:
    """The figures of one cell."""

    invited: int = 0
    registered: int = 0
    waiting: int = 0
    declined: int = 0
    attended: int = 0

    def add(self, other: Funnel) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        """Counts and rates: registered per invited, attended per registered (None without a base)."""
        counts = {name: getattr(self, name) for name in self.__dataclass_fields__}
        counts["registration_rate"] = round(self.registered / self.invited, 4) if self.invited else None
        counts["attendance_rate"] = round(self.attended / self.registered, 4) if self.registered else None
        return counts


@dataclass
class EventReport:
    """Rows per (campaign, *breakdown) and the total per campaign."""

    by: tuple[str, ...]
    rows: dict[tuple[str | None, ...], Funnel] = field(default_factory=dict)
    totals: dict[str, Funnel] = field(default_factory=dict)


def build_event_report(db: Database, *, campaign: str | None = None, by: tuple[str, ...] = DIMENSIONS) -> EventReport:
    """Gather the funnel; `by` is any of country, kind, language (ValueError for anything else)."""
    if any(d not in DIMENSIONS for d in by):
        raise ValueError(f"not a breakdown: {by}")
    report = EventReport(by)
    keep = [DIMENSIONS.index(d) + 1 for d in by]

    def cell(key: store.Key) -> Funnel:
        short = (key[0], *(key[i] for i in keep))
        return report.rows.setdefault(short, Funnel())

    for key, count in store.invited(db, campaign).items():
        cell(key).invited += count
    for key, statuses in store.answers(db, campaign).items():
        funnel = cell(key)
        funnel.registered += statuses.get(RegistrationStatus.REGISTERED, 0)
        funnel.waiting += statuses.get(RegistrationStatus.WAITING, 0)
        funnel.declined += statuses.get(RegistrationStatus.DECLINED, 0)
    for key, count in store.attended(db, campaign).items():
        cell(key).attended += count
    for row_key, funnel in report.rows.items():
        report.totals.setdefault(str(row_key[0]), Funnel()).add(funnel)
    return report


def _sorted(report: EventReport) -> list[tuple[tuple[str | None, ...], Funnel]]:
    return sorted(report.rows.items(), key=lambda item: tuple(value or "" for value in item[0]))


def event_report_document(report: EventReport) -> dict[str, Any]:
    """`--json`: rows with their breakdown values and figures, and a total per campaign."""
    return {"by": list(report.by),
            "rows": [{"campaign": key[0], **dict(zip(report.by, key[1:], strict=True)), **funnel.as_dict()}
                     for key, funnel in _sorted(report)],
            "totals": {slug: funnel.as_dict() for slug, funnel in sorted(report.totals.items())}}


def event_report_csv(report: EventReport) -> str:
    """`--csv`: one line per cell, then one `total` line per campaign."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = list(Funnel.__dataclass_fields__)
    writer.writerow(["campaign", *report.by, *names])
    for key, funnel in _sorted(report):
        writer.writerow([value or "" for value in key] + [getattr(funnel, n) for n in names])
    blank = ["total", *[""] * (len(report.by) - 1)] if report.by else []
    for slug, funnel in sorted(report.totals.items()):
        writer.writerow([slug, *blank, *[getattr(funnel, n) for n in names]])
    return buffer.getvalue()


def table_rows(report: EventReport) -> list[list[str]]:
    """The rows of the terminal table: one per cell, then one `total` row per campaign."""
    names = list(Funnel.__dataclass_fields__)
    rows = [[value or "-" for value in key] + [str(getattr(funnel, n)) for n in names]
            for key, funnel in _sorted(report)]
    blank = ["total", *[""] * (len(report.by) - 1)] if report.by else []
    for slug, funnel in sorted(report.totals.items()):
        rows.append([slug, *blank, *[str(getattr(funnel, n)) for n in names]])
    return rows
