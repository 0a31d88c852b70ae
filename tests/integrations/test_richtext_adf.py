"""Markdown -> Atlassian Document Format (Jira Cloud descriptions and comments)."""

import pytest
from hypothesis import given, settings

from integrations.richtext import adf, adf_text, markdown_to_adf
from tests.integrations.richtext_support import (
    CORPUS,
    assert_valid_adf,
    markdown_documents,
    markdown_text,
    squash,
)


def content_of(markdown: str, **options) -> list[dict]:
    document = markdown_to_adf(markdown, **options)
    assert_valid_adf(document)
    return document["content"]


def inline_of(markdown: str, **options) -> list[dict]:
    (paragraph,) = content_of(markdown, **options)
    assert paragraph["type"] == "paragraph"
    return paragraph["content"]


STRONG = {"type": "strong"}
EM = {"type": "em"}
CODE = {"type": "code"}


def test_empty_or_blank_markdown_is_a_valid_empty_document():
    for markdown in ("", "   \n\n\t"):
        document = markdown_to_adf(markdown)
        assert document == {"type": "doc", "version": 1, "content": []}
        assert_valid_adf(document)


def test_marks_become_text_node_marks():
    assert inline_of("plain **bold** *it* ~~gone~~ `code` ***both***") == [
        {"type": "text", "text": "plain "},
        {"type": "text", "text": "bold", "marks": [STRONG]},
        {"type": "text", "text": " "},
        {"type": "text", "text": "it", "marks": [EM]},
        {"type": "text", "text": " "},
        {"type": "text", "text": "gone", "marks": [{"type": "strike"}]},
        {"type": "text", "text": " "},
        {"type": "text", "text": "code", "marks": [CODE]},
        {"type": "text", "text": " "},
        {"type": "text", "text": "both", "marks": [EM, STRONG]},
    ]


def test_inline_code_drops_marks_adf_forbids_with_code_but_keeps_a_link():
    assert inline_of("**bold `x` bold** [`y`](https://e.com)") == [
        {"type": "text", "text": "bold ", "marks": [STRONG]},
        {"type": "text", "text": "x", "marks": [CODE]},
        {"type": "text", "text": " bold", "marks": [STRONG]},
        {"type": "text", "text": " "},
        {"type": "text", "text": "y", "marks": [{"type": "link", "attrs": {"href": "https://e.com"}}, CODE]},
    ]


def test_headings_keep_their_level():
    content = content_of("# One\n\n###### Six *em*\n\nSetext\n---")
    assert [block["attrs"]["level"] for block in content] == [1, 6, 2]
    assert content[1]["content"] == [
        {"type": "text", "text": "Six "},
        {"type": "text", "text": "em", "marks": [EM]},
    ]


def test_code_blocks_keep_language_and_drop_the_final_newline():
    assert content_of("```python extra words\nprint('hi')\n\n```\n\n    indented\n\n```\n```") == [
        {
            "type": "codeBlock",
            "attrs": {"language": "python"},
            "content": [{"type": "text", "text": "print('hi')\n"}],
        },
        {"type": "codeBlock", "content": [{"type": "text", "text": "indented"}]},
        {"type": "codeBlock", "content": []},
    ]


def test_lists_nest_and_ordered_lists_keep_their_start_number():
    def item(text, *nested):
        return {
            "type": "listItem",
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}, *nested],
        }

    assert content_of("3. three\n4. four\n   - deep\n     1. deeper") == [
        {
            "type": "orderedList",
            "attrs": {"order": 3},
            "content": [
                item("three"),
                item(
                    "four",
                    {
                        "type": "bulletList",
                        "content": [
                            item(
                                "deep",
                                {"type": "orderedList", "attrs": {"order": 1}, "content": [item("deeper")]},
                            )
                        ],
                    },
                ),
            ],
        }
    ]


def test_a_list_item_always_starts_with_a_paragraph():
    (bullets,) = content_of("- - nested first\n-\n- ```\n  code\n  ```")
    first, empty, code = bullets["content"]
    assert first["content"][0] == {"type": "paragraph", "content": []}
    assert first["content"][1]["type"] == "bulletList"
    assert empty["content"] == [{"type": "paragraph", "content": []}]
    assert [block["type"] for block in code["content"]] == ["paragraph", "codeBlock"]


def test_blocks_a_list_item_may_not_hold_are_reshaped_keeping_their_text():
    (bullets,) = content_of("- # Heading\n\n  > quoted\n\n  ---\n\n  | a | b |\n  |---|---|\n  | c | d |")
    assert bullets["content"][0]["content"] == [
        {"type": "paragraph", "content": [{"type": "text", "text": "Heading", "marks": [STRONG]}]},
        {"type": "paragraph", "content": [{"type": "text", "text": "quoted"}]},
        {"type": "paragraph", "content": [{"type": "text", "text": "a | b"}]},
        {"type": "paragraph", "content": [{"type": "text", "text": "c | d"}]},
    ]


def test_block_quotes_flatten_nested_quotes_and_bold_their_headings():
    assert content_of("> # Title\n>\n> > inner\n>\n> ---") == [
        {
            "type": "blockquote",
            "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "Title", "marks": [STRONG]}]},
                {"type": "paragraph", "content": [{"type": "text", "text": "inner"}]},
            ],
        }
    ]
    assert content_of(">\n> ---") == []


def test_tables_turn_the_header_row_into_table_header_cells():
    def cell(kind, *inline):
        return {"type": kind, "content": [{"type": "paragraph", "content": list(inline)}]}

    assert content_of("| Name | Result |\n|---|:-:|\n| login | **pass** |\n| logout |") == [
        {
            "type": "table",
            "content": [
                {
                    "type": "tableRow",
                    "content": [
                        cell("tableHeader", {"type": "text", "text": "Name"}),
                        cell("tableHeader", {"type": "text", "text": "Result"}),
                    ],
                },
                {
                    "type": "tableRow",
                    "content": [
                        cell("tableCell", {"type": "text", "text": "login"}),
                        cell("tableCell", {"type": "text", "text": "pass", "marks": [STRONG]}),
                    ],
                },
                {
                    "type": "tableRow",
                    "content": [cell("tableCell", {"type": "text", "text": "logout"}), cell("tableCell")],
                },
            ],
        }
    ]


def test_rules_and_hard_breaks():
    assert content_of("a\\\nb  \nc\nd\n\n***") == [
        {
            "type": "paragraph",
            "content": [
                {"type": "text", "text": "a"},
                {"type": "hardBreak"},
                {"type": "text", "text": "b"},
                {"type": "hardBreak"},
                {"type": "text", "text": "c d"},
            ],
        },
        {"type": "rule"},
    ]


def test_links_carry_href_and_title():
    assert inline_of('[docs](https://e.com/a?b=1 "Guide")') == [
        {
            "type": "text",
            "text": "docs",
            "marks": [{"type": "link", "attrs": {"href": "https://e.com/a?b=1", "title": "Guide"}}],
        }
    ]


def test_images_become_links_labelled_by_alt_text_or_address():
    link = {"type": "link", "attrs": {"href": "https://e.com/shot.png"}}
    assert inline_of("![Error *dialog*](https://e.com/shot.png)") == [
        {"type": "text", "text": "Error dialog", "marks": [link]}
    ]
    assert inline_of("![](https://e.com/shot.png)") == [
        {"type": "text", "text": "https://e.com/shot.png", "marks": [link]}
    ]


def test_a_linked_image_keeps_the_outer_link():
    assert inline_of("[![badge](https://e.com/b.svg)](https://ci.e.com)") == [
        {"type": "text", "text": "badge", "marks": [{"type": "link", "attrs": {"href": "https://ci.e.com"}}]}
    ]


def test_a_link_without_text_shows_its_address():
    assert inline_of("[](https://e.com)") == [
        {
            "type": "text",
            "text": "https://e.com",
            "marks": [{"type": "link", "attrs": {"href": "https://e.com"}}],
        }
    ]


@pytest.mark.parametrize(
    "markdown, text",
    [
        ("[x](javascript:alert(1))", "[x](javascript:alert(1))"),
        ("[x](JaVaScRiPt:alert(1))", "[x](JaVaScRiPt:alert(1))"),
        ("![x](data:image/png;base64,AAAA)", "x"),
        ("[x](vbscript:msgbox)", "[x](vbscript:msgbox)"),
    ],
)
def test_unsafe_link_targets_never_become_links(markdown, text):
    assert inline_of(markdown) == [{"type": "text", "text": text}]


@pytest.mark.parametrize(
    "markdown, text",
    [
        ("See [the spec](./target.md).", "See the spec (./target.md)."),
        ("![train](train.jpg)", "train (train.jpg)"),
        ("[call](foo(bar))", "call (foo(bar))"),
        ("[the case](/projects/SHOP/cases/7)", "the case (/projects/SHOP/cases/7)"),
        ("[./target.md](./target.md)", "./target.md"),
        ("[](target.md)", "target.md"),
        ("<./target.md>", "<./target.md>"),  # not an autolink in CommonMark: no scheme
    ],
)
def test_relative_link_targets_stay_visible_as_text(markdown, text):
    # Atlassian's validator refuses an href without a scheme, '/' or '#', and a path would
    # point into the Jira site rather than where the author meant.
    assert inline_of(markdown) == [{"type": "text", "text": text}]


def test_absolute_and_fragment_link_targets_stay_links():
    assert inline_of("[top](#top) [docs](https://e.com/a) <mailto:qa@e.com>") == [
        {"type": "text", "text": "top", "marks": [{"type": "link", "attrs": {"href": "#top"}}]},
        {"type": "text", "text": " "},
        {"type": "text", "text": "docs", "marks": [{"type": "link", "attrs": {"href": "https://e.com/a"}}]},
        {"type": "text", "text": " "},
        {"type": "text", "text": "mailto:qa@e.com", "marks": [{"type": "link", "attrs": {"href": "mailto:qa@e.com"}}]},
    ]


def test_a_relative_link_keeps_the_labels_marks_and_shows_its_target_after_them():
    assert inline_of("[**spec**](docs/spec.md) here") == [
        {"type": "text", "text": "spec", "marks": [STRONG]},
        {"type": "text", "text": " (docs/spec.md) here"},
    ]


def test_task_lists_become_task_lists_with_their_state():
    assert content_of("- [ ] write the test\n- [x] fix **the bug**\n- [X] ship it") == [
        {
            "type": "taskList",
            "attrs": {"localId": "task-1"},
            "content": [
                {"type": "taskItem", "attrs": {"localId": "task-2", "state": "TODO"}, "content": [
                    {"type": "text", "text": "write the test"},
                ]},
                {"type": "taskItem", "attrs": {"localId": "task-3", "state": "DONE"}, "content": [
                    {"type": "text", "text": "fix "},
                    {"type": "text", "text": "the bug", "marks": [STRONG]},
                ]},
                {"type": "taskItem", "attrs": {"localId": "task-4", "state": "DONE"}, "content": [
                    {"type": "text", "text": "ship it"},
                ]},
            ],
        }
    ]  # fmt: skip


def test_nested_tasks_follow_their_parent_task_and_further_paragraphs_join_the_task():
    markdown = "1. [x] release\n\n   notes are out\n\n   - [ ] tag\n   - [x] build\n2. [ ] announce"
    (task_list,) = content_of(markdown)
    assert [(node["type"], node["attrs"].get("state")) for node in task_list["content"]] == [
        ("taskItem", "DONE"),
        ("taskList", None),
        ("taskItem", "TODO"),
    ]
    assert task_list["content"][0]["content"] == [
        {"type": "text", "text": "release"},
        {"type": "hardBreak"},
        {"type": "text", "text": "notes are out"},
    ]
    nested = task_list["content"][1]["content"]
    assert [(node["type"], node["attrs"]["state"], node["content"]) for node in nested] == [
        ("taskItem", "TODO", [{"type": "text", "text": "tag"}]),
        ("taskItem", "DONE", [{"type": "text", "text": "build"}]),
    ]
    ids = [task_list["attrs"]["localId"], *(node["attrs"]["localId"] for node in [*task_list["content"], *nested])]
    assert len(set(ids)) == len(ids) == 6


def test_tasks_where_adf_has_no_task_list_read_as_checkbox_characters():
    def bullets(*lines):
        paragraphs = [{"type": "paragraph", "content": [{"type": "text", "text": line}]} for line in lines]
        return {"type": "bulletList", "content": [{"type": "listItem", "content": [p]} for p in paragraphs]}

    # A quote may not hold a task list; a list with a plain item is no task list.
    assert content_of("> - [x] quoted\n\n- [ ] a task\n- a plain item") == [
        {"type": "blockquote", "content": [bullets("☑ quoted")]},
        bullets("☐ a task", "a plain item"),
    ]


def test_brackets_that_are_not_a_task_stay_text():
    assert content_of("[ ] not in a list\n\n- [ ]\n- [y] no") == [
        {"type": "paragraph", "content": [{"type": "text", "text": "[ ] not in a list"}]},
        {"type": "bulletList", "content": [
            {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "[ ]"}]}]},
            {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "[y] no"}]}]},
        ]},
    ]  # fmt: skip


def test_raw_html_is_plain_text():
    assert content_of('<div onclick="x()">\n<b>hi</b>\n</div>\n\n<script>alert(1)</script>') == [
        {"type": "paragraph", "content": [{"type": "text", "text": '<div onclick="x()"> <b>hi</b> </div>'}]},
        {"type": "paragraph", "content": [{"type": "text", "text": "<script>alert(1)</script>"}]},
    ]


ALICE = {"id": "5b10a2844c20165700ede21g", "text": "@Alice"}


def test_matched_mentions_become_mention_nodes():
    assert inline_of("thanks @alice, **@alice**!", mentions={"@alice": ALICE}) == [
        {"type": "text", "text": "thanks "},
        {"type": "mention", "attrs": {"id": ALICE["id"], "text": "@Alice"}},
        {"type": "text", "text": ", "},
        {"type": "mention", "attrs": {"id": ALICE["id"], "text": "@Alice"}},
        {"type": "text", "text": "!"},
    ]


def test_mentions_may_come_from_a_callable_and_default_to_the_handle_as_label():
    looked_up = []

    def directory(handle):
        looked_up.append(handle)
        return {"id": "u-1"} if handle == "@bob.smith" else None

    assert inline_of("cc @bob.smith. and @carol", mentions=directory) == [
        {"type": "text", "text": "cc "},
        {"type": "mention", "attrs": {"id": "u-1", "text": "@bob.smith"}},
        {"type": "text", "text": ". and @carol"},
    ]
    assert looked_up == ["@bob.smith", "@carol"]


def test_unmatched_handles_emails_code_and_link_text_stay_text():
    markdown = "@bob mail bob@alice.io `@alice` [@alice](https://e.com)"
    inline = inline_of(markdown, mentions={"@alice": ALICE})
    assert all(node["type"] == "text" for node in inline)
    assert "".join(node["text"] for node in inline) == "@bob mail bob@alice.io @alice @alice"


def test_a_mention_without_a_user_id_is_a_programming_error():
    with pytest.raises(ValueError, match="@alice"):
        markdown_to_adf("hi @alice", mentions={"@alice": {"text": "@Alice"}})


def test_a_block_a_container_cannot_hold_and_has_no_reshaping_rule_keeps_its_text():
    panel = {
        "type": "panel",
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "note"}]}],
    }
    assert adf.list_item([panel]) == {
        "type": "listItem",
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "note"}]}],
    }


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.stem)
def test_corpus_documents_convert_to_valid_adf_keeping_their_text(path):
    markdown = path.read_text()
    document = markdown_to_adf(markdown, mentions={"@alice": ALICE, "@bob.smith": {"id": "bob"}})
    assert_valid_adf(document)
    if path.stem != "mentions":
        assert squash(adf_text(document)) == markdown_text(markdown)


def test_corpus_covers_the_constructs_it_promises():
    kinds = set()

    def walk(node):
        kinds.add(node["type"])
        for mark in node.get("marks", []):
            kinds.add(mark["type"])
        for child in node.get("content", []):
            walk(child)

    for path in CORPUS:
        walk(markdown_to_adf(path.read_text(), mentions={"@alice": ALICE}))
    assert kinds >= {
        "heading", "paragraph", "bulletList", "orderedList", "listItem", "codeBlock", "blockquote", "table",
        "tableHeader", "tableCell", "rule", "hardBreak", "mention", "strong", "em", "strike", "code", "link",
    }  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(markdown_documents)
def test_any_markdown_converts_to_valid_adf_with_the_same_text(markdown):
    document = markdown_to_adf(markdown)
    assert_valid_adf(document)
    assert squash(adf_text(document)) == markdown_text(markdown)
