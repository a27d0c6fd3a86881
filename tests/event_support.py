"""A small event campaign written into a test's campaigns folder (sessions with capacity, deadline, languages)."""

from __future__ import annotations

import dataclasses
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
starts = 2027-03-18T09:30:00
ends = 2027-03-18T16:00:00
timezone = "Europe/Warsaw"
venue = "Centrum Konferencyjne Przykład"
address = "ul. Przykładowa 1, 00-001 Warszawa"
capacity = {capacity}
registration_deadline = 2027-03-11

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
                   slug: str = "training") -> Settings:
    """Write campaigns/<slug>/ under tmp_path and return settings pointing at that campaigns folder."""
    folder = tmp_path / "campaigns" / slug
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "campaign.toml").write_text(TOML.format(capacity=capacity, extra=extra), encoding="utf-8")
    (folder / "en.md").write_text(BODY.format(subject="Invitation: training day"), encoding="utf-8")
    (folder / "pl.md").write_text(BODY.format(subject="Zaproszenie: dzień szkoleniowy"), encoding="utf-8")
    (folder / "hr.md").write_text(BODY.format(subject="Poziv: dan edukacije"), encoding="utf-8")
    return dataclasses.replace(settings, campaigns_dir=tmp_path / "campaigns")
