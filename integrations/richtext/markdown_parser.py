"""The one Markdown dialect of testmanager: CommonMark plus tables and strikethrough.

Raw HTML is disabled, so `<b>` in a description is literal text everywhere: in our own
pages, in Jira and in Azure DevOps.
"""

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

markdown_parser = MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


def parse_markdown(text: str) -> SyntaxTreeNode:
    return SyntaxTreeNode(markdown_parser.parse(text))
