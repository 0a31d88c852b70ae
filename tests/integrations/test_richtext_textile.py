"""Markdown <-> Textile, the text formatting Redmine 5 uses by default."""

import pytest

from integrations.richtext import markdown_to_textile, textile_to_markdown


@pytest.mark.parametrize(
    ("markdown", "textile"),
    [
        ("**bold** and *em* and ~~gone~~", "*bold* and _em_ and -gone-"),
        ("`code`", "@code@"),
        ("[docs](https://example.com/a)", '"docs":https://example.com/a'),
        ("## Expected", "h2. Expected"),
        ("1. one\n2. two\n   - nested", "# one\n# two\n#* nested"),
        ("> quoted", "bq. quoted"),
        ("```\nx = a*b < c\n```", "<pre>x = a*b &lt; c</pre>"),
    ],
)
def test_markdown_is_written_as_textile(markdown, textile):
    assert markdown_to_textile(markdown) == textile


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("a *star* here", "a &#42;star&#42; here"),
        ("h1. not a heading", "&#104;1. not a heading"),
        ("see #12 <b>", "see &#35;12 &#60;b>"),
        ("re-run the e-mail check", "re-run the e-mail check"),
    ],
)
def test_user_text_never_becomes_textile_markup(text, written):
    assert markdown_to_textile(text.replace("*", "\\*")) == written


@pytest.mark.parametrize(
    ("textile", "markdown"),
    [
        ("Reproduced with *Firefox* on @staging@", "Reproduced with **Firefox** on `staging`"),
        ("_em_ and -strike-", "*em* and ~~strike~~"),
        ('"docs":https://example.com/a.', "[docs](https://example.com/a)."),
        ("h3. Steps\n\n# one\n## two\n* three", "### Steps\n\n1. one\n   1. two\n- three"),
        ("bq. quoted", "> quoted"),
        ("<pre>a &lt; b</pre>", "```\na < b\n```"),
        ("&#42;literal&#42;", "*literal*"),
    ],
)
def test_textile_notes_read_as_markdown(textile, markdown):
    assert textile_to_markdown(textile) == markdown


def test_what_testmanager_writes_reads_back_the_same():
    markdown = "Steps:\n\n1. Add a **coupon**\n2. Pay `now`\n\n## Expected\n\n> the discount applies"

    assert textile_to_markdown(markdown_to_textile(markdown)) == markdown.replace("2. Pay", "1. Pay")
