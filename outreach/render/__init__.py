"""Rendering: Jinja2 layouts, slots, the text part, CSS inlining, gettext strings, previews."""
