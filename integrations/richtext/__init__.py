"""Rich text conversions between testmanager's Markdown and the trackers' formats.

Outbound (a description or comment we send): Markdown -> ADF (Jira Cloud), Jira wiki
markup (Jira Server/Data Center) or sanitized HTML (Azure DevOps, our own pages).
Inbound (a comment we receive): ADF, wiki markup or HTML (Azure DevOps) -> Markdown.

ADF is the hub: wiki markup is written from and read into ADF and HTML is read into
ADF, so every format shares one set of nesting rules and one plain-text notion.
"""

from . import adf
from .from_markdown import markdown_to_adf
from .html import markdown_to_safe_html
from .html_reader import html_to_adf
from .mentions import Mentions
from .textile import markdown_to_textile, textile_to_markdown
from .to_markdown import adf_to_markdown
from .wiki_reader import wiki_to_adf
from .wiki_writer import adf_to_wiki


def adf_text(document: object) -> str:
    """Plain text of an ADF document, one line per block (for search, titles, previews)."""
    return adf.text_content(adf.bounded(document))


def markdown_to_wiki(markdown: str, mentions: Mentions | None = None) -> str:
    """Jira wiki markup for Markdown; '@handle's found in `mentions` become `[~id]`."""
    return adf_to_wiki(markdown_to_adf(markdown, mentions))


def wiki_to_markdown(markup: str) -> str:
    """Markdown for Jira wiki markup, such as a comment read from Jira Server."""
    return adf_to_markdown(wiki_to_adf(markup))


def html_to_markdown(markup: str) -> str:
    """Markdown for HTML, such as an Azure DevOps comment; scripts and styles are dropped."""
    return adf_to_markdown(html_to_adf(markup))


__all__ = [
    "Mentions",
    "adf_text",
    "adf_to_markdown",
    "adf_to_wiki",
    "html_to_adf",
    "html_to_markdown",
    "markdown_to_adf",
    "markdown_to_safe_html",
    "markdown_to_textile",
    "markdown_to_wiki",
    "textile_to_markdown",
    "wiki_to_adf",
    "wiki_to_markdown",
]
