"""Segments: a body cut into blocks and put back byte for byte, locked codes, revisions that ignore link targets."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.campaigns.segments import Code, blocks_of, join, parse_body, prose_revision, rebuild, tokenize

PIECES = st.sampled_from([
    "word", " ", "Zażółć", "**", "[", "]", "(", ")", "{{ event.title }}", "{% if contact.name %}", "{% endif %}",
    "https://bsi.example.org/x", "<b>", "</b>", "[label](https://bsi.example.org/a)", "![alt]({{ links.view_url }})",
    "<https://example.org>", "{# note #}", ".", "…", "|", "#", "- ", "1. ", "> ", "```", "\t", "---", "\r", "\u2028",
])
LINES = st.lists(st.lists(PIECES, max_size=8).map("".join), max_size=12)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)  # the machine is shared: no timing here
@given(LINES, st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_a_body_is_rebuilt_byte_for_byte(lines: list[str], end: str, final: bool) -> None:
    body = end.join(lines) + (end if final else "")
    layout = parse_body(body)
    assert rebuild(layout, [block.text for block in blocks_of(layout)]) == body


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(PIECES, max_size=20).map("".join))
def test_tokenize_keeps_every_character_and_pairs_codes(text: str) -> None:
    parts = tokenize(text)
    assert join(parts) == text
    opened: list[str] = []
    for part in parts:
        if isinstance(part, Code) and part.role == "open":
            opened.append(part.id)
        elif isinstance(part, Code) and part.role == "close":
            assert opened.pop() == part.id
    assert not opened


def test_blocks_and_their_context() -> None:
    body = ("Intro with {{ event.title }}.\nSecond line.\n\n## Heading\n\n{% if contact.kind == \"authority\" %}\n"
            "- item one\n- item [two](https://example.org/2)\n{% endif %}\n")
    blocks = blocks_of(parse_body(body))
    assert [(b.kind, b.text, b.line) for b in blocks] == [
        ("paragraph", "Intro with {{ event.title }}.\nSecond line.", 1), ("heading 2", "Heading", 4),
        ("list item", "item one", 7), ("list item", "item [two](https://example.org/2)", 8)]
    assert blocks[2].context == 'if contact.kind == "authority"' and blocks[0].context == ""
    assert [(p.role, p.text) for p in tokenize(blocks[3].text) if isinstance(p, Code)] == [
        ("open", "["), ("close", "](https://example.org/2)")]


def test_a_link_target_or_url_does_not_change_the_revision_but_words_and_jinja_do() -> None:
    text = "Please [register]({{ event.registration_url }}) at https://bsi.example.org/a for {{ event.title }}."
    same = prose_revision(text)
    assert prose_revision(text.replace("{{ event.registration_url }}", "https://bsi.example.org/r")) == same
    assert prose_revision(text.replace("https://bsi.example.org/a", "https://bsi.example.org/b")) == same
    assert prose_revision(text.replace("Please", "Kindly")) != same
    assert prose_revision(text.replace("event.title", "event.venue")) != same
    assert prose_revision(text.replace("[register]", "[sign up]")) != same
