"""outreach — multilingual newsletter and outreach tool.

The package is a library first: every command of the `outreach` CLI is a thin call into these modules, which
return results or raise `outreach.errors.OutreachError` subclasses and never print.
"""

__version__ = "0.1.0"
