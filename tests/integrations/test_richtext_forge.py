"""Markdown sent to GitHub and GitLab: mentions and closing keywords are made inert, and
nothing else changes, least of all code and URLs."""

import pytest

from integrations.richtext.forge import WORD_JOINER, inert_markdown

J = WORD_JOINER


@pytest.mark.parametrize(
    ("markdown", "sent"),
    [
        ("Seen by @alice and @acme/qa-team", f"Seen by @{J}alice and @{J}acme/qa-team"),
        ("Tell @all now", f"Tell @{J}all now"),
        ("Fixes #12", f"Fixes #{J}12"),
        (
            "closes: acme/shop#3, resolved group/sub/project#4",
            f"closes: acme/shop#{J}3, resolved group/sub/project#{J}4",
        ),
        ("Implementing #5 and fixing #6", f"Implementing #{J}5 and fixing #{J}6"),
    ],
    ids=["mentions", "everyone", "closing keyword", "qualified references", "GitLab's -ing forms"],
)
def test_mentions_and_closing_references_are_broken_by_an_invisible_joiner(markdown, sent):
    assert inert_markdown(markdown) == sent


@pytest.mark.parametrize(
    "markdown",
    [
        "See #12 and acme/shop#3",  # a plain reference links, it does not close
        "Mail qa@example.com",
        "Prefix: fixes the cart (no reference)",
        "`@alice fixes #1` in a code span",
        "``code with ` and @bob``",
        "```\n@alice fixes #1\n```",
        "    @indented fixes #2 is a code block",
        "[profile](https://github.com/@alice) and <https://gitlab.com/@bob> and https://x.org/@carol#1",
        "",
    ],
)
def test_text_that_does_not_act_is_sent_exactly_as_written(markdown):
    assert inert_markdown(markdown) == markdown


def test_only_the_prose_around_code_changes_and_line_breaks_stay():
    markdown = "Hi @ann\n\n```python\nprint('@ann')\n```\n\nThen `@x` and @ann\r\nbye"

    assert inert_markdown(markdown) == f"Hi @{J}ann\n\n```python\nprint('@ann')\n```\n\nThen `@x` and @{J}ann\r\nbye"


def test_an_unclosed_backtick_does_not_hide_the_rest():
    assert inert_markdown("a ` b @ann") == f"a ` b @{J}ann"
