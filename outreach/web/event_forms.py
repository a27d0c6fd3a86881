"""The public registration form of an event session: its fields, their checks and the consent it records.

People not on the list register through `/events/<slug>/<session>`. The form is double opt-in, like the
subscribe form (`outreach.web.signups`): the answer stores a sign-up (what the form said, the client, the time,
the consent statement as read) and mails a confirmation link to the address; only the POST of the page that link
opens books a place. Without that step anyone could book places — and later mails — in someone else's name,
and a script could fill a session with invented addresses.

The consent asked for is the one the registration needs (the data is used to organise this event and the
person receives its mails); the news are a separate, optional choice, as consent must be specific.
"""

from __future__ import annotations

from dataclasses import dataclass

from outreach.config import Settings
from outreach.models import Kind
from outreach.models.signups import SignupData
from outreach.web.lang import N_, PageText
from outreach.web.signups import MAX_TEXT, check_person

# Bump when the form or its statements change: the consent record names the version the person saw.
FORM_VERSION = "event-registration-form/2026-11"
EVENT_CONSENT = N_("I agree that %(organisation)s uses my data to organise this event and sends me emails about "
                   "it (confirmation, changes, reminder). My data is used for nothing else.")
NEWS_CONSENT = N_("Also send me the news of %(organisation)s by email (optional; I can unsubscribe at any time).")


@dataclass
class RegistrationValues:
    """The form's fields as typed, shown again when the form comes back with errors."""

    email: str = ""
    name: str = ""
    organisation: str = ""
    kind: str = Kind.OTHER.value
    country: str = ""
    consent: bool = False
    news: bool = False


@dataclass(frozen=True)
class Registration:
    """A checked registration: the sign-up to store, and whether the person also asked for the news."""

    data: SignupData
    news: bool


def consent_text(settings: Settings, language: str, news: bool) -> str:
    """The statements the person agreed to, in their language, as the consent record keeps them."""
    text = PageText(language)
    organisation = settings.organisation or "—"
    parts = [text.gettext(EVENT_CONSENT, organisation=organisation)]
    if news:
        parts.append(text.gettext(NEWS_CONSENT, organisation=organisation))
    return " ".join(parts)


def statements(settings: Settings, language: str) -> dict[str, str]:
    """The two checkbox labels of the form in `language`."""
    text = PageText(language)
    organisation = settings.organisation or "—"
    return {"consent_statement": text.gettext(EVENT_CONSENT, organisation=organisation),
            "news_statement": text.gettext(NEWS_CONSENT, organisation=organisation)}


def read_values(get: dict[str, str]) -> RegistrationValues:
    """The submitted fields (`get` maps a field name to its text), cut to sane lengths, before any check."""
    return RegistrationValues(
        email=get.get("email", "")[:320], name=get.get("name", "")[:MAX_TEXT * 2],
        organisation=get.get("organisation", "")[:MAX_TEXT * 2], kind=get.get("kind", Kind.OTHER.value),
        country=get.get("country", ""), consent=get.get("consent") == "yes", news=get.get("news") == "yes")


def validate(values: RegistrationValues, settings: Settings,
             language: str) -> tuple[Registration | None, dict[str, str]]:
    """(the registration, or None when a field is wrong; errors by field as msgids, translated when shown)."""
    email, clean, errors = check_person(values.email, values.name, values.organisation, values.kind, values.country)
    if not clean["name"] and "name" not in errors:
        errors["name"] = N_("Enter your name, so that we can prepare your badge and the list of participants.")
    if not values.consent:
        errors["consent"] = N_("Tick the box to agree; we cannot register you otherwise.")
    if errors:
        return None, errors
    data = SignupData(email=email, name=clean["name"], organisation=clean["organisation"], kind=Kind(values.kind),
                      country=values.country or None, language=language, topics=(),
                      consent_text=consent_text(settings, language, values.news))
    return Registration(data, values.news), errors
