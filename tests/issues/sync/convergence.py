"""The two-way sync as a state machine: does it converge, whatever the order things happen in?

Two Jira Cloud issues (a fake over real HTTP on 127.0.0.1) are linked as defects of a project whose
integration keeps defects in step, pushes their changes and syncs comments; the member Mia writes
comments here, which are posted with her own OAuth token. Steps change either side (a defect's status,
priority or a comment here; an issue's status, priority, title, comments, project (a new key) or its
deletion in Jira), deliver Jira's webhooks to the real hook (in order, late, twice, or never), run the
Celery tasks the sync queued (the real task functions, in this process), kill a task's worker after its
n-th tracker answer and deliver the task again (``acks_late``: the broker redelivers it), let Mia's
access token expire, and refresh. ``settle`` is a quiet point: the deliveries still in flight arrive,
the queued tasks run, every lease and grace period has passed, one refresh runs; then both sides must
agree (``check``).

The machine runs inside the test's transaction, one savepoint per example (rolled back at teardown);
``transaction.on_commit`` callbacks are run as each step ends (as they would be at its commit), and the
tasks they queue wait in ``queue`` for a step that runs them.
"""

from __future__ import annotations

import itertools
import sys
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from unittest import mock

from celery.app.task import Task
from django.core.cache import cache
from django.db import transaction
from django.test import Client, TestCase
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from integrations.http import TrackerHttpClient
from integrations.mappings import default_priority_mapping, default_status_mapping, same_name
from integrations.models import AuthType, Provider, TokenKind, UserToken
from integrations.providers import jira as jira_provider
from issues.core.models import CommentOrigin, IssueComment, IssuePriority, IssueStatus
from issues.core.services import update_issue
from issues.links.models import ExternalReference, Link
from issues.links.services import link
from issues.sync import comments as sync_comments
from issues.sync import defects as sync_defects
from issues.sync.defects import defect_priority, defect_status, tracker_statuses
from issues.sync.models import DefectSync
from testmanager.celery import app
from tests.factories import (
    ProjectFactory,
    ProjectIntegrationFactory,
    SourceFactory,
    TestResultFactory,
    UserFactory,
)
from tests.fakes.fixtures import CLOUD_API_TOKEN, CLOUD_LOGIN
from tests.fakes.jira import JiraFake, plain_text
from tests.fakes.webhooks import Delivery

SECRET = "whsec-convergence-webhook-secret"
CLIENT_ID, CLIENT_SECRET = "testmanager-oauth-client", "oauth-client-secret-value"
CLOUD_ID = "1324a887-45db-1bf4-1e99-ef0ff456d421"
MIA, NOAH = "mia@example.com", "noah@example.com"
ISSUES = 2
SETTLE_ROUNDS = 30  # tasks queued by tasks while a quiet point drains: more is a loop, which does not converge

STATUSES = ("To Do", "In Progress", "Done")
PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")


# What the machines did, for bench/sync_soak.py's report: tasks run, worker deaths, deliveries, quiet points.
STATS: Counter = Counter()


class WorkerDied(BaseException):
    """The worker running a task was killed (a BaseException: no ``except`` of the code under test
    catches it, as nothing catches a SIGKILL)."""


@dataclass
class Queued:
    """A task the sync queued (``delay``/``apply_async``), as the broker holds it."""

    name: str
    args: tuple
    kwargs: dict
    redelivered: bool = False

    def __str__(self):
        return f"{self.name}{self.args}{'(redelivered)' if self.redelivered else ''}"


@dataclass
class Crash:
    """Kill the worker once the tracker answered ``after`` requests of the running task."""

    after: int
    answered: int = 0


@dataclass
class Tracked:
    """One Jira issue and its reference here."""

    issue_id: str
    reference_id: int
    deleted: bool = False
    local_comments: list[str] = field(default_factory=list)  # bodies of comments written here


class SyncMachine(RuleBasedStateMachine):
    """See the module docstring."""

    def __init__(self):
        super().__init__()
        self._stack = ExitStack()
        self.queue: list[Queued] = []
        self.in_flight: list[Delivery] = []  # sent by Jira, not yet received
        self.delivered: list[Delivery] = []  # received at least once (Jira may send them again)
        self.crash: Crash | None = None
        self.numbers = itertools.count(1)
        self._started = False
        self._open()

    @invariant()
    def counted(self):
        """Counts the steps run (hypothesis checks invariants once after setup, then after every step)."""
        STATS["steps"] += 1 if self._started else 0
        self._started = True

    # -- setup and teardown -----------------------------------------------------------------------------

    def _open(self) -> None:
        stack = self._stack
        stack.enter_context(transaction.atomic())
        stack.callback(transaction.set_rollback, True)  # what the example wrote is rolled back at teardown
        cache.clear()
        stack.callback(cache.clear)
        stack.enter_context(mock.patch.object(Task, "apply_async", self._enqueuer()))
        stack.enter_context(mock.patch.object(TrackerHttpClient, "_send", self._send()))
        fake = JiraFake("cloud", context_path=f"/ex/jira/{CLOUD_ID}")
        fake.set_credentials(CLOUD_LOGIN, CLOUD_API_TOKEN)
        fake.add_user(MIA, display_name="Mia Krystof")
        fake.add_user(NOAH, display_name="Noah Berg")
        fake.add_project("SHOP")
        fake.add_project("OPS")
        self.oauth = fake.enable_oauth(CLIENT_ID, CLIENT_SECRET, "http://testserver/api/auth/jira/callback")
        stack.enter_context(fake)
        stack.enter_context(mock.patch.object(jira_provider, "ATLASSIAN_AUTH", fake.server.origin))
        stack.enter_context(mock.patch.object(jira_provider, "ATLASSIAN_API", fake.server.origin))
        self.fake = fake
        self.hook = Client(enforce_csrf_checks=True)
        self._seed()

    def _seed(self) -> None:
        fake = self.fake
        self.source = SourceFactory(
            provider=Provider.JIRA_CLOUD,
            name="Jira",
            base_url=fake.base_url,
            allow_http=True,
            auth_type=AuthType.API_TOKEN,
            credentials={
                "email": CLOUD_LOGIN,
                "api_token": CLOUD_API_TOKEN,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
            webhook_secret=SECRET,
            can_process_webhooks=True,
            rate_limit_per_minute=1_000_000,
        )
        self.project = ProjectFactory(key="SHOP")
        self.integration = ProjectIntegrationFactory(
            project=self.project,
            source=self.source,
            external_project="SHOP",
            priority_mapping=default_priority_mapping(),
            status_mapping=default_status_mapping(),
            sync_defects=True,
            push_defect_changes=True,
            sync_comments=True,
        )
        self.mia = UserFactory(username="mia")
        answer = self.oauth.grant(CLIENT_ID, MIA, ("read:jira-work", "write:jira-work", "offline_access"))
        UserToken.objects.create(
            user=self.mia,
            source=self.source,
            kind=TokenKind.OAUTH2,
            access_token=answer["access_token"],
            refresh_token=answer["refresh_token"],
            expires_at=None,
            scopes=answer["scope"],
            remote_account=MIA,
            resource_id=CLOUD_ID,
            resource_url=fake.base_url,
        )
        self.tracked: list[Tracked] = []
        for number in range(ISSUES):
            issue = fake.add_issue("SHOP", f"Defect {number}", priority="Medium", created=fake.now())
            reference = ExternalReference.objects.create(
                source=self.source,
                source_name=self.source.name,
                key=issue.key,
                url=f"{fake.base_url}/browse/{issue.key}",
                title=issue.summary,
                status=issue.status.name,
                status_category="todo",
                priority=issue.priority,
                remote_updated_at=issue.updated,
            )
            with self._committing():
                link(artefact=TestResultFactory(run__project=self.project), reference=reference, actor=self.mia)
            self.tracked.append(Tracked(issue.id, reference.pk))
        self.created_in_jira = ISSUES

    def teardown(self):
        """The end of an example is a quiet point too (unless a step failed: that failure is the report)."""
        try:
            if sys.exc_info()[0] is None:
                self.settle()
        finally:
            self._stack.close()

    # -- plumbing: tasks, commits, crashes ----------------------------------------------------------------

    def _enqueuer(self):
        """``Task.apply_async`` (and so ``delay``): the task waits in the queue, as the broker holds it."""
        queue = self.queue

        def apply_async(task, args=None, kwargs=None, **options):
            queue.append(Queued(task.name, tuple(args or ()), dict(kwargs or {})))

        return apply_async

    def _send(self):
        machine, real = self, TrackerHttpClient._send

        def send(client, *args, **kwargs):
            response = real(client, *args, **kwargs)
            crash = machine.crash
            if crash is not None:
                crash.answered += 1
                if crash.answered >= crash.after:
                    machine.crash = None
                    raise WorkerDied(f"killed after {crash.answered} tracker answer(s)")
            return response

        return send

    def _committing(self):
        """What a step wrote is committed: its on_commit callbacks run (tasks they queue wait in the queue)."""
        return TestCase.captureOnCommitCallbacks(execute=True)

    def _run(self, queued: Queued) -> None:
        task = app.tasks[queued.name]
        STATS[f"task {queued.name}"] += 1
        before = self._jira_snapshot()
        task.push_request(delivery_info={"redelivered": queued.redelivered})
        try:
            with self._committing():
                task.run(*queued.args, **queued.kwargs)
        finally:
            task.pop_request()
            self._webhooks_of_own_changes(before)

    def _jira_snapshot(self) -> dict:
        return {issue.id: (issue.updated, {c.id for c in issue.comments}) for issue in self.fake.issues.values()}

    def _webhooks_of_own_changes(self, before: dict) -> None:
        """Jira sends its webhooks for the changes the sync made too (a comment posted, a transition)."""
        for issue in list(self.fake.issues.values()):
            updated, comment_ids = before.get(issue.id, (None, set()))
            new = [comment for comment in issue.comments if comment.id not in comment_ids]
            for comment in new:
                self.in_flight.append(self.fake.comment_delivery(issue.key, comment.id, secret=SECRET))
            if issue.updated != updated and not new:
                self.in_flight.append(self.fake.issue_delivery(issue.key, secret=SECRET))

    def _post(self, delivery: Delivery) -> None:
        STATS["webhook deliveries"] += 1
        with self._committing():
            answer = self.hook.post(
                f"/hooks/{self.source.uuid}/",
                data=delivery.body,
                content_type="application/json",
                headers=delivery.headers,
            )
        assert answer.status_code == 200, answer.content

    # -- who is who -------------------------------------------------------------------------------------

    def _live(self) -> list[Tracked]:
        return [tracked for tracked in self.tracked if not tracked.deleted]

    def _jira_issue(self, tracked: Tracked):
        return next(issue for issue in self.fake.issues.values() if issue.id == tracked.issue_id)

    def _defect_sync(self, tracked: Tracked) -> DefectSync:
        return DefectSync.objects.select_related("issue", "integration", "reference").get(
            reference_id=tracked.reference_id
        )

    def _pick(self, items: list, index: int):
        return items[index % len(items)]

    # -- changes here -------------------------------------------------------------------------------------

    @rule(which=st.integers(0, ISSUES - 1), status=st.sampled_from(IssueStatus.values))
    def status_changed_here(self, which, status):
        defect = self._defect_sync(self.tracked[which]).issue
        with self._committing():
            update_issue(defect, expected_version=defect.version, status=status, actor=self.mia)

    @rule(which=st.integers(0, ISSUES - 1), priority=st.sampled_from(IssuePriority.values))
    def priority_changed_here(self, which, priority):
        defect = self._defect_sync(self.tracked[which]).issue
        with self._committing():
            update_issue(defect, expected_version=defect.version, priority=priority, actor=self.mia)

    @rule(which=st.integers(0, ISSUES - 1))
    def comment_written_here(self, which):
        tracked = self.tracked[which]
        body = f"Comment {next(self.numbers)} written here"
        with self._committing():
            sync_comments.add_comment(self._defect_sync(tracked).issue, author=self.mia, body=body)
        tracked.local_comments.append(body)

    # -- changes in Jira ----------------------------------------------------------------------------------

    def _jira_changes(self, which: int, **changes) -> None:
        tracked = self._pick(self._live(), which)
        issue = self.fake.edit_issue(self._jira_issue(tracked).key, **changes)
        self.in_flight.append(self.fake.issue_delivery(issue.key, secret=SECRET))

    @precondition(lambda self: self._live())
    @rule(which=st.integers(0, ISSUES - 1), status=st.sampled_from(STATUSES))
    def status_changed_in_jira(self, which, status):
        self._jira_changes(which, status=status)

    @precondition(lambda self: self._live())
    @rule(which=st.integers(0, ISSUES - 1), priority=st.sampled_from(PRIORITIES))
    def priority_changed_in_jira(self, which, priority):
        self._jira_changes(which, priority=priority)

    @precondition(lambda self: self._live())
    @rule(which=st.integers(0, ISSUES - 1))
    def title_changed_in_jira(self, which):
        self._jira_changes(which, summary=f"Defect renamed {next(self.numbers)}")

    @precondition(lambda self: self._live())
    @rule(which=st.integers(0, ISSUES - 1))
    def comment_written_in_jira(self, which):
        issue = self._jira_issue(self._pick(self._live(), which))
        comment = self.fake.add_comment(issue.key, f"Comment {next(self.numbers)} written in Jira", author=NOAH)
        issue.updated = comment.created  # a comment dates the issue's change, as the API's comment does
        self.in_flight.append(self.fake.comment_delivery(issue.key, comment.id, secret=SECRET))

    def _with_comments(self) -> list:
        return [issue for issue in map(self._jira_issue, self._live()) if issue.comments]

    @precondition(lambda self: self._with_comments())
    @rule(which=st.integers(0, 99))
    def comment_edited_in_jira(self, which):
        issue = self._pick(self._with_comments(), which)
        comment = self._pick(issue.comments, which)
        self.fake.edit_comment(issue.key, comment.id, f"Comment edited in Jira ({next(self.numbers)})")
        issue.updated = comment.updated
        self.in_flight.append(self.fake.comment_delivery(issue.key, comment.id, event="comment_updated", secret=SECRET))

    @precondition(lambda self: self._with_comments())
    @rule(which=st.integers(0, 99))
    def comment_deleted_in_jira(self, which):
        issue = self._pick(self._with_comments(), which)
        comment = self._pick(issue.comments, which)
        self.fake.delete_comment(issue.key, comment.id)
        self.in_flight.append(self.fake.comment_delivery(issue.key, comment.id, event="comment_deleted", secret=SECRET))

    @precondition(lambda self: self._live())
    @rule(which=st.integers(0, ISSUES - 1))
    def moved_in_jira(self, which):
        issue = self._jira_issue(self._pick(self._live(), which))
        target = "OPS" if issue.project.key == "SHOP" else "SHOP"
        moved = self.fake.move_issue(issue.key, target)
        self.in_flight.append(self.fake.move_delivery(moved.key, secret=SECRET))

    @precondition(lambda self: self._live())
    @rule(which=st.integers(0, ISSUES - 1))
    def deleted_in_jira(self, which):
        tracked = self._pick(self._live(), which)
        key = self._jira_issue(tracked).key
        self.in_flight.append(self.fake.issue_delivery(key, event="jira:issue_deleted", secret=SECRET))
        self.fake.delete_issue(key)
        tracked.deleted = True

    # -- Jira's webhooks ----------------------------------------------------------------------------------

    @precondition(lambda self: self.in_flight)
    @rule(which=st.integers(0, 99))
    def delivered(self, which):
        """A delivery in flight arrives: the oldest (in order), or a later one before older ones."""
        delivery = self.in_flight.pop(which % len(self.in_flight))
        self._post(delivery)
        self.delivered.append(delivery)

    @precondition(lambda self: self.delivered)
    @rule(which=st.integers(0, 99))
    def delivered_again(self, which):
        self._post(self._pick(self.delivered, which))

    @precondition(lambda self: self.in_flight)
    @rule(which=st.integers(0, 99))
    def lost(self, which):
        self.in_flight.pop(which % len(self.in_flight))

    # -- the worker ---------------------------------------------------------------------------------------

    @precondition(lambda self: self.queue)
    @rule(which=st.integers(0, 99))
    def task_ran(self, which):
        self._run(self.queue.pop(which % len(self.queue)))

    @precondition(lambda self: self.queue)
    @rule(which=st.integers(0, 99), after=st.integers(1, 4))
    def task_died(self, which, after):
        """The worker dies once the tracker answered the task's ``after``-th request; the broker delivers
        the task again (it was not acknowledged), in its place in the queue."""
        queued = self.queue[which % len(self.queue)]
        self.crash = Crash(after)
        try:
            self._run(queued)
        except WorkerDied:
            STATS["worker deaths"] += 1
            queued.redelivered = True
        else:  # it finished before its ``after``-th answer
            self.queue.remove(queued)
        finally:
            self.crash = None

    @rule()
    def token_expired(self):
        """Mia's access token expires (or is revoked): her next request is refused, and renewed."""
        token = UserToken.objects.get(user=self.mia, source=self.source)
        self.oauth.expire(token.access_token)

    @rule()
    def refresh_queued(self):
        """The daily reconcile (or "Refresh now") queues a read of every reference."""
        self._queue_refresh()

    def _queue_refresh(self) -> None:
        from issues.sync.tasks import refresh_references

        ids = [tracked.reference_id for tracked in self.tracked]
        self.queue.append(Queued(refresh_references.name, (self.source.pk, ids), {}))

    # -- quiet points ---------------------------------------------------------------------------------------

    @rule()
    def settle(self):
        """A quiet point: the deliveries in flight arrive, the queued tasks run, time passes beyond every
        lease and grace period (locks expire, comments are old enough for the refresh to post), one refresh
        runs, and what it queued runs; then both sides agree."""
        while self.in_flight:
            delivery = self.in_flight.pop(0)
            self._post(delivery)
            self.delivered.append(delivery)
        self._drain()
        cache.clear()  # every lock, backoff and rate window has expired
        with mock.patch.object(sync_defects, "PUSH_GRACE", timedelta(0)):
            self._queue_refresh()
            self._drain()
        self.check()
        STATS["quiet points checked"] += 1

    def _drain(self) -> None:
        """Run the queued tasks and those they queue; more than ``SETTLE_ROUNDS`` beyond what was queued is a loop."""
        for _ in range(len(self.queue) + SETTLE_ROUNDS):
            if not self.queue:
                return
            self._run(self.queue.pop(0))
        raise AssertionError(f"Tasks keep queuing tasks: {', '.join(map(str, self.queue))}")

    # -- what must hold at a quiet point -----------------------------------------------------------------

    def check(self) -> None:
        assert len(self.fake.issues) == self.created_in_jira - sum(t.deleted for t in self.tracked), (
            "a tracker issue was created by the sync"
        )
        for tracked in self.tracked:
            reference = ExternalReference.objects.filter(pk=tracked.reference_id).first()
            assert reference is not None, "the reference of a Jira issue is gone"
            assert Link.objects.filter(external_reference=reference).count() == 1, f"{reference.key}: a link was lost"
            if tracked.deleted:
                assert reference.deleted_remotely, f"{reference.key} was deleted in Jira, not here"
                continue
            self._check_reference(reference, self._jira_issue(tracked))
            sync = self._defect_sync(tracked)
            self._check_defect(sync, reference)
            self._check_comments(tracked, sync, self._jira_issue(tracked))

    def _check_reference(self, reference: ExternalReference, issue) -> None:
        held = (reference.key, reference.title, reference.status, reference.priority, reference.deleted_remotely)
        assert held == (issue.key, issue.summary, issue.status.name, issue.priority, False), (
            f"reference {held} != Jira's {issue.key} {(issue.summary, issue.status.name, issue.priority)}"
        )

    def _check_defect(self, sync: DefectSync, reference: ExternalReference) -> None:
        """The defect's status and priority are Jira's, mapped, or those Jira holds them as ("resolved" is
        sent as "Done", which maps back to "closed"); nothing is left to push."""
        integration, issue = sync.integration, sync.issue
        status_held = defect_status(integration, reference.status, reference.status_category) == issue.status or any(
            same_name(reference.status, name) for name in tracker_statuses(integration, issue.status)
        )
        priority_held = defect_priority(integration, reference.priority) == issue.priority
        held = (issue.status, issue.priority)
        assert status_held and priority_held, f"defect {issue.key} {held} != Jira's {reference.key} {reference.status}"
        assert (sync.synced_status, sync.synced_priority) == held, f"defect {issue.key} still has a push"

    def _check_comments(self, tracked: Tracked, sync: DefectSync, issue) -> None:
        here = list(IssueComment.objects.filter(issue=sync.issue))
        live = {comment.id: plain_text(comment.body) for comment in issue.comments}
        every = [*issue.comments, *issue.deleted_comments]
        for comment_id, body in live.items():
            copies = [c for c in here if c.remote_id == comment_id and c.deleted_remotely_at is None]
            assert len(copies) == 1, f"Jira's comment {comment_id} ({body!r}) has {len(copies)} copies here"
            if copies[0].origin == CommentOrigin.TRACKER:
                assert copies[0].body.split() == body.split(), f"comment {comment_id}: {copies[0].body!r} != {body!r}"
        for comment in here:
            if comment.origin == CommentOrigin.TRACKER and comment.remote_id not in live:
                assert comment.deleted_remotely_at is not None, f"{comment.remote_id} deleted in Jira, not here"
        for body in tracked.local_comments:
            mine = IssueComment.objects.get(issue=sync.issue, body=body)
            posted = [  # by its id, or by its text (Jira's copy may have been edited there)
                c for c in every if c.id == mine.remote_id or plain_text(c.body).startswith(body + "\n")
            ]
            assert len(posted) == 1, f"{body!r} was posted to Jira {len(posted)} times"
            assert mine.remote_id == posted[0].id, f"{body!r}: its Jira id {posted[0].id} was not kept"
