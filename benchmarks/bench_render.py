"""Case 2, render + MIME build: 100,000 recipients (at `--size full`) of bsi-awareness, 15 languages × 2 kinds.

Fast path: `MessageSource.build` — what `outreach send` runs per recipient: signed links, the cached variant
(layout, Markdown and premailer done once per language × kind) filled in, and `MessageFactory` joining the
pre-built MIME pieces. One core, one thread; building the 30 variants is inside the timing.
Naive path, on a sample of the same recipients: `render_full` (Jinja2 + Markdown + premailer for every
recipient) and an `email.message.EmailMessage` per recipient (`benchmarks/reference_mail.py`).
Targets: at least 30× the naive throughput and at least 2,000 messages/s.
A breakdown of the fast path's per-message cost (links, fill-in, MIME) is added to the notes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from benchmarks.common import (
    Context,
    Row,
    fmt_n,
    fmt_rate,
    fmt_ratio,
    load_campaign,
    measure,
    median,
    new_message_source,
    people,
    prepare_campaign,
)

CASE = "render"
DATE = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def recipients(campaign: Any, n: int) -> list[tuple[Any, str, str]]:
    """(contact, language, kind) for n generated contacts: the 15 countries, authorities and suppliers."""
    from outreach.campaigns.folder import choose_language
    from outreach.contacts.model import Contact

    result = []
    for i, (email, name, organisation, role, _, country, language) in enumerate(people(n), start=1):
        kind = ("authority", "supplier")[i % 2]
        contact = Contact(id=i, email=email, name=name, organisation=organisation, role=role, kind=kind,
                          country=country, language=language)
        chosen, _ = choose_language(campaign, contact)
        result.append((contact, chosen or campaign.source_language, kind))
    return result


def fast(config: Any, campaign: Any, batch: list[tuple[Any, str, str]]) -> int:
    """Every message through the fast path; returns the bytes built."""
    source = new_message_source(config, campaign)
    size = 0
    for contact, language, kind in batch:
        size += len(source.build(contact, language, kind, source.message_id(contact.id), DATE))
    return size


def sender_info(config: Any, campaign: Any, language: str) -> Any:
    from outreach.mail.message import SenderInfo

    return SenderInfo(name=campaign.sender_name, address=campaign.sender_address,
                      reply_to=campaign.reply_to or config.reply_to,
                      list_name=campaign.organisation or campaign.sender_name,
                      unsubscribe_mailto=config.unsubscribe_mailto, language=language)


def links_for(config: Any, campaign: Any, contact: Any, language: str) -> Any:
    from outreach.mail.tokens import archive_url, preferences_url, unsubscribe_url
    from outreach.render.renderer import Links

    return Links(unsubscribe_url(config, config.secret_key, contact.id, contact.email, campaign.slug),
                 preferences_url(config, config.secret_key, contact.id, contact.email),
                 archive_url(config, campaign.slug, language))


def naive(config: Any, campaign: Any, batch: list[tuple[Any, str, str]]) -> int:
    """Every message the straightforward way: full render with premailer, then EmailMessage."""
    from benchmarks.reference_mail import build_reference
    from benchmarks.reference_render import render_full
    from outreach.mail.message import Personal, make_message_id

    size = 0
    for contact, language, kind in batch:
        links = links_for(config, campaign, contact, language)
        rendered = render_full(config, campaign, language, kind, contact, links)
        personal = Personal(contact.name, contact.email, rendered.subject, rendered.text, rendered.html,
                            links.unsubscribe_url, make_message_id("bsi.example.org", campaign.slug, contact.id),
                            DATE)
        size += len(build_reference(sender_info(config, campaign, language), [], personal))
    return size


def breakdown(config: Any, campaign: Any, batch: list[tuple[Any, str, str]]) -> dict[str, float]:
    """Microseconds per message of each step of the fast path, variants already built."""
    from outreach.mail.message import MessageFactory, Personal, make_message_id
    from outreach.render.renderer import Renderer

    renderer = Renderer(config, campaign)
    factories: dict[str, Any] = {}

    def build_variants() -> int:
        seen = set()
        for contact, language, kind in batch:  # every variant first: then only the per-message work is timed
            if (language, kind) not in seen:
                seen.add((language, kind))
                renderer.variant(language, kind).render(contact, links_for(config, campaign, contact, language))
                factories.setdefault(language, MessageFactory(sender_info(config, campaign, language)))
        return len(seen)

    variants_s, _, count = measure(build_variants)
    links_s, links = measure(lambda: [links_for(config, campaign, c, lang) for c, lang, _ in batch])[1:]
    fill_s, rendered = measure(lambda: [renderer.variant(lang, kind).render(c, link)
                                        for (c, lang, kind), link in zip(batch, links, strict=True)])[1:]
    ids = [make_message_id("bsi.example.org", campaign.slug, c.id) for c, _, _ in batch]
    mime_s = measure(lambda: [factories[lang].build(Personal(c.name, c.email, r.subject, r.text, r.html,
                                                             link.unsubscribe_url, mid, DATE))
                              for (c, lang, _), r, link, mid in zip(batch, rendered, links, ids, strict=True)])[1]
    n = len(batch)
    return {"links": links_s / n * 1e6, "fill-in": fill_s / n * 1e6, "mime": mime_s / n * 1e6,
            "variant_ms": variants_s / count * 1000, "variants": count}


def run(ctx: Context) -> list[Row]:
    import babel.dates  # noqa: F401 — libraries imported before the clock starts: both paths get them warm
    import markdown_it  # noqa: F401
    import premailer  # noqa: F401

    import outreach.delivery.sender
    import outreach.render.renderer  # noqa: F401

    prepare_campaign(ctx.work)
    config, campaign = load_campaign(ctx.work, ctx.work / "render.db")
    everyone = recipients(campaign, ctx.scale.contacts)
    # The naive sample: recipients spread evenly over the whole list, so every variant is in it.
    step = max(1, len(everyone) // ctx.scale.naive)
    sample = everyone[::step][:ctx.scale.naive]
    variants = len({(lang, kind) for _, lang, kind in everyone})
    ctx.log(f"render: {fmt_n(len(everyone))} recipients ({variants} variants) fast, {len(sample)} naive, "
            f"{ctx.runs} runs")
    fast_runs, fast_cpu, naive_runs, naive_cpu = [], [], [], []
    size = naive_size = 0
    for _ in range(ctx.runs):
        wall, cpu, size = measure(lambda: fast(config, campaign, everyone))
        fast_runs.append(len(everyone) / wall)
        fast_cpu.append(len(everyone) / cpu)
        wall, cpu, naive_size = measure(lambda: naive(config, campaign, sample))
        naive_runs.append(len(sample) / wall)
        naive_cpu.append(len(sample) / cpu)
    rate, naive_rate = median(fast_runs), median(naive_runs)
    cpu_rate = median(fast_cpu)
    parts = breakdown(config, campaign, everyone[:min(len(everyone), 3000)])
    ctx.note(CASE, f"building a variant (layout, Markdown, premailer, compiling the fill-in template) takes "
             f"{parts['variant_ms']:.0f} ms, once per language × kind ({parts['variants']} here). "
             f"Then per message: links {parts['links']:.0f} µs, "
             f"fill-in {parts['fill-in']:.0f} µs, MIME {parts['mime']:.0f} µs; average message "
             f"{size / len(everyone) / 1024:.1f} KB (naive: {naive_size / len(sample) / 1024:.1f} KB). "
             f"Per CPU second: fast {fmt_rate(cpu_rate)}, naive {fmt_rate(median(naive_cpu))}.")
    return [
        Row(CASE, f"{fmt_n(len(everyone))} recipients, {variants} variants, fast path, one core",
            fmt_rate(rate), f"naive on {len(sample)} of them: {fmt_rate(naive_rate)}",
            f"{fmt_ratio(rate / naive_rate)} naive", "≥ 30× naive, ≥ 2,000 msg/s",
            rate / naive_rate >= 30 and rate >= 2000,
            {"rate": rate, "runs": fast_runs, "cpu_rate": cpu_rate, "naive_rate": naive_rate,
             "naive_runs": naive_runs, "bytes": size, "breakdown_us": parts}),
    ]
