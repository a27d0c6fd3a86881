"""A campaign's name in the reader's language: `name` in `<lang>.md` is the archive heading for that language."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from conftest import REPO
from web_support import web_settings

from outreach.db.schema import open_database
from outreach.web import create_app

GERMAN = "Sozialer Nutzen durch öffentliche Beschaffung"


def test_the_archive_heading_is_in_the_page_language(db_path: Path, tmp_path: Path, clock) -> None:
    from starlette.testclient import TestClient

    folder = tmp_path / "campaigns"
    shutil.copytree(REPO / "campaigns" / "bsi-awareness", folder / "bsi-awareness")
    de, fr = folder / "bsi-awareness" / "de.md", folder / "bsi-awareness" / "fr.md"
    de.write_text(re.sub(r'(?m)^name = ".*"$', f'name = "{GERMAN}"', de.read_text("utf-8"), count=1), "utf-8")
    fr.write_text(re.sub(r'(?m)^name = ".*"\n', "", fr.read_text("utf-8"), count=1), "utf-8")  # none: English
    settings = web_settings(db_path, tmp_path).with_overrides(campaigns_dir=folder)
    db = open_database(db_path)
    db.execute("INSERT INTO campaigns (slug, name, source_language, content_hashes, created_at, first_sent_at, "
               "last_sent_at) VALUES ('bsi-awareness', 'Social impact through public procurement', 'en', "
               "'{\"en\": \"h1\", \"de\": \"h2\"}', '2026-11-01T08:00:00Z', '2026-11-02T08:00:00Z', "
               "'2026-11-02T08:00:00Z')")
    db.close()
    with TestClient(create_app(settings, clock=clock), base_url="https://news.example.org") as client:
        german = client.get("/archive/?lang=de").text
        french = client.get("/archive/?lang=fr").text
    assert f"<h2>{GERMAN}</h2>" in german and "Social impact through public procurement" not in german
    assert '<h2 lang="en">Social impact through public procurement</h2>' in french and GERMAN not in french
