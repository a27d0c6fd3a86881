"""EU visibility: the emblem drawn to its construction, the setting, and the block in every layout and page footer.

Mails are sent by the real `outreach send` to aiosmtpd on 127.0.0.1 and parsed back: the HTML's <img src="cid:…">
must name the image part's Content-ID, so the emblem shows without loading anything remote.
"""

from __future__ import annotations

import math
import re
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from conftest import REPO, SECRET

from outreach.config import Settings
from outreach.contacts.model import clean_fields, insert_contact, normalize_email
from outreach.db.schema import open_database
from outreach.emblem import (
    BLUE,
    CONTENT_ID,
    GOLD,
    PNG_NAME,
    STATIC_DIR,
    SVG_NAME,
    emblem_png,
    emblem_svg,
    png_bytes,
    stars,
    write_files,
)
from outreach.errors import ConfigError

AUTHORITY = "EACEA"
DATA = Path(__file__).resolve().parent / "data" / "campaigns"


# --- the emblem -------------------------------------------------------------------------------------------------


def test_regenerating_the_emblem_gives_the_shipped_bytes(tmp_path: Path) -> None:
    written = write_files(tmp_path)
    assert [p.name for p in written] == [SVG_NAME, PNG_NAME]
    for path in written:
        assert path.read_bytes() == (STATIC_DIR / path.name).read_bytes(), "regenerate: python -m outreach.emblem"


def test_the_construction() -> None:
    height = 540.0
    drawn = stars(height)
    assert len(drawn) == 12
    centre = (height * 0.75, height / 2)  # the flag is 3:2, the ring centred
    for hour, star in enumerate(drawn):
        xs, ys = [p[0] for p in star[::2]], [p[1] for p in star[::2]]
        star_centre = (sum(xs) / 5, sum(ys) / 5)
        assert math.dist(star_centre, centre) == pytest.approx(height / 3)  # ring radius: a third of the height
        for point in star[::2]:
            assert math.dist(point, star_centre) == pytest.approx(height / 18)  # point radius: 1/18 of the height
        top = star[0]  # upright: the first point straight above the star's centre, whatever the hour
        assert top[0] == pytest.approx(star_centre[0]) and top[1] < star_centre[1]
        angle = math.degrees(math.atan2(star_centre[0] - centre[0], centre[1] - star_centre[1])) % 360
        assert angle == pytest.approx(30 * hour, abs=1e-6)  # the hours of a clock face, 12 o'clock first
    svg = emblem_svg()
    assert 'viewBox="0 0 810 540"' in svg and 'fill="#003399"' in svg and 'fill="#FFDD00"' in svg
    assert svg.count("<polygon") == 12 and "<title>Emblem of the European Union</title>" in svg


def _pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height, depth, colour = struct.unpack(">IIBB", png[16:26])
    assert (depth, colour) == (8, 2)
    idat = b"".join(png[i + 8:i + 8 + struct.unpack(">I", png[i:i + 4])[0]]
                    for i in [m.start() - 4 for m in re.finditer(b"IDAT", png)])
    raw = zlib.decompress(idat)
    stride = width * 3 + 1
    rows = [raw[r * stride + 1:(r + 1) * stride] for r in range(height)]
    assert all(raw[r * stride] == 0 for r in range(height))
    return width, height, rows


def test_the_png_is_blue_with_gold_stars() -> None:
    width, height, rows = _pixels(png_bytes())
    assert (width, height) == (180, 120)
    pixel = lambda x, y: tuple(rows[y][x * 3:x * 3 + 3])  # noqa: E731
    assert pixel(2, 2) == BLUE and pixel(90, 60) == BLUE  # the corner and the centre of the ring
    assert pixel(90, 20) == GOLD and pixel(90, 100) == GOLD  # the 12 and 6 o'clock stars' centres
    assert pixel(130, 60) == GOLD and pixel(50, 60) == GOLD  # 3 and 9 o'clock
    assert emblem_png(30)[16:24] == struct.pack(">II", 45, 30)


# --- the setting ------------------------------------------------------------------------------------------------


def test_setting_values_are_checked() -> None:
    with pytest.raises(ConfigError, match="OUTREACH_EU_FUNDING is 'yes'"):
        Settings.from_env({"OUTREACH_EU_FUNDING": "yes", "OUTREACH_EU_GRANTING_AUTHORITY": AUTHORITY})
    with pytest.raises(ConfigError, match="OUTREACH_EU_GRANTING_AUTHORITY") as caught:
        Settings.from_env({"OUTREACH_EU_FUNDING": "co-funded"})
    assert "granting authority" in caught.value.hint
    ok = Settings.from_env({"OUTREACH_EU_FUNDING": "funded", "OUTREACH_EU_GRANTING_AUTHORITY": AUTHORITY})
    assert ok.eu_funding == "funded"
    assert ("OUTREACH_EU_FUNDING", "funded") in [(name, value) for name, value, _ in ok.describe()]


# --- mails --------------------------------------------------------------------------------------------------------


def _env(tmp_path: Path, smtpd, funding: str | None) -> dict[str, str]:
    campaigns = tmp_path / "campaigns"
    for slug in ("bsi-awareness", "bsi-training"):
        shutil.copytree(REPO / "campaigns" / slug, campaigns / slug)
    shutil.copytree(DATA / "tiny", campaigns / "tiny")
    env = {"OUTREACH_FROM": "Buying for Social Impact <news@bsi.example.org>", "OUTREACH_SECRET_KEY": SECRET,
           "OUTREACH_PUBLIC_URL": "https://news.example.org", "OUTREACH_ORGANISATION": "Buying for Social Impact",
           "OUTREACH_POSTAL_ADDRESS": "Rue de l'Exemple 1, 1000 Bruxelles, Belgium",
           "OUTREACH_CAMPAIGNS": str(campaigns), "OUTREACH_TEMPLATES": str(REPO / "templates" / "emails"),
           "OUTREACH_OUTBOX": str(tmp_path / "outbox"), **smtpd.env()}
    if funding:
        env |= {"OUTREACH_EU_FUNDING": funding, "OUTREACH_EU_GRANTING_AUTHORITY": AUTHORITY}
    return env


@pytest.fixture
def polish_reader(db_path: Path, clock) -> str:
    db = open_database(db_path)
    insert_contact(db, clock, normalize_email("anna.kowalska@gmina.example.org"),
                   clean_fields({"name": "Anna Kowalska", "organisation": "Gmina Łódź", "kind": "authority",
                                 "country": "PL"}))
    db.close()
    return "anna.kowalska@gmina.example.org"


POLISH = {"statement": "Współfinansowane przez Unię Europejską", "alt": "Godło Unii Europejskiej",
          "disclaimer": "Ani Unia Europejska, ani organ przyznający pomoc nie ponoszą za nie odpowiedzialności."}


@pytest.mark.parametrize(("slug", "layout"), [("tiny", "base"), ("bsi-awareness", "newsletter"),
                                              ("bsi-training", "invitation")])
def test_every_layout_carries_the_emblem_block(runner, smtpd, tmp_path, polish_reader, slug, layout) -> None:
    result = runner("send", slug, "--yes", env=_env(tmp_path, smtpd, "co-funded"))
    assert result.exit_code == 0, result.output
    message = smtpd.messages[-1].message()
    images = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 1
    image = images[0]
    if layout == "invitation":  # the HTML's images stay with the HTML, beside the calendar alternative
        [related] = [p for p in message.walk() if p.get_content_type() == "multipart/related"]
        assert image in related.get_payload()
        [alternative] = [p for p in message.walk() if p.get_content_type() == "multipart/alternative"]
        assert [p.get_content_type() for p in alternative.get_payload()] == [
            "text/plain", "multipart/related", "text/calendar"]
    assert image["Content-ID"] == f"<{CONTENT_ID}>" and image.get_content_disposition() == "inline"
    assert image.get_content() == png_bytes()
    related = next(part for part in message.walk() if part.get_content_type() == "multipart/related")
    html_part = related.get_payload()[0]
    assert html_part.get_content_type() == "text/html"
    html = html_part.get_content()
    img = re.search(r"<img[^>]*class=\"eu-emblem\"[^>]*>", html).group(0)
    assert f'src="cid:{image["Content-ID"].strip("<>")}"' in img  # the HTML names the part it carries
    assert f'alt="{POLISH["alt"]}"' in img and 'width="60"' in img and 'height="40"' in img
    assert POLISH["statement"] in html and POLISH["disclaimer"] in html and f"({AUTHORITY})" in html
    text = message.get_body(("plain",)).get_content()
    assert POLISH["statement"] in text and POLISH["disclaimer"] in text and "cid:" not in text
    assert '<p class="header-label"' in html or layout == "base"
    if slug == "tiny":  # with attachments: mixed { alternative { text, related { html, image } }, files }
        assert message.get_content_type() == "multipart/mixed"
        assert [p.get_filename() for p in message.iter_attachments()] == ["notatka-pl.txt"]


def test_funded_wording_and_no_block_without_the_setting(runner, smtpd, tmp_path, polish_reader) -> None:
    env = _env(tmp_path, smtpd, "funded")
    assert runner("send", "bsi-awareness", "--yes", env=env).exit_code == 0
    html = smtpd.messages[-1].message().get_body(("html",)).get_content()
    assert "Finansowane przez Unię Europejską" in html and "Współfinansowane" not in html
    plain = _env(tmp_path / "plain", smtpd, None)
    assert runner("send", "bsi-training", "--yes", env=plain).exit_code == 0
    message = smtpd.messages[-1].message()
    assert not [p for p in message.walk() if p.get_content_maintype() in ("image",) or
                p.get_content_type() == "multipart/related"]
    assert POLISH["statement"] in message.get_body(("html",)).get_content()  # the plain line, as before
    assert POLISH["disclaimer"] not in message.get_body(("plain",)).get_content()


def test_check_warns_when_a_layout_lacks_the_block(runner, tmp_path, smtpd) -> None:
    env = _env(tmp_path, smtpd, "co-funded")
    own = tmp_path / "layouts"
    own.mkdir()
    for suffix in ("html", "txt"):  # an organisation's own layout, written before the block existed
        source = (REPO / "templates" / "emails" / f"base.{suffix}.j2").read_text(encoding="utf-8")
        (own / f"base.{suffix}.j2").write_text(re.sub(r'{% include "_eu_funding\.\w+\.j2" %}\n', "", source),
                                               encoding="utf-8")
    good = runner("campaign", "check", "tiny", env=env)
    assert good.exit_code == 0 and "EU funding" not in good.stdout and "OUTREACH_EU_FUNDING" not in good.stdout
    bad = runner("campaign", "check", "tiny", "--json", env={**env, "OUTREACH_TEMPLATES": str(own)})
    assert bad.exit_code == 0, bad.output  # a warning: sending is not blocked
    import json

    issues = [i for i in json.loads(bad.stdout)["issues"] if "OUTREACH_EU_FUNDING" in i["message"]]
    assert issues and all(i["level"] == "warning" for i in issues)
    assert "lacks the emblem (HTML) and the disclaimer (text)" in issues[0]["message"]
    assert issues[0]["where"].startswith("base layout")
    assert "_eu_funding.html.j2" in issues[0]["message"]


def test_preview_files_show_the_emblem_without_the_mail(runner, tmp_path, smtpd) -> None:
    env = _env(tmp_path, smtpd, "co-funded")
    out = tmp_path / "preview"
    result = runner("campaign", "preview", "tiny", "--lang", "pl", "--kind", "authority", "--out", str(out),
                    env=env)
    assert result.exit_code == 0, result.output
    html = next(p for p in out.glob("*.html") if p.name != "index.html")
    page = html.read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "cid:" not in page
    eml = next(out.glob("*.eml")).read_bytes()
    assert f"Content-ID: <{CONTENT_ID}>".encode() in eml and f"cid:{CONTENT_ID}".encode() in eml


def test_the_archive_page_of_a_mail_shows_the_emblem_inline(settings: Settings) -> None:
    from dataclasses import replace

    from outreach.campaigns.folder import load_campaign
    from outreach.render.renderer import Renderer

    funded = replace(settings, eu_funding="funded", eu_granting_authority=AUTHORITY)
    page = Renderer(funded, load_campaign(funded, "bsi-awareness")).web_version("el")
    assert 'src="data:image/png;base64,' in page and "cid:" not in page  # a web page has no related parts
    assert "Χρηματοδοτείται από την Ευρωπαϊκή Ένωση" in page and 'alt="Έμβλημα της Ευρωπαϊκής Ένωσης"' in page
