"""The campaign commands, `init` and `i18n check`, run as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "campaigns"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"OUTREACH_CAMPAIGNS": str(DATA), "OUTREACH_TEMPLATES": str(DATA / "_layouts"),
            "OUTREACH_FROM": "Buying for Social Impact <news@bsi.example.org>",
            "OUTREACH_ORGANISATION": "Buying for Social Impact",
            "OUTREACH_POSTAL_ADDRESS": "Rue de l'Exemple 1, 1000 Bruxelles, Belgium",
            "OUTREACH_PUBLIC_URL": "https://news.example.org"}


def test_list_shows_languages_and_broken_campaigns(runner, env) -> None:
    result = runner("campaign", "list", "--json", env=env)
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    tiny = next(c for c in document if c["slug"] == "tiny")
    assert tiny["languages"] == ["de", "en", "pl"] and tiny["layout"] == "base"
    assert tiny["outdated"] == ["de"] and len(tiny["revision"]) == 12
    assert "Broken campaign" in result.stderr and "bad-toml" in result.stderr


def test_check_exit_codes_and_json(runner, env) -> None:
    ok = runner("campaign", "check", "tiny", "--json", env=env)
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.stdout)
    assert report["ok"] is True and len(report["revision"]) == 12
    assert any(row["language"] == "de" and row["outdated"] for row in report["languages"])
    strict = runner("campaign", "check", "tiny", "--strict", env=env)
    assert strict.exit_code == 1  # the outdated German translation is a warning
    assert "outdated" in strict.stdout and f"translated_from = \"{report['revision']}\"" in strict.stdout
    assert "bg" in report["not_translated"] and "pl" not in report["not_translated"]
    assert "Not translated (nobody in the audience needs them): bg es cs" in strict.stdout
    bad = runner("campaign", "check", "bad-links", env=env)
    assert bad.exit_code == 1 and "keep it to 78" in bad.stdout


@pytest.mark.parametrize(("slug", "words"), [
    ("bad-toml", "bad-toml/campaign.toml:3"),
    ("unknown-layout", "unknown layout 'fancy'"),
    ("no-subject", "no-subject/en.md:2: the front matter has no subject"),
    ("unknown-language", "xx.md is not named after a known language"),
    ("missing-attachment", "'files/brochure.pdf' does not exist"),
    ("nowhere", "No campaign 'nowhere'"),
])
def test_bad_input_is_one_clear_message(runner, env, slug: str, words: str) -> None:
    result = runner("campaign", "check", slug, env=env)
    assert result.exit_code == 1
    assert words in result.stderr and "Error:" in result.stderr and "Traceback" not in result.output


def test_template_errors_fail_check_with_line(runner, env) -> None:
    result = runner("campaign", "check", "syntax-error", env=env)
    assert result.exit_code == 1 and "syntax-error/en.md:9" in result.stdout


def test_preview_command_writes_index(runner, db, env, tmp_path: Path) -> None:
    result = runner("campaign", "preview", "tiny", "--lang", "Polish", "--kind", "supplier",
                    "--out", str(tmp_path / "p"), env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p" / "index.html").is_file() and (tmp_path / "p" / "pl-supplier.eml").is_file()
    assert not (tmp_path / "p" / "en-supplier.html").exists()
    unknown = runner("campaign", "preview", "tiny", "--contact", "nobody@example.org", env=env)
    assert unknown.exit_code == 1 and "No contact" in unknown.stderr


def test_new_then_check(runner, env, tmp_path: Path) -> None:
    env = dict(env, OUTREACH_CAMPAIGNS=str(tmp_path / "campaigns"), OUTREACH_TEMPLATES=str(tmp_path / "none"))
    result = runner("campaign", "new", "spring-news", "--layout", "newsletter", env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "campaigns" / "spring-news" / "en.md").is_file()
    check = runner("campaign", "check", "spring-news", env=env)
    assert check.exit_code == 0, check.output  # the scaffold itself passes (shipped layouts as fallback)
    again = runner("campaign", "new", "spring-news", env=env)
    assert again.exit_code == 1 and "already exists" in again.stderr


def test_init_creates_a_working_folder(runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "expert"
    result = runner("init", str(target))
    assert result.exit_code == 0, result.output
    env_text = (target / ".env").read_text(encoding="utf-8")
    assert "OUTREACH_FROM=" in env_text and "OUTREACH_SMTP_HOST=" in env_text
    secret = next(line for line in env_text.splitlines() if line.startswith("OUTREACH_SECRET_KEY="))
    assert len(secret.split("=", 1)[1]) >= 32 and secret.split("=", 1)[1] not in result.output
    assert (target / "templates" / "emails" / "invitation.html.j2").is_file()
    assert (target / "campaigns" / "bsi-awareness" / "en.md").is_file()
    assert "outreach campaign preview" in result.stderr
    (target / ".env").write_text("OUTREACH_FROM=Mine <me@example.org>\n", encoding="utf-8")
    again = runner("init", str(target))
    assert again.exit_code == 0 and "already there and kept" in again.stderr
    assert (target / ".env").read_text(encoding="utf-8") == "OUTREACH_FROM=Mine <me@example.org>\n"
    # the folder works as is: run from inside it, the example campaign loads with its defaults
    monkeypatch.chdir(target)
    listed = runner("campaign", "list", "--json")
    assert {c["slug"] for c in json.loads(listed.stdout)} >= {"bsi-awareness", "bsi-training"}


def test_i18n_check_lists_missing_strings(runner) -> None:
    result = runner("i18n", "check", "--json")
    document = json.loads(result.stdout)
    emails = [row for row in document if row["domain"] == "emails"]
    assert len(emails) == 24 and all(row["ok"] for row in emails)
    assert result.exit_code == (0 if all(row["ok"] for row in document) else 1)


def test_campaign_modules_import_no_heavy_library() -> None:
    """`outreach --help` must stay fast: the engine imports Jinja, Markdown, premailer and Babel only when used."""
    import subprocess
    import sys

    code = ("import sys, outreach.cli.campaign, outreach.render.renderer, outreach.render.checks, "
            "outreach.render.preview; "
            "heavy = {'premailer', 'markdown_it', 'babel', 'lxml', 'jinja2'} & set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _campaign(root: Path, slug: str, files: dict[str, str]) -> None:
    import shutil

    shutil.copytree(DATA / "tiny", root / slug)
    for name in ("de.md", "pl.md"):
        (root / slug / name).unlink()
    for name, text in files.items():
        (root / slug / name).write_text(text, encoding="utf-8")


def test_a_translation_without_translated_from_is_not_called_outdated(runner, env, tmp_path: Path) -> None:
    _campaign(tmp_path, "unrecorded", {"hr.md": "+++\nsubject = \"Mali test\"\npreheader = \"Kratko.\"\n+++\n"
                                                "Pozdrav od **{{ contact.organisation }}**.\n"})
    env = {**env, "OUTREACH_CAMPAIGNS": str(tmp_path)}
    result = runner("campaign", "check", "unrecorded", env=env)
    assert result.exit_code == 0, result.output  # a warning, not an error
    row = next(line for line in result.stdout.splitlines() if line.startswith("hr\t"))
    assert row.split("\t")[2] == "no translated_from" and "outdated" not in result.stdout
    assert "hr.md:1: no translated_from recorded, so whether it is current cannot be told" in result.stdout
    document = json.loads(runner("campaign", "check", "unrecorded", "--json", env=env).stdout)
    hr = next(r for r in document["languages"] if r["language"] == "hr")
    assert hr["outdated"] is False and hr["translated_from"] is None
    listed = json.loads(runner("campaign", "list", "--json", env=env).stdout)[0]
    assert listed["outdated"] == [] and listed["no_translated_from"] == ["hr"]


@pytest.mark.parametrize("broken", ["{% if contact.kind == 'authority' %}", "{{ contact.nmae.upper() }}",
                                    "{{ organisaton }}"])
def test_a_template_error_does_not_hide_link_and_image_errors(runner, env, tmp_path: Path, broken: str) -> None:
    body = ("+++\nsubject = \"Broken\"\npreheader = \"Broken.\"\n+++\nA [relative link](/about).\n\n"
            f"{broken}\n\n![](https://bsi.example.eu/logo.png)\n\n[Archive]({{{{ links.archive_url }}}})\n")
    _campaign(tmp_path, "broken", {"en.md": body})
    result = runner("campaign", "check", "broken", env={**env, "OUTREACH_CAMPAIGNS": str(tmp_path)})
    assert result.exit_code == 1
    out = result.stdout
    assert "the link 'relative link' goes to '/about'" in out and "en.md:5" in out
    assert "the image 'https://bsi.example.eu/logo.png' has no alt text" in out and "en.md:9" in out
    assert "Archive" not in out  # an address the template makes is not judged from the source
    assert out.count("relative link") == 1  # once, however many sample recipients fail
