"""Build hook: bundle the top-level working-folder data into the wheel.

`campaigns/`, `templates/emails/`, `examples/` and `.env.example` live at the top of the repository because that
is where an expert working from a clone edits them. A plain `pip install` must carry them too (for `outreach init` and
`outreach demo`), so the build copies them into `outreach/_bundled/`. An editable install reads them from the
checkout instead (see `outreach.resources`).
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED = ("campaigns", "templates", "examples")
BUNDLED_FILES = (".env.example",)


class BuildWithBundledData(build_py):
    def run(self) -> None:
        super().run()
        root = Path(__file__).parent
        target = Path(self.build_lib) / "outreach" / "_bundled"
        for name in BUNDLED:
            source = root / name
            if source.is_dir():
                shutil.copytree(source, target / name, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for name in BUNDLED_FILES:
            if (root / name).is_file():
                shutil.copy2(root / name, target / name)


setup(cmdclass={"build_py": BuildWithBundledData})
