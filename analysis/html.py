"""report.md as a single HTML page, rendered by markdown-it-py (CommonMark with pipe tables).

Raw HTML in the Markdown is escaped, not passed through: the report quotes error messages and
file names that may hold `<` and `&`. Images keep their relative paths, so report.html shows
the figures from `figures/` beside it, as report.md does.
"""

from __future__ import annotations

import html

from markdown_it import MarkdownIt

_STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.45;color:#222}"
    "table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0}"
    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}img{max-width:100%}"
    "code{background:#f4f4f4;padding:0 3px}"
)

_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


def markdown_to_html(text: str, title: str = "report") -> str:
    """The HTML page of a Markdown report."""
    return (
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>\n" + _MARKDOWN.render(text) + "</body></html>\n"
    )
