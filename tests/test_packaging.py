"""A plain (non-editable) install carries everything `outreach init` and `outreach demo` need."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_bundles_campaigns_layouts_examples_catalogs_and_pages(tmp_path: Path) -> None:
    # Build from a copy so the build leaves nothing (build/, *.egg-info) in the working tree.
    source = tmp_path / "src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "node_modules", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis",
        ".work", "*.db*", "outbox", "outreach-demo"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    # The SPDX string form of project.license (setuptools >= 77): no deprecation warning about a license table.
    assert "project.license" not in result.stdout + result.stderr
    wheel = next((tmp_path / "dist").glob("outreach-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = [
        "outreach/_bundled/.env.example",
        "outreach/_bundled/examples/contacts.csv",
        "outreach/_bundled/examples/contacts.xlsx",
        "outreach/_bundled/templates/emails/base.html.j2",
        "outreach/_bundled/templates/emails/styles.css",
        "outreach/_bundled/campaigns/bsi-awareness/campaign.toml",
        "outreach/_bundled/campaigns/bsi-training/el.md",
        "outreach/locale/pl/LC_MESSAGES/emails.po",
        "outreach/locale/el/LC_MESSAGES/web.po",
        "outreach/locale/lv/style.toml",
        "outreach/tracking/templates/report.html.j2",
        "outreach/contacts/importing/aliases.toml",
    ]
    assert [name for name in expected if name not in names] == []
    assert any(n.startswith("outreach/web/templates/") for n in names)
    assert any(n.startswith("outreach/web/static/") for n in names)
    metadata = zipfile.ZipFile(wheel).read("outreach-0.1.0.dist-info/METADATA").decode()
    assert "License-Expression: EUPL-1.2" in metadata
