"""ADF -> Markdown: comments and descriptions arriving from Jira Cloud."""

import pytest
from hypothesis import given, settings

from integrations.richtext import adf_text, adf_to_markdown, markdown_to_adf
from tests.integrations.richtext_support import CORPUS, any_adf, markdown_documents, markdown_text, squash


def doc(*content):
    return {"type": "doc", "version": 1, "content": list(content)}


def para(*inline):
    return {"type": "paragraph", "content": list(inline)}


def text(value, *marks):
    node = {"type": "text", "text": value}
    if marks:
        node["marks"] = [{"type": mark} if isinstance(mark, str) else mark for mark in marks]
    return node


def link(href):
    return {"type": "link", "attrs": {"href": href}}


def test_a_typical_jira_comment():
    document = doc(
        {"type": "heading", "attrs": {"level": 2}, "content": [text("Findings")]},
        para(
            {"type": "mention", "attrs": {"id": "5b10", "text": "@Alice"}},
            text(" the "),
            text("login", "strong"),
            text(" test "),
            text("fails", "em", "strong"),
            text(" on "),
            text("main", "code"),
            text(", see "),
            text("build 7", link("https://ci.e.com/7")),
            text("."),
        ),
        {
            "type": "bulletList",
            "content": [
                {
                    "type": "listItem",
                    "content": [
                        para(text("one")),
                        {
                            "type": "orderedList",
                            "attrs": {"order": 2},
                            "content": [{"type": "listItem", "content": [para(text("two"))]}],
                        },
                    ],
                },
                {"type": "listItem", "content": [para(text("three", "strike"))]},
            ],
        },
        {"type": "codeBlock", "attrs": {"language": "python"}, "content": [text("print('```')")]},
        {"type": "blockquote", "content": [para(text("quoted"), {"type": "hardBreak"}, text("lines"))]},
        {"type": "rule"},
        {
            "type": "table",
            "content": [
                {
                    "type": "tableRow",
                    "content": [
                        {"type": "tableHeader", "content": [para(text("a|b"))]},
                        {"type": "tableHeader", "content": [para(text("c"))]},
                    ],
                },
                {
                    "type": "tableRow",
                    "content": [{"type": "tableCell", "content": [para(text("x", "code"))]}],
                },
            ],
        },
    )
    assert adf_to_markdown(document) == (
        "## Findings\n\n"
        "@Alice the **login** test ***fails*** on `main`, see [build 7](https://ci.e.com/7).\n\n"
        "- one\n\n  2. two\n\n- ~~three~~\n\n"
        "````python\nprint('```')\n````\n\n"
        "> quoted\\\n> lines\n\n"
        "---\n\n"
        "| a\\|b | c |\n|---|---|\n| `x` |  |"
    )


@pytest.mark.parametrize(
    "literal, markdown",
    [
        ("*not bold*", "\\*not bold\\*"),
        ("_not em_ but snake_case", "\\_not em\\_ but snake_case"),
        ("# not a heading", "\\# not a heading"),
        ("1. not a list", "1\\. not a list"),
        ("2) nor this", "2\\) nor this"),
        ("- nor this", "\\- nor this"),
        ("+ nor this", "\\+ nor this"),
        ("> not a quote", "\\> not a quote"),
        ("    not code", "not code"),
        ("[not](a link)", "\\[not\\](a link)"),
        ("<b>not html</b>", "\\<b>not html\\</b>"),
        ("`not code`", "\\`not code\\`"),
        ("~~not struck~~", "\\~\\~not struck\\~\\~"),
        ("&amp; stays &amp; but AT&T is fine", "\\&amp; stays \\&amp; but AT&T is fine"),
        ("back\\slash | pipe", "back\\\\slash \\| pipe"),
        ("===", "\\==="),
    ],
)
def test_text_that_looks_like_markdown_is_escaped_and_reads_back_the_same(literal, markdown):
    written = adf_to_markdown(doc(para(text(literal))))
    assert written == markdown
    assert squash(adf_text(markdown_to_adf(written))) == squash(literal)


def test_text_before_a_link_cannot_turn_it_into_an_image():
    written = adf_to_markdown(doc(para(text("Wow!"), text("pic", link("https://e.com/p.png")))))
    assert written == "Wow\\![pic](https://e.com/p.png)"
    assert markdown_to_adf(written)["content"][0]["content"][0] == text("Wow!")


def test_whitespace_moves_outside_the_delimiters():
    assert adf_to_markdown(doc(para(text("a"), text(" bold ", "strong"), text("b")))) == "a **bold** b"


def test_a_mark_boundary_markdown_cannot_spell_falls_back_to_plain_text():
    # CommonMark does not close '**' between ':' and a letter.
    assert adf_to_markdown(doc(para(text("Note:", "strong"), text("text")))) == "Note:text"


def test_code_spans_pick_a_fence_longer_than_any_backtick_run():
    assert adf_to_markdown(doc(para(text("a ``b`` c", "code")))) == "```a ``b`` c```"
    assert adf_to_markdown(doc(para(text("`tick", "code")))) == "`` `tick ``"


def test_unsafe_links_keep_only_their_text():
    for href in ("javascript:alert(1)", " JavaScript:alert(1)", "java\nscript:x", "data:text/html,x", 42):
        assert adf_to_markdown(doc(para(text("click", link(href))))) == "click"


def test_link_targets_with_spaces_and_parentheses_are_encoded():
    assert adf_to_markdown(doc(para(text("x", link("https://e.com/a b(c)"))))) == "[x](https://e.com/a%20b%28c%29)"


def test_ordered_lists_number_from_their_order_or_from_one():
    def ordered(**attrs):
        items = [{"type": "listItem", "content": [para(text(word))]} for word in ("a", "b")]
        return {"type": "orderedList", **({"attrs": attrs} if attrs else {}), "content": items}

    assert adf_to_markdown(doc(ordered())) == "1. a\n2. b"
    assert adf_to_markdown(doc(ordered(order=0))) == "0. a\n1. b"
    assert adf_to_markdown(doc(ordered(order=10**12))) == "1. a\n2. b"


def test_a_table_without_header_row_uses_its_first_row_and_ragged_rows_are_padded():
    def row(*cells):
        return {"type": "tableRow", "content": [{"type": "tableCell", "content": [para(text(c))]} for c in cells]}

    assert (
        adf_to_markdown(doc({"type": "table", "content": [row("a"), row("b", "c")]}))
        == "| a |  |\n|---|---|\n| b | c |"
    )


def test_nodes_without_a_markdown_form_degrade_to_their_content():
    document = doc(
        {"type": "panel", "attrs": {"panelType": "info"}, "content": [para(text("inside a panel"))]},
        {"type": "expand", "attrs": {"title": "Details"}, "content": [para(text("hidden"))]},
        para(
            {"type": "status", "attrs": {"text": "IN PROGRESS", "color": "blue"}},
            text(" "),
            {"type": "emoji", "attrs": {"shortName": ":smile:", "text": "😄"}},
            text(" "),
            {"type": "date", "attrs": {"timestamp": "1718928000000"}},
            text(" "),
            {"type": "inlineCard", "attrs": {"url": "https://jira.e.com/browse/WEB-1"}},
        ),
        {
            "type": "taskList",
            "content": [
                {"type": "taskItem", "attrs": {"state": "DONE"}, "content": [text("done")]},
                {"type": "taskItem", "content": [text("open")]},
            ],
        },
        {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "abc", "type": "file"}}]},
        {"type": "futureBlock", "content": [para(text("from the future"))]},
        {"type": "futureInline", "attrs": {"text": "attribute text"}},
    )
    assert adf_to_markdown(document) == (
        "inside a panel\n\n"
        "**Details**\n\nhidden\n\n"
        "IN PROGRESS 😄 2024-06-21 [https://jira.e.com/browse/WEB-1](https://jira.e.com/browse/WEB-1)\n\n"
        "- \\[x\\] done\n- \\[ \\] open\n\n"
        "from the future\n\n"
        "attribute text"
    )


@pytest.mark.parametrize(
    "malformed",
    [
        None,
        "text",
        [],
        {},
        {"type": "doc"},
        {"type": "doc", "content": "nope"},
        {
            "type": "doc",
            "content": [None, 3, {"type": "paragraph", "content": [{"type": "text", "text": None}]}],
        },
        {
            "type": "doc",
            "content": [
                {
                    "type": "heading",
                    "attrs": {"level": "big"},
                    "content": [{"type": "text", "text": "t", "marks": "bold"}],
                }
            ],
        },
        {
            "type": "doc",
            "content": [{"type": "orderedList", "attrs": {"order": -5}, "content": [{"type": "listItem"}]}],
        },
        {"type": "doc", "content": [{"type": "date", "attrs": {"timestamp": "soon"}}]},
    ],
)
def test_malformed_documents_never_raise(malformed):
    assert isinstance(adf_to_markdown(malformed), str)


@settings(max_examples=200, deadline=None)
@given(any_adf)
def test_any_json_shaped_like_adf_converts_without_error(document):
    assert isinstance(adf_to_markdown(document), str)


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.stem)
def test_corpus_round_trips_through_adf_keeping_its_text(path):
    markdown = path.read_text()
    assert markdown_text(adf_to_markdown(markdown_to_adf(markdown))) == markdown_text(markdown)


@settings(max_examples=200, deadline=None)
@given(markdown_documents)
def test_markdown_to_adf_and_back_keeps_the_text(markdown):
    assert markdown_text(adf_to_markdown(markdown_to_adf(markdown))) == markdown_text(markdown)


@settings(max_examples=200, deadline=None)
@given(markdown_documents)
def test_written_markdown_reads_back_as_the_same_document(markdown):
    written = adf_to_markdown(markdown_to_adf(markdown))
    assert adf_to_markdown(markdown_to_adf(written)) == written


def nested_adf(depth: int) -> dict:
    node = para(text("core"))
    for level in range(depth):
        if level % 2:
            node = {
                "type": "bulletList",
                "content": [{"type": "listItem", "content": [para(text("item")), node]}],
            }
        else:
            node = {"type": "panel", "content": [node]}
    return doc(node)


def test_absurdly_deep_documents_keep_their_text():
    assert adf_to_markdown(nested_adf(5000)).endswith("core")
    assert adf_text(nested_adf(5000)).endswith("item core")


NESTING_NOTICE = "Text nested more than 20 levels deep (lists, quotes) is not shown."


@pytest.mark.parametrize(
    "markdown, notice",
    [
        ("> " * 3000 + "core", NESTING_NOTICE),
        ("- " * 3000 + "core", NESTING_NOTICE),
        ("*" * 3000 + "core" + "*" * 3000, ""),
    ],
)
def test_absurdly_deep_markdown_converts_keeping_its_text_and_saying_what_it_leaves_out(markdown, notice):
    document = markdown_to_adf(markdown)
    expected = squash(f"{markdown_text(markdown)} {notice}")
    assert squash(adf_text(document)) == expected
    assert markdown_text(adf_to_markdown(document)) == expected


def test_lists_in_a_row_stay_separate_lists():
    def bullets(*words):
        return {
            "type": "bulletList",
            "content": [{"type": "listItem", "content": [para(text(w))]} for w in words],
        }

    empty = {"type": "bulletList", "content": [{"type": "listItem", "content": []}]}
    written = adf_to_markdown(doc(bullets("a"), empty, bullets("b"), bullets("c")))
    assert written == "- a\n\n* b\n\n- c"
    assert [block["type"] for block in markdown_to_adf(written)["content"]] == ["bulletList"] * 3


def test_a_line_break_inside_a_heading_does_not_start_a_new_line():
    # Found by the round-trip property: "+" after a break in a setext heading was escaped as if
    # it began a line, so writing the written Markdown again changed it.
    written = adf_to_markdown(markdown_to_adf("0  \n+\n="))
    assert written == "# 0 +"
    assert adf_to_markdown(markdown_to_adf(written)) == written
