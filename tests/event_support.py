"""A small event campaign written into a test's campaigns folder (sessions with capacity, deadline, languages)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

from outreach.config import Settings

TOML = '''name = "Training day"
layout = "invitation"
source_language = "en"
{extra}
[audience]
kinds = ["authority", "supplier"]

[events.PL]
title = "Dzień szkoleniowy"
starts = {pl_starts}
ends = {pl_ends}
timezone = "Europe/Warsaw"
venue = "Centrum Konferencyjne Przykład"
address = "ul. Przykładowa 1, 00-001 Warszawa"
capacity = {capacity}
registration_deadline = {deadline}

[events.PL.en]
title = "Training day"
notes = "Bring your ID."

[events.HR]
title = "Dan edukacije"
starts = 2027-03-09T09:30:00
ends = 2027-03-09T16:00:00
timezone = "Europe/Zagreb"
venue = "Konferencijski centar"
address = "Trg suradnje 3, 10000 Zagreb"

[events.webinar]
language = "en"
title = "Webinar: reserved contracts"
starts = 2027-02-02T14:00:00
ends = 2027-02-02T15:30:00
timezone = "Europe/Brussels"
online_url = "https://meet.example.org/bsi"
'''

BODY = '''+++
subject = "{subject}"
+++
We invite you to **{{{{ event.title }}}}** on {{{{ event.starts | date }}}}.
'''


def event_campaign(settings: Settings, tmp_path: Path, *, capacity: int = 2, extra: str = "",
                   slug: str = "training", pl_starts: datetime = datetime(2027, 3, 18, 9, 30)) -> Settings:
    """Write campaigns/<slug>/ under tmp_path and return settings pointing at that campaigns folder.

    The PL session starts at `pl_starts` (Warsaw wall time), lasts 6.5 hours, registration closes a week before.
    """
    folder = tmp_path / "campaigns" / slug
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "campaign.toml").write_text(TOML.format(
        capacity=capacity, extra=extra, pl_starts=pl_starts.isoformat(),
        pl_ends=(pl_starts + timedelta(hours=6, minutes=30)).isoformat(),
        deadline=(pl_starts - timedelta(days=7)).date().isoformat()), encoding="utf-8")
    (folder / "en.md").write_text(BODY.format(subject="Invitation: training day"), encoding="utf-8")
    (folder / "pl.md").write_text(BODY.format(subject="Zaproszenie: dzień szkoleniowy"), encoding="utf-8")
    (folder / "hr.md").write_text(BODY.format(subject="Poziv: dan edukacije"), encoding="utf-8")
    return dataclasses.replace(settings, campaigns_dir=tmp_path / "campaigns")
