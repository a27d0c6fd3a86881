"""What each figure of the reports means: one definition per figure, in one place.

The table, CSV, JSON and HTML reports and the KPI pack all compute their figures from these definitions, print
them as footnotes (HTML), carry them along (JSON, the XLSX `Definitions` sheet, the KPI CSV) and docs/tracking.md
quotes them word for word (tests/test_report_definitions.py checks that, and pins each one on a hand-built
database).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Definition:
    """A figure's name as reports print it, and what it counts."""

    label: str
    text: str


DEFINITIONS: dict[str, Definition] = {
    "period": Definition(
        "Period", "A message belongs to the period of its sending date (its queue date while it is not sent); its "
        "bounces, complaints and unsubscribes count whenever they arrived."),
    "targeted": Definition(
        "Targeted", "Messages queued for a contact (one per campaign and person), whatever became of them."),
    "sent": Definition("Sent", "Messages the mail relay accepted."),
    "failed": Definition(
        "Failed", "Messages the relay refused for good while sending (for example an unknown mailbox); they were "
        "never sent, so they are in no rate."),
    "unknown": Definition(
        "Unknown", "Messages whose sending was interrupted, so that it is not known whether the relay took them."),
    "pending": Definition("Pending", "Messages still queued or being sent."),
    "delivered": Definition(
        "Delivered", "Sent minus hard bounces: sent messages for which no permanent failure came back."),
    "bounced": Definition(
        "Hard bounces", "Sent messages for which a permanent delivery failure (5.x.x) came back afterwards."),
    "soft_bounced": Definition(
        "Soft bounces", "Sent messages for which only a transient failure (4.x.x, such as a full mailbox) came back; "
        "they count as delivered."),
    "complained": Definition("Complaints", "Sent messages the recipient reported as spam."),
    "unsubscribed": Definition("Unsubscribes", "Sent messages after which the recipient unsubscribed."),
    "delivered_rate": Definition("Delivered rate", "Delivered over sent."),
    "bounce_rate": Definition("Bounce rate", "Hard bounces over sent."),
    "complaint_rate": Definition("Complaint rate", "Complaints over sent."),
    "unsubscribe_rate": Definition("Unsubscribe rate", "Unsubscribes over sent."),
    "reached_people": Definition(
        "People reached", "Distinct persons with at least one delivered message in the period, counted in the "
        "country and audience their message was addressed to. Erased persons are counted without identity: in "
        "each group, as the most of them that one campaign reached, so no one is counted twice."),
    "reached_organisations": Definition(
        "Organisations reached", "Distinct organisations with at least one delivered message in the period: "
        "organisation names as the contacts hold them now, compared without case and surrounding spaces, per "
        "country. Contacts without an organisation name, and erased persons, add no organisation."),
    "campaigns_sent": Definition(
        "Campaigns sent", "Campaigns with at least one message sent in the period, with the languages they were "
        "sent in."),
    "invited": Definition(
        "Invited", "Invitations sent (accepted by the relay) of a campaign with event sessions, whenever they were "
        "sent, counted in the country of the invitation."),
    "registered": Definition(
        "Registered", "Persons holding a place at a session of the event (not those on the waiting list, nor "
        "those who declined or cancelled), in the country of their invitation, else of their contact record, else "
        "of the session."),
    "attended": Definition(
        "Attended", "Persons recorded as present at a session (from the sign-in sheet), counted like registered."),
    "subscribers_gained": Definition(
        "Sign-ups", "Distinct persons who confirmed a sign-up (double opt-in) in the period."),
    "subscribers_lost": Definition(
        "Unsubscribed persons", "Distinct persons who unsubscribed in the period, by any route (link, mail, "
        "page)."),
    "consent_basis": Definition(
        "Consent basis held", "Contacts that may be mailed (status active) when the pack is made, by the legal "
        "basis recorded for them; the database keeps no past states, so this is not a figure of the period."),
    "bounces_cleaned": Definition(
        "Bounces cleaned", "Addresses taken off the list in the period because mail to them failed for good: "
        "refused while sending, a hard bounce that came back, or repeated soft bounces across campaigns."),
}


def definition(name: str) -> Definition:
    """The definition of one figure (KeyError for a name without one: every figure shown must have one)."""
    return DEFINITIONS[name]


def as_document(names: tuple[str, ...] | None = None) -> dict[str, str]:
    """`{figure: definition text}` for the JSON documents (every figure when `names` is None)."""
    return {name: DEFINITIONS[name].text for name in (names or tuple(DEFINITIONS))}
