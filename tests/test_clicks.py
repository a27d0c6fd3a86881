"""Issue 12 item 3: click counts without surveillance. A campaign with `track_clicks = true` is sent through a
real aiosmtpd; the links in the received messages are followed over real HTTP (uvicorn); the counts are
aggregated per variant, scanners are counted apart, the report suppresses counts below 5, and a bad `/l/`
token is a 404, never a redirect."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from clock_support import FakeClock
from conftest import REPO, SECRET
from web_support import free_socket, running_server, web_settings

from outreach.contacts.model import clean_fields, insert_contact
from outreach.db.schema import open_database
from outreach.mail.tokens import ClickTarget as Target
from outreach.mail.tokens import Purpose, click_url, contact_token, make_token, read_click
from outreach.web import create_app

SLUG = "clicky"
GUIDE = "https://guide.example.org/buying-social?x=1&y=2"
REGISTER = "https://register.example.com/bsi?day=1&lang=pl"
SURVEY = "https://survey.example.org/?org="
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
POLES = [f"buyer{n}@gmina{n}.example.org" for n in range(6)]
IRISH = "aoife@council.example.org"

TOML = f"""name = "Clicks test"
layout = "invitation"
track_clicks = true

[events.PL]
title = "Dzień szkoleniowy"
venue = "Centrum Konferencyjne"
starts = 2027-03-18T09:30:00
ends = 2027-03-18T16:00:00
timezone = "Europe/Warsaw"
registration_url = "{REGISTER}"

[events.IE]
title = "Training day"
venue = "Fairshare Quay Conference Centre"
starts = 2027-04-22T10:00:00
ends = 2027-04-22T12:00:00
timezone = "Europe/Dublin"
"""
BODY = f"""+++
subject = "Guide"
preheader = "Read it."
+++
Read [the guide]({GUIDE}) before the training.

Questions: [write to us](mailto:team@bsi.example.org), [sign up a colleague]({{{{ links.view_url }}}}) or
[answer the survey]({SURVEY}{{{{ contact.organisation }}}}).
"""


@pytest.fixture
def campaigns(tmp_path: Path) -> Path:
    folder = tmp_path / "campaigns" / SLUG
    folder.mkdir(parents=True)
    (folder / "campaign.toml").write_text(TOML, encoding="utf-8")
    (folder / "en.md").write_text(BODY, encoding="utf-8")
    return folder.parent


@pytest.fixture
def site(db_path: Path, tmp_path: Path, smtpd, campaigns: Path) -> Iterator[tuple[str, FakeClock]]:
    """The pages on a real uvicorn server whose public URL is itself; its clock is set after the send."""
    db = open_database(db_path)
    for email in POLES:
        insert_contact(db, FakeClock(), email, clean_fields({"kind": "authority", "country": "PL",
                                                            "organisation": f"Gmina {email[5]}"}))
    insert_contact(db, FakeClock(), IRISH, clean_fields({"kind": "supplier", "country": "IE"}))
    db.close()
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = web_settings(db_path, tmp_path, smtpd.env(), public_url=base)
    clock = FakeClock(datetime(2099, 1, 1, tzinfo=UTC))  # long after the send: no hit falls in the scanner window
    with running_server(create_app(settings, clock=clock), sock):
        yield base, clock


def send(runner, base: str, campaigns: Path, smtpd) -> None:
    env = {"OUTREACH_FROM": "Buying for Social Impact <news@bsi.example.org>", "OUTREACH_SECRET_KEY": SECRET,
           "OUTREACH_PUBLIC_URL": base, "OUTREACH_ORGANISATION": "Buying for Social Impact",
           "OUTREACH_POSTAL_ADDRESS": "Rue de l'Exemple 1, 1000 Bruxelles, Belgium",
           "OUTREACH_CAMPAIGNS": str(campaigns), "OUTREACH_TEMPLATES": str(REPO / "templates" / "emails"),
           **smtpd.env()}
    result = runner("send", SLUG, "--yes", env=env)
    assert result.exit_code == 0, result.output


def received(smtpd) -> dict[str, tuple[str, str]]:
    """Recipient → (HTML part, text part) of every message the SMTP server received."""
    parts = {}
    for item in smtpd.messages:
        message = item.message()
        parts[item.rcpt_tos[0]] = (message.get_body(("html",)).get_content(),
                                   message.get_body(("plain",)).get_content())
    return parts


def tracked(text: str, base: str) -> list[str]:
    return re.findall(re.escape(base) + r"/l/[A-Za-z0-9_.\-]+", text)


def sign(payload: dict, secret: str = SECRET) -> str:
    from itsdangerous import URLSafeSerializer

    return str(URLSafeSerializer(secret, salt="outreach/click").dumps(payload))


def click(url: str, agent: str = BROWSER, method: str = "GET") -> httpx.Response:
    return httpx.request(method, url, headers={"user-agent": agent}, follow_redirects=False)


def report(runner, *args: str) -> dict:
    result = runner("report", "--clicks", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return {(r["link"], r["country"], r["language"]): r for r in json.loads(result.stdout)["rows"]}


def test_clicks_from_received_mail_are_counted_per_variant_never_per_person(
        runner, smtpd, site, campaigns, db_path) -> None:
    base, _ = site
    send(runner, base, campaigns, smtpd)
    mails = received(smtpd)
    assert set(mails) == {*POLES, IRISH}
    html, text = mails[POLES[0]]
    links = tracked(html, base)
    assert len(links) == 2 and tracked(text, base) == links  # the guide and the event's registration button
    targets = {read_click(SECRET, link.rsplit("/", 1)[1]) for link in links}
    assert targets == {Target(SLUG, GUIDE, "en", "PL", "authority"), Target(SLUG, REGISTER, "en", "PL", "authority")}
    assert GUIDE.replace("&", "&amp;") not in html and GUIDE not in text
    # Not tracked: the mailto, our own pages, a link holding a personal value, the unsubscribe links.
    assert "mailto:team@bsi.example.org" in html and f"{SURVEY}Gmina" in html and "/unsubscribe/" in html
    assert f"{base}/archive/{SLUG}/en" in html
    for email in POLES[1:]:  # one token per variant: the same links in every Polish authority's message
        assert tracked(mails[email][0], base) == links and email not in " ".join(links)
    irish = tracked(mails[IRISH][0], base)
    assert [read_click(SECRET, link.rsplit("/", 1)[1]) for link in irish] == [
        Target(SLUG, GUIDE, "en", "IE", "supplier")]

    guide = next(link for link in links if read_click(SECRET, link.rsplit("/", 1)[1]).url == GUIDE)
    for _ in POLES:
        answer = click(guide)
        assert answer.status_code == 302 and answer.headers["location"] == GUIDE
        assert answer.headers["cache-control"] == "no-store"
    assert click(irish[0]).headers["location"] == GUIDE
    assert click(guide, method="HEAD").status_code == 302  # a scanner's HEAD still gets its answer …
    assert click(guide, agent="Mimecast Safe Links/2.0").status_code == 302
    assert click(guide, agent="").status_code == 302

    counts = report(runner, SLUG)
    assert counts[(GUIDE, "PL", "en")]["clicks"] == 6  # … but is counted apart
    assert counts[(GUIDE, "PL", "en")]["scanner_hits"] == "<5"
    assert counts[(GUIDE, "IE", "en")]["clicks"] == "<5"  # one click from Ireland: suppressed
    assert (REGISTER, "PL", "en") not in counts
    db = open_database(db_path)
    rows = db.execute("SELECT * FROM link_clicks").fetchall()
    stored = json.dumps(rows)
    assert not any(email in stored for email in [*POLES, IRISH]) and "127.0.0.1" not in stored
    assert "Mozilla" not in stored and "Mimecast" not in stored
    assert db.execute("SELECT sum(clicks), sum(scanner_hits) FROM link_clicks").fetchone() == (7, 3)


def test_a_hit_within_seconds_of_the_send_is_a_scanner(runner, smtpd, site, campaigns, db_path) -> None:
    base, clock = site
    send(runner, base, campaigns, smtpd)
    sent_at = open_database(db_path).execute("SELECT max(sent_at) FROM deliveries WHERE country = 'PL'").fetchone()[0]
    clock._now = datetime.fromisoformat(sent_at.replace("Z", "+00:00"))
    clock.advance(5)
    link = tracked(received(smtpd)[POLES[0]][0], base)[0]
    assert click(link).status_code == 302
    clock.advance(120)
    assert click(link).status_code == 302
    db = open_database(db_path)
    assert db.execute("SELECT sum(clicks), sum(scanner_hits) FROM link_clicks").fetchone() == (1, 1)


def test_bad_tokens_are_404_and_never_redirect(site, settings) -> None:
    base, _ = site
    good = click_url(settings.with_overrides(public_url=base), SECRET, Target(SLUG, GUIDE, "en", "PL", "authority"))
    token = good.rsplit("/", 1)[1]
    assert click(good).status_code == 302
    tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    payload = {"k": SLUG, "u": GUIDE, "l": "en", "c": "PL", "t": "authority"}
    assert click(f"{base}/l/{sign(payload)}").headers["location"] == GUIDE  # the helper signs as outreach does
    forged = sign({**payload, "u": "https://evil.example.net/"}, "another-secret-that-is-long-enough-to-sign-0123")
    other_purpose = make_token(SECRET, Purpose.UNSUBSCRIBE, {**payload, "u": "https://evil.example.net/"})
    foreign = contact_token(SECRET, Purpose.UNSUBSCRIBE, 1, "someone@example.org", SLUG)
    script = sign({**payload, "u": "javascript:alert(1)"})
    header = sign({**payload, "u": "https://evil.example.net/\r\nSet-Cookie: x=1"})
    not_a_target = sign({"k": SLUG, "u": "https://evil.example.net/"})
    for bad in (tampered, token[: len(token) // 2], forged, other_purpose, foreign, script, header, not_a_target, "x",
                token + "."):
        answer = click(f"{base}/l/{bad}")
        assert answer.status_code == 404, bad
        assert "location" not in answer.headers and "evil.example.net" not in answer.text
        assert answer.headers["x-content-type-options"] == "nosniff"  # the security headers, errors included


def test_report_suppresses_small_counts_and_names_unknown_campaigns(runner, db_path) -> None:
    from outreach.db.clicks import add_click
    from outreach.models.clicks import ClickVariant

    db = open_database(db_path)
    for count, country in ((5, "PL"), (4, "CZ"), (1, "DK")):
        for _ in range(count):
            add_click(db, ClickVariant(SLUG, GUIDE, "en", country, "authority"), "2027-01-10", scanner=False)
    add_click(db, ClickVariant(SLUG, GUIDE, "en", "PL", "supplier"), "2027-02-01", scanner=False)
    db.close()
    counts = report(runner)
    assert [counts[(GUIDE, c, "en")]["clicks"] for c in ("PL", "CZ", "DK")] == [6, "<5", "<5"]
    assert report(runner, "--until", "2027-01-31")[(GUIDE, "PL", "en")]["clicks"] == 5
    assert report(runner, "--since", "2027-03-01") == {}
    table = runner("report", "--clicks")
    assert table.exit_code == 0 and "<5" in table.stdout and "\t4\t" not in table.stdout
    csv = runner("report", "--clicks", "--format", "csv")
    assert csv.stdout.splitlines()[0] == "campaign,link,country,language,clicks,scanner_hits"
    assert runner("report", "--clicks", "--by", "kind").exit_code != 0
    assert runner("report", "--clicks", "--format", "html").exit_code == 2
    unknown = runner("report", "--clicks", "clickie")
    assert unknown.exit_code != 0 and "did you mean clicky" in unknown.output


@pytest.mark.parametrize("slug", ["tiny", "event"])
def test_tracked_fast_render_equals_the_reference_render(settings, slug: str) -> None:
    from benchmarks.reference_render import render_full
    from outreach.campaigns.folder import load_campaign
    from outreach.contacts.model import Contact
    from outreach.render.renderer import Links, Renderer

    data = Path(__file__).parent / "data" / "campaigns"
    fixtures = settings.with_overrides(campaigns_dir=data, templates_dir=data / "_layouts")
    campaign = load_campaign(fixtures, slug)
    campaign.track_clicks = True
    renderer = Renderer(fixtures, campaign)
    links = Links("https://news.example.org/unsubscribe/t1", "https://news.example.org/preferences/t2",
                  "https://news.example.org/archive/x/en")
    seen = set()
    for language in campaign.languages:
        for country in ("PL", "IE"):
            person = Contact(id=7, email="anna@gmina.example.org", kind="authority", country=country,
                             language=language, name="Ł\"ódź'& <b>", organisation="{{7*7}}")
            fast = renderer.variant(language, "authority").render(person, links)
            assert fast == render_full(fixtures, campaign, language, "authority", person, links)
            seen |= set(re.findall(r"https://news\.example\.org/l/[\w.\-]+", fast.html + fast.text))
            assert "https://bsi.example.eu/" not in fast.html + fast.text  # written out or as {{ event.… }}
    assert seen


def test_track_clicks_must_be_a_boolean_naming_its_line(settings, campaigns: Path) -> None:
    from outreach.campaigns.folder import load_campaign
    from outreach.errors import InputError

    toml = campaigns / SLUG / "campaign.toml"
    toml.write_text(TOML.replace("track_clicks = true", 'track_clicks = "yes"'), encoding="utf-8")
    with pytest.raises(InputError, match=r"campaign\.toml:3: track_clicks must be true or false"):
        load_campaign(settings.with_overrides(campaigns_dir=campaigns), SLUG)
    toml.write_text(TOML.replace("track_clicks = true\n", ""), encoding="utf-8")
    assert load_campaign(settings.with_overrides(campaigns_dir=campaigns), SLUG).track_clicks is False


def test_text_links_are_replaced_whole_only() -> None:
    from outreach.render.clicks import replace_links

    urls = ["https://a.example.org/x", "https://a.example.org/x(y)"]
    text = ("See https://a.example.org/x. Or (https://a.example.org/x(y)), not https://a.example.org/x/z "
            "nor https://a.example.org/x.html; https://a.example.org/x\n")
    out = replace_links(text, urls, lambda i: f"<{i}>", html=False)
    assert out == "See <0>. Or (<1>), not https://a.example.org/x/z nor https://a.example.org/x.html; <0>\n"
    html = '<a href="https://a.example.org/x" class="b">x</a> <a class="c" href=\'https://a.example.org/x(y)\'>'
    assert replace_links(html, urls, lambda i: f"T{i}", html=True) == \
        '<a href="T0" class="b">x</a> <a class="c" href="T1">'


def test_the_access_log_keeps_no_click_token() -> None:
    """A click token names no reader, but next to the client's address in a log it would say who clicked what."""
    from outreach.web.security import redact_tokens

    line = '127.0.0.1:5000 - "GET /l/eyJrIjoiY2xpY2t5In0.abc_DEF-1 HTTP/1.1" 302'
    assert redact_tokens(line) == '127.0.0.1:5000 - "GET /l/… HTTP/1.1" 302'
