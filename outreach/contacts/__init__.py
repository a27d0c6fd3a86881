"""Contacts: the model and its cleaning rules, importing spreadsheets, export, GDPR."""
