"""The one Markdown dialect of testmanager: CommonMark plus tables, strikethrough and GFM task lists.

Raw HTML is disabled, so `<b>` in a description is literal text everywhere: in our own
pages, in Jira and in Azure DevOps. The only HTML tokens the parser makes are therefore the
task lists' checkboxes (an `html_inline` token opening a `- [ ]` / `- [x]` item). Table size and
nesting are bounded (see bounds.py).
"""

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.tasklists import tasklists_plugin

from .bounds import bounds_plugin

markdown_parser = (
    MarkdownIt("commonmark", {"html": False})
    .enable("table")
    .enable("strikethrough")
    .use(tasklists_plugin)
    .use(bounds_plugin)
)

# Containers (list items, quotes) nest at most this deep; markdown-it drops deeper content.
MAX_NESTING = markdown_parser.options["maxNesting"]

TASK_ITEM_CLASS = "task-list-item"


def is_checkbox(token: Token) -> bool:
    return token.type == "html_inline" and "task-list-item-checkbox" in token.content


def is_checked(checkbox: Token) -> bool:
    return 'checked="checked"' in checkbox.content
