"""Sessions as data: per-language texts with fallbacks, which session a reader sees, errors naming the line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from event_support import event_campaign

from outreach.campaigns.folder import load_campaign
from outreach.errors import InputError
from outreach.events.invitations import calendars_for
from outreach.models import Kind
from outreach.models.contacts import Contact


def test_texts_fall_back_reader_then_source_then_own(settings, tmp_path) -> None:
    campaign = load_campaign(event_campaign(settings, tmp_path), "training")
    pl = campaign.event["PL"]
    assert pl.language == "pl" and pl.country == "PL"
    assert pl.text("pl").title == "Dzień szkoleniowy"
    assert pl.text("en").title == "Training day" and pl.text("de").title == "Training day"  # source language
    assert pl.text("de").venue == "Centrum Konferencyjne Przykład"  # only given in Polish
    assert pl.text("pl").notes == "Bring your ID."  # a field the session's own language lacks
    hr = campaign.event["HR"]
    assert hr.text("en").title == "Dan edukacije"  # nothing in English: the session's own text
    view = campaign.event_for("PL", "en")
    assert view["starts"] == datetime(2027, 3, 18, 9, 30) and view["timezone"] == "Europe/Warsaw"
    assert view["registration_deadline"] == datetime(2027, 3, 11, 23, 59)
    assert pl.starts.astimezone(UTC) == datetime(2027, 3, 18, 8, 30, tzinfo=UTC)
    webinar = campaign.event["webinar"]
    assert webinar.country is None and webinar.online_url == "https://meet.example.org/bsi"


def test_which_session_a_reader_sees(settings, tmp_path) -> None:
    plain = load_campaign(event_campaign(settings, tmp_path), "training")
    assert plain.session_for("PL").code == "PL" and plain.session_for("DE") is None
    assert plain.session_for(None) is None
    fallback = load_campaign(event_campaign(settings, tmp_path, extra='default_session = "webinar"',
                                            slug="fallback"), "fallback")
    assert fallback.session_for("PL").code == "PL" and fallback.session_for("DE").code == "webinar"
    assert fallback.session_for(None).code == "webinar"
    everyone = load_campaign(event_campaign(settings, tmp_path, extra='session = "webinar"', slug="all"), "all")
    assert everyone.session_for("PL").code == "webinar"
    calendars = calendars_for(everyone, clock=_Clock())
    part = calendars.for_contact(Contact(id=1, email="a@example.org", kind=Kind.AUTHORITY, country="PL"), "pl")
    assert part is not None and b"UID:all-webinar@bsi.example.org" in part.data
    assert b"TZID:Europe/Brussels" in part.data and b"METHOD:PUBLISH" in part.data


class _Clock:
    def now(self) -> datetime:
        return datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(("change", "line", "words"), [
    (('timezone = "Europe/Warsaw"', 'timezone = "Europe/Warsw"'), 12, "unknown time zone 'Europe/Warsw'"),
    (("capacity = 2", "capacity = 0"), 15, "capacity must be a whole number"),
    (('title = "Training day"', 'titel = "Training day"'), 19, "'titel' cannot be translated"),
    (("[events.HR]", "[events.XX]"), 23, "neither an EU/EEA country code nor a session name"),
    (("ends = 2027-03-09T16:00:00", "ends = 2027-03-08T16:00:00"), 25, "ends before it starts"),
    (('online_url = "https://meet', 'online_url = "meet'), 36, "must be a web address"),
])
def test_mistakes_name_the_line(settings, tmp_path, change, line, words) -> None:
    fixed = event_campaign(settings, tmp_path)
    toml = tmp_path / "campaigns" / "training" / "campaign.toml"
    text = toml.read_text(encoding="utf-8")
    assert change[0] in text
    toml.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(InputError, match=rf"campaign\.toml:{line}: .*{words}"):
        load_campaign(fixed, "training")


def test_unknown_session_rule_suggests(settings, tmp_path) -> None:
    with pytest.raises(InputError, match=r"default_session = 'webinr' names no .* did you mean 'webinar'"):
        load_campaign(event_campaign(settings, tmp_path, extra='default_session = "webinr"'), "training")


def test_invitation_shows_the_readers_session_in_their_language(settings, tmp_path) -> None:
    from outreach.render.renderer import Links, Renderer

    campaign = load_campaign(event_campaign(settings, tmp_path, extra='default_session = "webinar"'), "training")
    links = Links("https://news.example.org/u", "https://news.example.org/p", "https://news.example.org/v")
    renderer = Renderer(settings, campaign)
    online = renderer.variant("en", "authority").render(
        Contact(id=1, email="a@example.org", kind=Kind.AUTHORITY, country="DE", language="en"), links)
    assert "Webinar: reserved contracts" in online.html and "Join online: https://meet.example.org/bsi" in online.text
    assert 'href="https://meet.example.org/bsi"' in online.html
    english_in_poland = renderer.variant("en", "authority").render(
        Contact(id=2, email="b@example.org", kind=Kind.AUTHORITY, country="PL", language="en"), links)
    assert "Training day" in english_in_poland.text and "Dzień szkoleniowy" not in english_in_poland.text
    assert "Bring your ID." in english_in_poland.text
    polish = renderer.variant("pl", "authority").render(
        Contact(id=3, email="c@example.org", kind=Kind.AUTHORITY, country="PL", language="pl"), links)
    assert "Dzień szkoleniowy" in polish.html and "Bring your ID." in polish.html  # notes only given in English
