"""REST endpoints of the projects app, and the base every project-scoped endpoint builds on.

Authorization lives in one place, `ProjectScopedViewSet`: reads only ever see the caller's
projects (another project's object answers 404 exactly like a missing one), writes ask
`permissions.ensure` for the object's project (viewers get 403).
"""

import operator

from django import forms
from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models, transaction
from django.db.models import Prefetch, Q
from django.urls import path
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from oauth2_provider.models import AccessToken
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import BaseParser, DataAndFiles, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from . import selectors, services
from .importers import junit
from .login_throttle import LOCKED_OUT, LockedOut, login_attempt
from .models import ApiToken, Milestone, Project, Requirement, ResultStatus, TestCase, TestPlan, TestResult, TestRun
from .pagination import ApiPagination
from .permissions import Action, ensure, is_system_admin, visible_projects
from .serializers import (
    ApiTokenSerializer,
    BulkResultsAnswerSerializer,
    BulkResultsSerializer,
    JUnitSummarySerializer,
    JUnitUploadSerializer,
    LoginSerializer,
    MeSerializer,
    MilestoneSerializer,
    NewApiTokenSerializer,
    ProjectSerializer,
    RequirementSerializer,
    TestCaseSerializer,
    TestPlanSerializer,
    TestResultSerializer,
    TestRunDetailSerializer,
    TestRunSerializer,
)


class ProjectScopedViewSet(viewsets.ModelViewSet):
    """CRUD on objects that belong to a project.

    Subclasses define `base_queryset()` (their objects before scoping), and `project_path` when the project is not the
    object's `project` field (a result's is `run__project`).
    """

    project_path = "project"
    edit_action = Action.EDIT  # create, change, and any POST on an object
    delete_action = Action.EDIT
    creator_field: str | None = None  # model field that records who created the object
    pagination_class = ApiPagination
    filter_backends = [filters.DjangoFilterBackend, SearchFilter, OrderingFilter]

    def get_queryset(self):
        visible = visible_projects(self.request.user)
        return self.base_queryset().filter(**{f"{self.project_path}__in": visible})

    def project_of(self, obj) -> Project:
        return operator.attrgetter(self.project_path.replace("__", "."))(obj)

    def project_of_new(self, validated_data) -> Project:
        return validated_data["project"]

    def find_object(self, queryset):
        lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
        return get_object_or_404(queryset, **{self.lookup_field: self.kwargs[lookup_url_kwarg]})

    def get_object(self):
        obj = self.find_object(self.get_queryset())
        self.check_object_permissions(self.request, obj)
        if self.request.method not in SAFE_METHODS:
            needed = self.delete_action if self.request.method == "DELETE" else self.edit_action
            ensure(self.request.user, needed, self.project_of(obj))
        return obj

    def perform_create(self, serializer):
        ensure(self.request.user, self.edit_action, self.project_of_new(serializer.validated_data))
        serializer.save(**({self.creator_field: self.request.user} if self.creator_field else {}))

    def fresh(self, instance):
        """The saved object as reads show it (annotations included)."""
        return self.get_serializer(self.get_queryset().get(pk=instance.pk)).data

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        return Response(self.fresh(serializer.instance), status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        self.perform_update(serializer)
        return Response(self.fresh(serializer.instance))


class DatabaseIntegerFilter(filters.NumberFilter):
    """A whole number within the database's 64-bit integer range: `?run=99999999999999999999` or
    `?run=1e30` answers 400 naming the parameter, on every backend (SQLite raised OverflowError, a
    500; PostgreSQL quietly answered nothing)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", -(2**63))
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class ApiFilterSet(filters.FilterSet):
    """Base of every API filter set: integer fields listed in `Meta.fields` get DatabaseIntegerFilter."""

    FILTER_DEFAULTS = {
        **filters.FilterSet.FILTER_DEFAULTS,
        **{
            field: {"filter_class": DatabaseIntegerFilter}
            for field in (
                models.AutoField,
                models.BigAutoField,
                models.SmallAutoField,
                models.IntegerField,
                models.BigIntegerField,
                models.SmallIntegerField,
                models.PositiveIntegerField,
                models.PositiveBigIntegerField,
                models.PositiveSmallIntegerField,
            )
        },
    }


class ProjectFilter(ApiFilterSet):
    """`?project=SHOP` on every project-scoped list."""

    project = filters.CharFilter(field_name="project__key", help_text="Project key, e.g. SHOP.")


class ProjectViewSet(ProjectScopedViewSet):
    """Projects you are a member of. System admins create and delete projects; project admins edit them."""

    serializer_class = ProjectSerializer
    project_path = "pk"
    edit_action = Action.MANAGE
    lookup_field = "key"
    lookup_value_regex = "[A-Za-z][A-Za-z0-9]*"
    search_fields = ["key", "name", "description"]
    ordering_fields = ["key", "name", "created_at"]
    ordering = ["key"]

    def base_queryset(self):
        return selectors.projects_with_role(self.request.user)

    def project_of(self, obj):
        return obj

    def find_object(self, queryset):
        return get_object_or_404(queryset, key=self.kwargs["key"].upper())

    def _ensure_system_admin(self, verb):
        if not is_system_admin(self.request.user):
            raise PermissionDenied(f"Only system administrators {verb} projects.")

    def create(self, request, *args, **kwargs):
        self._ensure_system_admin("create")
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.save()

    def perform_destroy(self, instance):
        self._ensure_system_admin("delete")
        instance.delete()


class TestCaseFilter(ProjectFilter):
    folder = filters.CharFilter(method="in_folder", help_text="A folder path; includes its subfolders.")

    class Meta:
        model = TestCase
        fields = ["project", "folder", "automation_key"]

    def in_folder(self, queryset, name, value):
        folder = value.strip("/")
        return queryset.filter(Q(folder=folder) | Q(folder__startswith=f"{folder}/"))


@extend_schema_view(
    create=extend_schema(
        description=(
            "The project is given by key or id, or left out when you are in exactly one project. "
            "Steps are (action, expected) pairs; the estimate is in seconds (or a duration such as 1m 30s). "
            "An unknown field is refused with 400 naming it."
        ),
        examples=[
            OpenApiExample(
                "Title and description",
                value={"title": "Pay by card", "description": "Checks that cards are taken."},
                request_only=True,
            ),
            OpenApiExample(
                "Every field",
                value={
                    "project": "SHOP",
                    "title": "Pay by card",
                    "description": "Checks that cards are taken.",
                    "priority": "high",
                    "type": "Functional",
                    "estimate": 90,
                    "preconditions": "A saved card",
                    "steps": [{"action": "Open the cart", "expected": "The cart lists the item"}],
                    "custom_fields": {"browser": "Firefox"},
                },
                request_only=True,
            ),
        ],
    )
)
class TestCaseViewSet(ProjectScopedViewSet):
    serializer_class = TestCaseSerializer
    creator_field = "created_by"
    filterset_class = TestCaseFilter
    search_fields = ["title", "description", "preconditions", "steps", "automation_key"]
    ordering_fields = ["title", "folder", "created_at", "updated_at", "id"]
    ordering = ["folder", "title", "id"]

    def base_queryset(self):
        return TestCase.objects.select_related("project", "created_by", "case_type")


class TestRunFilter(ProjectFilter):
    completed = filters.BooleanFilter(
        field_name="completed_at",
        lookup_expr="isnull",
        exclude=True,
        help_text="true: completed runs only; false: runs still in progress.",
    )

    class Meta:
        model = TestRun
        fields = ["project", "environment", "completed"]


class XMLReportParser(BaseParser):
    """A JUnit report sent as the request body (`curl --data-binary @report.xml`)."""

    media_type = "application/xml"

    def parse(self, stream, media_type=None, parser_context=None):
        # One byte more than allowed is enough to tell the uploader the report is too large.
        data = stream.read(junit.MAX_REPORT_BYTES + 1)
        return DataAndFiles({}, {"file": SimpleUploadedFile("report.xml", data, content_type=self.media_type)})


class TextXMLReportParser(XMLReportParser):
    media_type = "text/xml"


class TestRunViewSet(ProjectScopedViewSet):
    """Test runs with a count of results per status; a run's detail lists its results."""

    creator_field = "created_by"
    filterset_class = TestRunFilter
    search_fields = ["name", "description", "environment"]
    ordering_fields = ["created_at", "completed_at", "name", "id"]
    ordering = ["-created_at", "-id"]

    def get_serializer_class(self):
        return TestRunDetailSerializer if self.action == "retrieve" else TestRunSerializer

    def base_queryset(self):
        runs = selectors.with_result_counts(TestRun.objects.select_related("project", "created_by"))
        if self.action == "retrieve":
            results = TestResult.objects.select_related("case", "recorded_by")
            results = results.order_by("case__folder", "case__title", "id")
            runs = runs.prefetch_related(Prefetch("results", queryset=results))
        return runs

    @extend_schema(
        summary="Upload a JUnit XML report into the run",
        description=(
            "Records one result per test case of the report (failure or error: failed, skipped: skipped, "
            "otherwise passed; message and duration kept) and creates the test cases it does not know yet, "
            "identified by classname and name. Send the file as multipart field `file`, or the XML as the body "
            "with Content-Type application/xml. A malformed report, or one declaring XML entities, is refused "
            "with 400 and nothing is recorded."
        ),
        request={
            "multipart/form-data": JUnitUploadSerializer,
            "application/xml": OpenApiTypes.BINARY,
            "text/xml": OpenApiTypes.BINARY,
        },
        responses={200: JUnitSummarySerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, XMLReportParser, TextXMLReportParser])
    def junit(self, request, pk=None):
        run = self.get_object()
        upload = JUnitUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        try:
            summary = junit.import_junit(run, upload.validated_data["file"].read(), user=request.user)
        except junit.JUnitError as problem:
            raise exceptions.ParseError(str(problem)) from problem
        return Response(JUnitSummarySerializer(summary).data)


class TestResultFilter(ApiFilterSet):
    project = filters.CharFilter(field_name="run__project__key", help_text="Project key, e.g. SHOP.")
    # Plain numbers: a choice field would tell an unknown id (400) from another project's (empty list).
    run = DatabaseIntegerFilter(field_name="run_id", help_text="Test run id.")
    case = DatabaseIntegerFilter(field_name="case_id", help_text="Test case id.")
    status = filters.MultipleChoiceFilter(choices=ResultStatus.choices)
    assignee = filters.CharFilter(
        method="assigned_to", help_text="Username of the assignee; `me` for the results assigned to you."
    )

    class Meta:
        model = TestResult
        fields = ["project", "run", "case", "status", "assignee"]

    def assigned_to(self, queryset, name, value):
        if value == "me":
            return queryset.filter(assignee=self.request.user)
        return queryset.filter(assignee__username=value)


class TestResultViewSet(ProjectScopedViewSet):
    """Results of test cases in runs (one per case and run)."""

    serializer_class = TestResultSerializer
    project_path = "run__project"
    creator_field = "recorded_by"
    filterset_class = TestResultFilter
    ordering_fields = ["recorded_at", "status", "id"]
    ordering = ["run", "case__folder", "case__title", "id"]

    def base_queryset(self):
        return TestResult.objects.select_related("run__project", "case", "recorded_by", "assignee")

    def project_of_new(self, validated_data):
        return validated_data["run"].project

    # Writes go through the serializer to projects.services (create_result, record_result), which
    # send results_recorded: the same write path as the pages.

    @extend_schema(
        summary="Set the status or the assignee of several results at once",
        description=(
            "`results` lists result ids (of any runs of projects where you record results). A `status` is given to "
            "all of them, keeping their comments and durations, and known-failure rules run as for single results; "
            "an `assignee` (username, null: nobody) must be a member who records results in each result's project. "
            "Nothing changes unless everything is valid."
        ),
        request=BulkResultsSerializer,
        responses={200: BulkResultsAnswerSerializer},
    )
    @action(detail=False, methods=["post"])
    @transaction.atomic
    def bulk(self, request):
        bulk = BulkResultsSerializer(data=request.data, context=self.get_serializer_context())
        bulk.is_valid(raise_exception=True)
        data = bulk.validated_data
        by_project: dict[Project, list[TestResult]] = {}
        for result in data["results"]:
            by_project.setdefault(result.run.project, []).append(result)
        for project in by_project:
            ensure(request.user, Action.EDIT, project)
        if "assignee" in data:
            for project, results in by_project.items():
                services.assign_results(results, project=project, assignee=data["assignee"])
        if "status" in data:
            services.record_results(data["results"], status=data["status"], actor=request.user)
        return Response({"updated": len(data["results"])})


class RequirementFilter(ProjectFilter):
    folder = filters.CharFilter(method="in_folder", help_text="A folder path; includes its subfolders.")

    class Meta:
        model = Requirement
        fields = ["project", "folder", "state", "priority", "origin_key"]

    def in_folder(self, queryset, name, value):
        folder = value.strip("/")
        return queryset.filter(Q(folder=folder) | Q(folder__startswith=f"{folder}/"))


class RequirementViewSet(ProjectScopedViewSet):
    serializer_class = RequirementSerializer
    filterset_class = RequirementFilter
    search_fields = ["title", "description", "origin_key"]
    ordering_fields = ["priority", "title", "state", "created_at", "updated_at", "id"]
    ordering = ["priority", "title", "id"]

    def base_queryset(self):
        return Requirement.objects.select_related("project")


class MilestoneFilter(ProjectFilter):
    class Meta:
        model = Milestone
        fields = ["project"]


class MilestoneViewSet(ProjectScopedViewSet):
    """Milestones made in the project (pulled releases and sprints are on the Plans page)."""

    serializer_class = MilestoneSerializer
    creator_field = "created_by"
    filterset_class = MilestoneFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "start_date", "due_date", "id"]
    ordering = ["due_date", "name", "id"]

    def base_queryset(self):
        return Milestone.objects.select_related("project", "created_by")


class TestPlanFilter(ProjectFilter):
    milestone = DatabaseIntegerFilter(field_name="milestone_id", help_text="Milestone id.")

    class Meta:
        model = TestPlan
        fields = ["project", "milestone"]


class TestPlanViewSet(ProjectScopedViewSet):
    """Plans: a set of runs for a milestone."""

    serializer_class = TestPlanSerializer
    creator_field = "created_by"
    filterset_class = TestPlanFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "id"]
    ordering = ["name", "id"]

    def base_queryset(self):
        return TestPlan.objects.select_related("project", "milestone", "created_by").prefetch_related("runs")


class TokenView(APIView):
    """Personal API tokens: POST signs in with username and password, DELETE revokes the calling token."""

    throttle_scope = "auth_token"

    def get_authenticators(self):
        # Signing in needs no prior authentication (nor a CSRF token for a browser session).
        # The schema generator asks before any request exists.
        return [] if getattr(self.request, "method", None) == "POST" else super().get_authenticators()

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    def get_throttles(self):
        return [ScopedRateThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        summary="Create a personal API token",
        description="Answers the token once; send it as `Authorization: Bearer <token>`. At most 10 attempts a minute; "
        "five wrong passwords for one username from one address lock it out for 15 minutes, as on the login page.",
        request=LoginSerializer,
        responses={201: NewApiTokenSerializer},
        auth=[],
    )
    def post(self, request):
        login = LoginSerializer(data=request.data)
        login.is_valid(raise_exception=True)
        credentials = login.validated_data
        try:
            with login_attempt(request, credentials["username"]):
                user = authenticate(request, username=credentials["username"], password=credentials["password"])
                if user is None:
                    raise exceptions.ValidationError("Unable to sign in with this username and password.")
        except LockedOut:
            raise exceptions.Throttled(detail=LOCKED_OUT) from None
        token, raw = ApiToken.objects.issue(user=user, name=credentials["name"])
        return Response({**ApiTokenSerializer(token).data, "token": raw}, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Revoke the token that authenticates this request",
        request=None,
        responses={204: OpenApiResponse(description="Revoked.")},
    )
    def delete(self, request):
        if isinstance(request.auth, AccessToken):
            raise exceptions.ValidationError(
                "This request uses an OAuth access token; its client revokes it at /oauth/revoke_token/."
            )
        if not isinstance(request.auth, ApiToken):
            raise exceptions.ValidationError(
                "This request is not authenticated by a token; revoke tokens on /account/tokens/ instead."
            )
        request.auth.revoke()
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    """Who the caller is: the user, their projects and roles, and the token in use."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        me = {
            "id": user.pk,
            "username": user.get_username(),
            "email": user.email,
            "full_name": user.get_full_name(),
            "is_superuser": user.is_superuser,
            "projects": selectors.projects_with_role(user).order_by("key"),
            "token": request.auth if isinstance(request.auth, ApiToken) else None,
        }
        return Response(MeSerializer(me).data)


router = SimpleRouter(trailing_slash=False)
router.register("projects", ProjectViewSet, basename="project")
router.register("testcases", TestCaseViewSet, basename="testcase")
router.register("testruns", TestRunViewSet, basename="testrun")
router.register("testresults", TestResultViewSet, basename="testresult")
router.register("requirements", RequirementViewSet, basename="requirement")
router.register("milestones", MilestoneViewSet, basename="milestone")
router.register("testplans", TestPlanViewSet, basename="testplan")

urlpatterns = [
    path("auth/token", TokenView.as_view(), name="api-token"),
    path("auth/me", MeView.as_view(), name="api-me"),
    *router.urls,
]
