"""The pages behind the links in every email: unsubscribe (RFC 8058), preferences, erasure; and the archive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from web_support import csrf_of, form_of, link_in, web_settings

from outreach.contacts.model import get_contact, get_contact_by_id, insert_contact, is_suppressed
from outreach.countries import EU_LANGUAGES
from outreach.db.schema import open_database
from outreach.mail.tokens import Purpose, contact_token, unsubscribe_url
from outreach.models import ContactStatus
from outreach.web import create_app
from outreach.web.lang import choose_language, parse_accept_language

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture
def site(db_path: Path, tmp_path: Path, smtpd, clock):
    from starlette.testclient import TestClient

    settings = web_settings(db_path, tmp_path, smtpd.env())
    with TestClient(create_app(settings, clock=clock), base_url="https://news.example.org") as client:
        yield settings, client


@pytest.fixture
def person(db_path, clock):
    """An active contact who reads Greek, with topics and a consent record; also a campaign that was sent."""
    db = open_database(db_path)
    contact = insert_contact(db, clock, "eleni@dimos.example.org", {
        "name": "Ελένη Παπαδοπούλου", "organisation": "Δήμος Θεσσαλονίκης", "kind": "authority", "country": "GR",
        "language": "el", "topics": ["Events", "Retired topic"], "consent_basis": "consent",
        "consent_source": "web form", "consent_at": "2026-11-20T10:00:00Z"})
    db.execute("INSERT INTO campaigns (slug, name, source_language, content_hashes, created_at, first_sent_at, "
               "last_sent_at) VALUES ('bsi-awareness', 'Buying for Social Impact', 'en', ?, ?, ?, ?)",
               [json.dumps({"en": "h1", "el": "h2"}), "2026-11-01T08:00:00Z", "2026-11-02T08:00:00Z",
                "2026-11-02T08:00:00Z"])
    db.close()
    return contact


def path_of(settings, url: str) -> str:
    return url[len(settings.public_url):]


def unsubscribe_path(settings, contact, campaign="bsi-awareness") -> str:
    return path_of(settings, unsubscribe_url(settings, settings.secret_key, contact.id, contact.email, campaign))


def token_path(settings, purpose: Purpose, contact) -> str:
    return f"/{purpose.value}/" + contact_token(settings.secret_key, purpose, contact.id, contact.email)


def load(db_path, contact_id):
    db = open_database(db_path)
    try:
        return get_contact_by_id(db, contact_id)
    finally:
        db.close()


def unsubscribe_events(db_path) -> list[tuple]:
    db = open_database(db_path)
    try:
        return [tuple(r) for r in db.execute("SELECT contact_id, campaign, source FROM events WHERE type = "
                                              "'unsubscribed'")]
    finally:
        db.close()


# --- unsubscribe -----------------------------------------------------------------------------------------------


def test_get_shows_a_button_and_changes_nothing(site, person, db_path) -> None:
    settings, client = site
    page = client.get(unsubscribe_path(settings, person))
    assert page.status_code == 200 and 'lang="el"' in page.text
    assert "Διαγραφή από τη λίστα" in page.text
    # A forwarded link shows no personal data: the address only masked, enough for its owner to recognise it.
    assert "e•••@dimos.example.org" in page.text and "eleni@" not in page.text
    assert load(db_path, person.id).status == ContactStatus.ACTIVE


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_rfc8058_one_click_post(site, person, db_path, encoding) -> None:
    settings, client = site
    client.cookies.clear()  # mail providers send no cookies and no CSRF token
    path = unsubscribe_path(settings, person)
    if encoding == "urlencoded":
        response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    else:
        response = client.post(path, files={"List-Unsubscribe": (None, "One-Click")})
    assert response.status_code == 200
    assert load(db_path, person.id).status == ContactStatus.UNSUBSCRIBED
    db = open_database(db_path)
    assert is_suppressed(db, person.email)
    db.close()
    assert unsubscribe_events(db_path) == [(person.id, "bsi-awareness", "one-click")]
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # again: idempotent
    assert len(unsubscribe_events(db_path)) == 1


def test_one_click_with_a_forged_token(site, person, db_path) -> None:
    settings, client = site
    path = unsubscribe_path(settings, person)
    response = client.post(path[:-4] + "AAAA", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400
    assert load(db_path, person.id).status == ContactStatus.ACTIVE


def test_token_for_another_purpose_is_refused(site, person, db_path) -> None:
    settings, client = site
    prefs_token = token_path(settings, Purpose.PREFERENCES, person).rsplit("/", 1)[1]
    assert client.post("/unsubscribe/" + prefs_token, data={"List-Unsubscribe": "One-Click"}).status_code == 400
    assert load(db_path, person.id).status == ContactStatus.ACTIVE


def test_page_unsubscribe_needs_csrf_then_offers_resubscribe(site, person, db_path, smtpd) -> None:
    settings, client = site
    path = unsubscribe_path(settings, person, campaign=None)
    page = client.get(path)
    assert client.post(path, data={"List-Unsubscribe": "no"}).status_code == 403
    assert client.post(path, data={}).status_code == 403
    assert load(db_path, person.id).status == ContactStatus.ACTIVE
    done = client.post(path, data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200 and "Διαγραφήκατε από τη λίστα" in done.text
    assert load(db_path, person.id).status == ContactStatus.UNSUBSCRIBED
    assert unsubscribe_events(db_path) == [(person.id, None, "web")]

    # "Subscribe again" after a mistake: back in only through a confirmation mail (the link may be forwarded).
    action = done.text.split('action="')[1].split('"')[0]
    assert action.endswith("/resubscribe?lang=el")
    sent = client.post(action, data={"csrf_token": csrf_of(done.text)})
    assert sent.status_code == 200 and "e•••@dimos.example.org" in sent.text and "eleni@" not in sent.text
    assert load(db_path, person.id).status == ContactStatus.UNSUBSCRIBED
    mail = smtpd.messages[-1].message()
    assert mail["Subject"] == "Παρακαλούμε επιβεβαιώστε την εγγραφή σας"
    confirm = link_in(mail.get_body(("plain",)).get_content(), "confirm")
    client.post(confirm, data={"csrf_token": csrf_of(client.get(confirm).text)})
    back = load(db_path, person.id)
    assert back.status == ContactStatus.ACTIVE and back.name == person.name
    db = open_database(db_path)
    assert not is_suppressed(db, person.email)
    types = [r[0] for r in db.execute("SELECT type FROM events WHERE contact_id = ? ORDER BY id", [person.id])]
    db.close()
    assert types == ["unsubscribed", "resubscribed", "confirmed"]


def test_unsubscribe_link_names_a_campaign_that_does_not_exist(site, person, db_path) -> None:
    settings, client = site
    client.post(unsubscribe_path(settings, person, campaign="never-sent"), data={"List-Unsubscribe": "One-Click"})
    assert unsubscribe_events(db_path) == [(person.id, None, "one-click")]


# --- preferences -----------------------------------------------------------------------------------------------


PERSONAL = ("eleni@", "Ελένη", "Παπαδοπούλου", "Δήμος Θεσσαλονίκης", "Ελλάδα", "Δώσατε τη συγκατάθεσή σας", "web form",
            "Retired topic")


def test_preferences_from_a_mail_link_show_no_personal_data(site, person) -> None:
    """Issue 15 item 4: a forwarded preferences link showed name, organisation and consent record."""
    settings, client = site
    page = client.get(token_path(settings, Purpose.PREFERENCES, person))
    assert page.status_code == 200 and 'lang="el"' in page.text
    assert [shown for shown in PERSONAL if shown in page.text] == []
    assert "e•••@dimos.example.org" in page.text
    # The choices the link's holder may change are there, as they are now.
    assert '<option value="el" lang="el" selected>' in page.text
    assert 'value="authority" checked' in page.text and 'value="Events" checked' in page.text
    assert "/erase" not in page.text and 'action="/preferences/' in page.text
    assert page.headers["cache-control"] == "no-store"


def data_link_from(smtpd) -> str:
    """The /data/<token> link of the last mail, after checking the mail itself carries no other way in."""
    mail = smtpd.messages[-1].message()
    return link_in(mail.get_body(("plain",)).get_content(), "data")


def ask_for_data_link(client, prefs: str):
    page = client.get(prefs)
    return client.post(prefs + "/data", data={"csrf_token": csrf_of(page.text)})


def test_data_and_erasure_only_through_a_fresh_link_to_the_address(site, person, smtpd, db_path) -> None:
    settings, client = site
    prefs = token_path(settings, Purpose.PREFERENCES, person)
    assert client.get(prefs + "/erase").status_code == 404  # the old erase page of a forwardable link is gone
    assert client.post(prefs + "/data", data={}).status_code == 403 and smtpd.messages == []  # CSRF as always

    sent = ask_for_data_link(client, prefs)
    assert sent.status_code == 200 and "e•••@dimos.example.org" in sent.text
    assert [shown for shown in PERSONAL if shown in sent.text] == []
    assert "1 ώρα" in sent.text  # "valid for 1 hour", in Greek
    assert len(smtpd.messages) == 1 and smtpd.messages[0].rcpt_tos == [person.email]
    mail = smtpd.messages[0].message()
    assert mail["Subject"] == "Ο σύνδεσμός σας για να δείτε ή να διαγράψετε τα δεδομένα σας"
    assert mail["To"].addresses[0].display_name == "Ελένη Παπαδοπούλου" and mail["Content-Language"] == "el"
    data = data_link_from(smtpd)
    assert data in mail.get_body(("html",)).get_content()

    shown = client.get(data)  # the owner, from the mail: everything held
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    assert [item for item in PERSONAL if item not in shown.text] == [] and "eleni@dimos.example.org" in shown.text
    assert load(db_path, person.id) is not None  # GETs change nothing

    ask = client.get(data + "/erase")
    assert ask.status_code == 200 and load(db_path, person.id) is not None
    assert client.post(data + "/erase", data={}).status_code == 403 and load(db_path, person.id) is not None
    done = client.post(data + "/erase", data={"csrf_token": csrf_of(ask.text)})
    assert done.status_code == 200 and "Τα δεδομένα σας διαγράφηκαν" in done.text
    db = open_database(db_path)
    assert get_contact(db, person.email) is None and is_suppressed(db, person.email)
    assert db.execute("SELECT count(*) FROM events WHERE contact_id IS NOT NULL").fetchone()[0] == 0
    db.close()
    # Every old link now says so, in the reader's browser language, with 410 Gone.
    gone = client.get(prefs, headers={"accept-language": "nl"})
    assert gone.status_code == 410 and "Deze link werkt niet meer" in gone.text
    assert client.get(data).status_code == 410
    assert client.get(unsubscribe_path(settings, person)).status_code == 410
    # A provider's one-click POST for an erased address succeeds: nothing is mailed there, as was asked.
    assert client.post(unsubscribe_path(settings, person), data={"List-Unsubscribe": "One-Click"}).status_code == 200


def test_data_link_expires_after_an_hour(site, person, smtpd, db_path, clock) -> None:
    settings, client = site
    ask_for_data_link(client, token_path(settings, Purpose.PREFERENCES, person))
    data = data_link_from(smtpd)
    assert client.get(data).status_code == 200
    clock.advance(3601)
    for response in (client.get(data), client.get(data + "/erase", headers={"accept-language": "de"})):
        assert response.status_code == 410 and "Ελένη" not in response.text
    assert "1 Stunde gültig" in client.get(data + "/erase?lang=de").text
    token = csrf_of(client.get(token_path(settings, Purpose.PREFERENCES, person)).text)
    assert client.post(data + "/erase", data={"csrf_token": token}).status_code == 410
    assert load(db_path, person.id) is not None


def test_other_tokens_do_not_open_the_data(site, person, smtpd) -> None:
    settings, client = site
    for purpose in (Purpose.PREFERENCES, Purpose.UNSUBSCRIBE):
        token = token_path(settings, purpose, person).rsplit("/", 1)[1]
        assert client.get("/data/" + token).status_code == 400
    data = token_path(settings, Purpose.DATA, person)  # signed, but without the expiry the pages sign in
    assert client.get(data).status_code == 400
    ask_for_data_link(client, token_path(settings, Purpose.PREFERENCES, person))
    mailed = data_link_from(smtpd)
    assert client.get(mailed).status_code == 200
    assert client.get(mailed[:-4] + ("AAAA" if not mailed.endswith("AAAA") else "BBBB")).status_code == 400


def test_data_links_are_limited_per_address(site, person, smtpd) -> None:
    settings, client = site
    prefs = token_path(settings, Purpose.PREFERENCES, person)
    statuses = [ask_for_data_link(client, prefs).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429] and len(smtpd.messages) == 3


def test_preferences_change_language_kind_topics(site, person, db_path) -> None:
    settings, client = site
    path = token_path(settings, Purpose.PREFERENCES, person)
    data = form_of(client, path, language="fr", kind="supplier", topics=["Reserved contracts", "Not offered"])
    saved = client.post(path, data=data)
    assert saved.status_code == 200 and 'lang="fr"' in saved.text
    assert "Vos préférences ont été enregistrées." in saved.text and 'role="status"' in saved.text
    after = load(db_path, person.id)
    assert (after.language, after.kind) == ("fr", "supplier")
    assert after.topics == ["Reserved contracts", "Retired topic"]  # offered ones as chosen, others kept


def test_preferences_reject_bad_values_and_missing_csrf(site, person, db_path) -> None:
    settings, client = site
    path = token_path(settings, Purpose.PREFERENCES, person)
    bad = client.post(path, data=form_of(client, path, language="tlh", kind="emperor"))
    assert bad.status_code == 400 and 'role="alert"' in bad.text
    assert client.post(path, data={"language": "fr", "kind": "supplier"}).status_code == 403
    assert load(db_path, person.id).language == "el"


def test_link_dies_when_the_address_changes(site, person, db_path) -> None:
    settings, client = site
    path = token_path(settings, Purpose.PREFERENCES, person)
    db = open_database(db_path)
    db.execute("UPDATE contacts SET email = 'new.address@example.org' WHERE id = ?", [person.id])
    db.close()
    assert client.get(path).status_code == 410


# --- archive ---------------------------------------------------------------------------------------------------


def test_archive_lists_only_sent_campaigns(site, person, db_path) -> None:
    _, client = site
    db = open_database(db_path)
    db.execute("INSERT INTO campaigns (slug, name, source_language, created_at) VALUES ('draft', 'Secret draft', "
               "'en', '2026-11-03T08:00:00Z')")
    db.close()
    page = client.get("/archive/?lang=de")
    assert page.status_code == 200 and 'lang="de"' in page.text
    assert "Buying for Social Impact" in page.text and "Secret draft" not in page.text
    assert 'href="/archive/bsi-awareness/el"' in page.text and "Ελληνικά" in page.text
    assert "2. November 2026" in page.text
    assert client.get("/archive/draft/en").status_code == 404
    assert client.get("/archive/bsi-awareness/pl").status_code == 404  # not sent in Polish
    assert client.get("/archive", follow_redirects=False).headers["location"] == "https://news.example.org/archive/"


def test_archive_web_version_has_no_personal_data(site, person) -> None:
    pytest.importorskip("outreach.render.renderer")
    _, client = site
    page = client.get("/archive/bsi-awareness/el")
    assert page.status_code == 200
    assert "Ελένη" not in page.text and "eleni@" not in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp


# --- language choice -------------------------------------------------------------------------------------------


@given(st.text(max_size=200))
def test_accept_language_parser_never_fails(header: str) -> None:
    result = parse_accept_language(header)
    assert set(result) <= set(EU_LANGUAGES) and len(result) == len(set(result))


@given(st.lists(st.tuples(st.sampled_from([*EU_LANGUAGES, "ja", "zh", "*"]),
                          st.sampled_from(["", "-PL", "-at"]),
                          st.sampled_from([None, 0, 0.1, 0.5, 1]))))
def test_accept_language_respects_quality(parts) -> None:
    header = ", ".join(f"{tag}{region}" + ("" if q is None else f";q={q}") for tag, region, q in parts)
    result = parse_accept_language(header)
    allowed = [(tag, 1 if q is None else q) for tag, _, q in parts if tag in EU_LANGUAGES]
    assert all(any(t == lang and q > 0 for t, q in allowed) for lang in result)
    if result:
        best = max(q for t, q in allowed if t in result)
        assert max(q for t, q in allowed if t == result[0]) == best


def test_language_choice_order() -> None:
    assert choose_language("pl", "el", "de") == "pl"
    assert choose_language(None, "el", "de") == "el"
    assert choose_language("xx", "is", "de;q=0.5, sv") == "sv"  # Icelandic: an EEA language, not an EU one
    assert choose_language(None, "ga", "sv") == "ga"  # Irish and the other EU languages have their pages
    assert choose_language(None, None, None) == "en"


def test_accept_language_region_variants_and_fallback() -> None:
    assert parse_accept_language("pl-PL") == ["pl"]
    assert parse_accept_language("DE-at;q=0.4, fr_BE;q=0.9, ja") == ["fr", "de"]
    assert parse_accept_language("sv;q=0, sv-SE;q=0.5, en;q=nan") == ["sv"]
    assert choose_language(None, None, "pt-BR, es;q=0.9") == "pt"  # all 24 EU languages are offered
    assert choose_language(None, None, "ja, zh-CN;q=0.9") == "en"
    assert choose_language(None, None, "*, el-GR;q=0.1") == "el"


# --- structure -------------------------------------------------------------------------------------------------


def test_pages_never_import_the_app_factory() -> None:
    """No import circle: the pages reach what they share through `site_of(request)`, not the app module."""
    import subprocess
    import sys

    code = ("import sys, outreach.web.pages.subscribe, outreach.web.pages.links, outreach.web.pages.archive, "
            "outreach.web.pages.root; print('outreach.web.app' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_each_app_has_its_own_attempt_limits(db_path, tmp_path, smtpd, clock) -> None:
    from starlette.testclient import TestClient

    settings = web_settings(db_path, tmp_path, smtpd.env())

    def attempts(client) -> list[int]:
        return [client.post("/subscribe", data=form_of(client, "/subscribe", email=f"p{i}@example.org",
                                                       consent="yes")).status_code for i in range(11)]

    with TestClient(create_app(settings, clock=clock), base_url="https://news.example.org") as first:
        assert attempts(first)[-1] == 429
    with TestClient(create_app(settings, clock=clock), base_url="https://news.example.org") as second:
        assert attempts(second) == [200] * 10 + [429]
