"""Markdown -> sanitized HTML: Azure DevOps descriptions and user Markdown in our pages."""

import uuid
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings

from integrations.richtext import html_to_markdown, markdown_to_safe_html
from tests.integrations.richtext_support import CORPUS, markdown_documents, markdown_text


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict]]:
    parser = _Elements()
    parser.feed(html)
    return parser.elements


def assert_inert(html: str) -> None:
    for tag, attributes in elements(html):
        assert tag not in {"script", "style", "iframe", "object", "embed", "form", "input", "svg", "math"}
        for name, value in attributes.items():
            assert not name.startswith("on"), (tag, name)
            assert name != "style", tag
            if name in ("href", "src"):
                assert value.split(":", 1)[0].strip().lower() not in {
                    "javascript",
                    "data",
                    "vbscript",
                    "file",
                }, value


@pytest.mark.parametrize(
    "payload, html",
    [
        ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"),
        ("<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>\n"),
        ("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>\n"),
        ("[x](  JaVaScRiPt:alert(1))", "<p>[x](  JaVaScRiPt:alert(1))</p>\n"),
        (
            '<a href="data:text/html,<script>x</script>">y</a>',
            '<p>&lt;a href="data:text/html,&lt;script&gt;x&lt;/script&gt;"&gt;y&lt;/a&gt;</p>\n',
        ),
        ("[x](data:text/html;base64,PHNjcmlwdD4=)", "<p>[x](data:text/html;base64,PHNjcmlwdD4=)</p>\n"),
        ("![pixel](data:image/png;base64,AAAA)", '<p><img alt="pixel"></p>\n'),
        ("[x](vbscript:msgbox)", "<p>[x](vbscript:msgbox)</p>\n"),
        ("<style>body{display:none}</style>", "<p>&lt;style&gt;body{display:none}&lt;/style&gt;</p>\n"),
        (
            '[x](https://e.com "a\\" onmouseover=\\"alert(1)")',
            '<p><a href="https://e.com" title="a&quot; onmouseover=&quot;alert(1)" '
            'rel="noopener noreferrer nofollow">x</a></p>\n',
        ),
    ],
)
def test_xss_payloads_render_inert(payload, html):
    rendered = markdown_to_safe_html(payload)
    assert rendered == html
    assert_inert(rendered)


def test_links_open_without_referrer_or_opener_and_without_passing_rank():
    assert markdown_to_safe_html("[docs](https://e.com/docs) <mailto:qa@e.com>") == (
        '<p><a href="https://e.com/docs" rel="noopener noreferrer nofollow">docs</a> '
        '<a href="mailto:qa@e.com" rel="noopener noreferrer nofollow">mailto:qa@e.com</a></p>\n'
    )


def test_markdown_structure_survives_sanitizing_without_style_attributes():
    html = markdown_to_safe_html("# T\n\n3. a\n4. b\n\n| h |\n|--:|\n| c |\n\n```py\nx < y\n```\n\n> ~~q~~")
    assert html == (
        "<h1>T</h1>\n"
        '<ol start="3">\n<li>a</li>\n<li>b</li>\n</ol>\n'
        "<table>\n<thead>\n<tr>\n<th>h</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>c</td>\n</tr>\n</tbody>\n</table>\n"
        "<pre><code>x &lt; y\n</code></pre>\n"
        "<blockquote>\n<p><s>q</s></p>\n</blockquote>\n"
    )


def test_images_keep_web_addresses():
    assert (
        markdown_to_safe_html('![shot](https://e.com/s.png "Shot")')
        == '<p><img src="https://e.com/s.png" alt="shot" title="Shot"></p>\n'
    )


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.stem)
def test_corpus_renders_inert(path):
    assert_inert(markdown_to_safe_html(path.read_text()))


@settings(max_examples=200, deadline=None)
@given(markdown_documents)
def test_any_markdown_renders_inert(markdown):
    assert_inert(markdown_to_safe_html(markdown))


def test_an_azure_devops_description_becomes_markdown():
    html = (
        "<div><b>Repro</b> steps:</div>"
        '<div><ol start="2"><li>Open <a href="https://dev.azure.com/o/p/_workitems/7">the item</a></li>'
        "<li>Click&nbsp;<i>Save</i><br>twice</li></ol></div>"
        "<table><tr><th>Browser</th><th>Result</th></tr>"
        '<tr><td>Edge</td><td><span style="color:red">fail</span></td></tr></table>'
        '<pre class="language-py">\nassert ok\n</pre>'
        "<blockquote><h2>Note</h2>flaky</blockquote><hr>"
    )
    assert html_to_markdown(html) == (
        "**Repro** steps:\n\n"
        "2. Open [the item](https://dev.azure.com/o/p/_workitems/7)\n"
        "3. Click\xa0*Save*\\\n   twice\n\n"
        "| Browser | Result |\n|---|---|\n| Edge | fail |\n\n"
        "```py\nassert ok\n```\n\n"
        "> **Note**\n>\n> flaky\n\n"
        "---"
    )


def test_scripts_styles_and_unsafe_links_from_html_leave_no_trace_but_their_text():
    html = (
        "<script>alert(1)</script><style>p{color:red}</style><svg/><iframe src=x>frame</iframe>"
        '<p onclick="steal()">text <a href="javascript:alert(1)">bad link</a> '
        '<img src="javascript:x" onerror=alert(1) alt=pic></p>'
    )
    assert html_to_markdown(html) == "text bad link pic"


def test_tag_soup_is_read_like_a_browser_would():
    assert html_to_markdown("<ul><li>one<li>two</ul></b></i><p>open <b>bold") == "- one\n- two\n\nopen **bold**"


@settings(max_examples=200, deadline=None)
@given(markdown_documents)
def test_markdown_through_our_own_html_and_back_keeps_the_text(markdown):
    assert markdown_text(html_to_markdown(markdown_to_safe_html(markdown))) == markdown_text(markdown)


@pytest.mark.parametrize("html", ["<div>" * 5000 + "core", "<ul><li>" * 3000 + "core", "<b><i>" * 3000 + "core"])
def test_absurdly_deep_html_keeps_its_text(html):
    assert markdown_text(html_to_markdown(html)).endswith("core")


def test_task_lists_render_disabled_checkboxes():
    html = markdown_to_safe_html("- [ ] write the test\n- [x] fix the bug")
    assert html == (
        '<ul>\n<li><input type="checkbox" disabled="disabled"> write the test</li>\n'
        '<li><input checked="checked" type="checkbox" disabled="disabled"> fix the bug</li>\n</ul>\n'
    )


def test_only_task_checkboxes_survive_as_inputs():
    # Raw HTML stays text, so no other input (a text field, a button) can be written in Markdown.
    html = markdown_to_safe_html('<input type="text" value="x"> <input type="checkbox" onclick="x()">')
    assert "<input" not in html


def long_table(rows: int, label: str = "case ") -> str:
    """A GFM table of `rows` body rows and four columns, as a test report pasted into a description."""
    body = "\n".join(f"|{label}{number}|ok|{number}|ms|" for number in range(1, rows + 1))
    return f"| Test | Outcome | Time | Unit |\n| --- | --- | ---: | --- |\n{body}"


class BoundedRenderingTests:
    """What one text may cost to render is bounded, and a notice in the output says where it was cut."""

    def test_a_table_past_the_cell_budget_is_cut_with_a_notice_and_the_text_after_it_is_shown(self):
        rendered = markdown_to_safe_html(long_table(3_500) + "\n\nSigned off by QA.")

        assert "<td>case 2499</td>" in rendered and "<td>case 2500</td>" not in rendered
        assert (
            "<p><em>The table goes on for 1,001 rows more, not shown: a text shows at most 10,000 table cells.</em></p>"
        ) in rendered
        assert rendered.endswith("<p>Signed off by QA.</p>\n")

    def test_tables_share_the_budget_and_a_table_past_it_is_not_shown(self):
        rendered = markdown_to_safe_html(f"{long_table(2_498)}\n\nSecond run:\n\n{long_table(500, 'rerun ')}")

        assert "<td>case 2498</td>" in rendered and "rerun" not in rendered
        assert "<p><em>A table of 501 rows is not shown: a text shows at most 10,000 table cells.</em></p>" in rendered

    def test_a_table_wider_than_any_screen_is_not_shown(self):
        header = "|" + "|".join(f" c{number} " for number in range(200)) + "|"
        delimiter = "|" + "---|" * 200
        rendered = markdown_to_safe_html(f"{header}\n{delimiter}\n| a |\n\nEnd.")

        assert "<table>" not in rendered and "c199" not in rendered
        assert "<p><em>A table of 200 columns is not shown: tables show at most 64.</em></p>" in rendered
        assert "<p>End.</p>" in rendered

    def test_small_tables_are_untouched(self):
        rendered = markdown_to_safe_html(long_table(3))
        assert "<td>case 3</td>" in rendered and "<em>" not in rendered

    def test_quotes_nested_past_the_limit_say_that_their_content_is_not_shown(self):
        rendered = markdown_to_safe_html("\n".join("> " * depth + f"level {depth}" for depth in range(1, 30)))

        assert "level 19" in rendered and "level 25" not in rendered
        assert rendered.endswith("<p><em>Text nested more than 20 levels deep (lists, quotes) is not shown.</em></p>\n")

    def test_past_the_markdown_limit_the_rest_is_plain_escaped_text_with_a_notice(self):
        head = "- item *a*\n" * 10_000  # 110,000 characters
        rendered = markdown_to_safe_html(head + "<script>alert(1)</script> **not bold**\n")

        assert rendered.count("<li>item <em>a</em></li>") == 9_090
        assert "characters, shown as plain text: only the first 100,000 characters of a text are formatted." in rendered
        assert "&lt;script&gt;alert(1)&lt;/script&gt; **not bold**" in rendered
        assert_inert(rendered)

    def test_a_long_text_is_rendered_once_and_then_read_from_the_cache(self, monkeypatch):
        from integrations.richtext import html

        text = long_table(100, label=f"{uuid.uuid4()} ")
        rendered = markdown_to_safe_html(text)
        renders = []
        monkeypatch.setattr(html, "_render", lambda markdown: renders.append(markdown) or "changed")

        assert markdown_to_safe_html(text) == rendered and renders == []
        assert markdown_to_safe_html(text + "\n|one|more|row|.|") == "changed"
