"""The one Markdown dialect of testmanager: CommonMark plus tables and strikethrough.

Raw HTML is disabled, so `<b>` in a description is literal text everywhere: in our own
pages, in Jira and in Azure DevOps.
"""

from markdown_it import MarkdownIt

markdown_parser = MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")

# Containers (list items, quotes) nest at most this deep; markdown-it drops deeper content.
MAX_NESTING = markdown_parser.options["maxNesting"]
