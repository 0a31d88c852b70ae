"""Texts cut to fit a table cell keep their whole text on hover (a title attribute): result comments
on the run page and on the new-failures page; short texts are shown as they are."""

import pytest
from django.template import Context, Template
from django.urls import reverse

from projects.models import ResultStatus, Role
from tests.factories import MembershipFactory, ProjectFactory, TestResultFactory

pytestmark = pytest.mark.django_db

LONG = "The card form hangs after the third retry " * 8  # 336 characters
SHORT = "Spinner forever"


def render(text, length):
    return Template("{% load shortened %}{{ text|shortened:length }}").render(Context({"text": text, "length": length}))


def test_a_cut_text_has_its_whole_text_in_the_title_and_a_short_one_is_left_alone():
    cut = render(LONG + '<b>"x"</b>', 120)
    assert cut.startswith('<span class="shortened" title="The card form hangs')
    assert "&lt;b&gt;&quot;x&quot;&lt;/b&gt;" in cut.split('title="')[1].split('">')[0]  # escaped, complete
    assert cut.endswith("…</span>") and len(cut.split('">', 1)[1].removesuffix("</span>")) == 120
    assert render(SHORT, 120) == SHORT
    assert render("", 120) == ""


@pytest.mark.parametrize("path", ["projects/SHOP/runs/{run}/", "projects/SHOP/runs/{run}/new-failures/"])
def test_cut_comments_show_their_whole_text_on_hover(client, path):
    project = ProjectFactory(key="SHOP")
    client.force_login(MembershipFactory(project=project, role=Role.VIEWER).user)
    long = TestResultFactory(run__project=project, status=ResultStatus.FAILED, comment=LONG)
    TestResultFactory(run=long.run, case__project=project, status=ResultStatus.FAILED, comment=SHORT)

    page = client.get("/" + path.format(run=long.run.pk)).text

    assert f'<span class="shortened" title="{LONG}">' in page
    assert LONG[:100] in page and page.count(LONG) == 1  # only in the title: the cell shows the cut text
    assert SHORT in page and f'title="{SHORT}"' not in page


def test_the_run_page_tells_its_script_how_long_a_shown_comment_is(client):
    project = ProjectFactory(key="SHOP")
    client.force_login(MembershipFactory(project=project, role=Role.MEMBER).user)
    result = TestResultFactory(run__project=project)
    page = client.get(reverse("projects:run", args=["SHOP", result.run.pk])).text
    assert 'data-comment-length="120"' in page
