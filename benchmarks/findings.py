"""What the measurements mean: causes of the limits and what would lift them, written after a full run.

Kept apart from `report.py` so that the analysis can be revised without touching the generator.
"""

FINDINGS = """\
## Findings

(Analysis pending a full run.)
"""
