"""Translator files: a campaign's segments exported as XLIFF 2.1 or PO, and imported back into `<lang>.md`."""
