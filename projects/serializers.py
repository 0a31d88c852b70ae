"""API representations of projects, test artefacts and API tokens."""

from datetime import timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField, empty
from rest_framework.validators import UniqueTogetherValidator

from .forms import MAX_DURATION, parse_duration_text
from .importers import junit
from .models import ApiToken, CasePriority, Milestone, Project, Requirement, TestCase, TestPlan, TestResult, TestRun
from .permissions import Action, can, visible_projects
from .selectors import case_type_named
from .services import (
    assign_results,
    clean_custom_fields,
    clean_step_results,
    clean_steps,
    create_case,
    create_milestone,
    create_plan,
    create_result,
    create_run,
    normalize_folder,
    record_result,
    tracker_owned_changes,
    update_case,
    update_milestone,
    update_plan,
)


class ApiModelSerializer(serializers.ModelSerializer):
    """Fields named in Meta.create_only_fields are set on create; an update may repeat them, not change them."""

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            for name in self._create_only():
                fields[name].read_only = True
        return fields

    def _create_only(self):
        return getattr(self.Meta, "create_only_fields", ())

    def _current(self, name):
        field = self.fields[name]
        try:
            return field.to_representation(field.get_attribute(self.instance))
        except SkipField:  # write-only input such as a new run's cases
            return None

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        if self.instance is not None:
            changed = [
                name for name in self._create_only() if name in data and str(data[name]) != str(self._current(name))
            ]
            if changed:
                raise serializers.ValidationError({name: ["Can only be set on create."] for name in changed})
        return attrs


class VisibleProjectField(serializers.SlugRelatedField):
    """A project by key, among those the caller may see: other projects read as nonexistent."""

    default_error_messages = {"does_not_exist": "No project with key {value}."}

    def __init__(self, **kwargs):
        super().__init__(slug_field="key", **kwargs)

    def get_queryset(self):
        return visible_projects(self.context["request"].user)


class RefuseUnknownFieldsMixin:
    """A field the serializer does not know is refused with a 400 naming it, instead of being dropped:
    a typo ("titel") or a field of another version must not look like success."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            # A browser form's CSRF token travels with the data; it is the request's, not a field.
            unknown = sorted(set(data.keys()) - set(self.fields) - {"csrfmiddlewaretoken"})
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class ProjectKeyOrIdField(VisibleProjectField):
    """A project by key ("SHOP") or by id (7), among those the caller may see; shown by key."""

    default_error_messages = {"no_such_id": "No project with id {value}."}

    def to_internal_value(self, data):
        if isinstance(data, int) and not isinstance(data, bool) or (isinstance(data, str) and data.isdigit()):
            project = self.get_queryset().filter(pk=int(data)).first() if int(data) < 2**63 else None
            if project is None:
                self.fail("no_such_id", value=data)
            return project
        return super().to_internal_value(data)


class VisibleObjectField(serializers.PrimaryKeyRelatedField):
    """An object by id, among the objects of projects the caller may see."""

    default_error_messages = {"does_not_exist": "No {label} with id {pk_value}."}

    def __init__(self, model, *, project_path="project", **kwargs):
        self.model, self.project_path = model, project_path
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.model.objects.filter(**{f"{self.project_path}__in": visible_projects(self.context["request"].user)})

    def fail(self, key, **kwargs):
        super().fail(key, label=self.model._meta.verbose_name, **kwargs)


class UsernameField(serializers.SlugRelatedField):
    """A user shown by username (read-only)."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="username", read_only=True, allow_null=True, **kwargs)


@extend_schema_field({"type": "number", "format": "double", "nullable": True, "example": 1.25})
class SecondsField(serializers.FloatField):
    """A duration as (fractional) seconds."""

    def __init__(self, **kwargs):
        super().__init__(min_value=0, max_value=MAX_DURATION.total_seconds(), allow_null=True, required=False, **kwargs)

    def to_representation(self, value):
        return value.total_seconds()

    def run_validation(self, data=empty):
        seconds = super().run_validation(data)
        return None if seconds is None else timedelta(seconds=seconds)


class ProjectSerializer(ApiModelSerializer):
    role = serializers.CharField(
        read_only=True, allow_null=True, help_text="Your role in the project (admin, member, viewer)."
    )

    class Meta:
        model = Project
        fields = ["id", "key", "name", "description", "role", "created_at"]
        create_only_fields = ["key"]


class StepSerializer(serializers.Serializer):
    action = serializers.CharField(allow_blank=True, default="", help_text="What the tester does.")
    expected = serializers.CharField(allow_blank=True, default="", help_text="What should happen.")


@extend_schema_field(StepSerializer(many=True))
class StepsField(serializers.JSONField):
    """A case's steps: [{"action": ..., "expected": ...}], checked by projects.services.clean_steps."""

    def to_internal_value(self, data):
        try:
            return clean_steps(super().to_internal_value(data))
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict["steps"]) from None


@extend_schema_field({"type": "integer", "nullable": True, "example": 90})
class EstimateField(serializers.Field):
    """A duration in whole seconds (90), or as written on the form ("1m 30s"); answered in whole seconds."""

    default_error_messages = {
        "invalid": "Enter whole seconds (90) or a duration such as 1m 30s.",
        "too_long": "An estimate cannot be longer than 7 days.",
    }

    def to_representation(self, value):
        return round(value.total_seconds())

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float | str):
            self.fail("invalid")
        try:
            duration = parse_duration_text(str(data))
        except forms.ValidationError as error:
            if error.code == "duration_too_long":
                self.fail("too_long")
            self.fail("invalid")
        return None if duration is None else timedelta(seconds=round(duration.total_seconds()))


class TestCaseSerializer(RefuseUnknownFieldsMixin, ApiModelSerializer):
    project = ProjectKeyOrIdField(
        required=False,
        help_text="Key (SHOP) or id; may be left out when you are in exactly one project.",
    )
    created_by = UsernameField()
    steps = StepsField(required=False, help_text='[{"action": ..., "expected": ...}] in order.')
    priority = serializers.ChoiceField(choices=CasePriority.choices, default=CasePriority.MEDIUM)
    type = serializers.CharField(
        source="case_type.name",
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="One of the project's case types, e.g. Functional; empty for none.",
    )
    estimate = EstimateField(required=False, allow_null=True, help_text="Seconds, e.g. 90.")
    custom_fields = serializers.JSONField(
        required=False, help_text='Values of the project\'s custom fields by name, e.g. {"browser": "Firefox"}.'
    )

    class Meta:
        model = TestCase
        fields = [
            "id",
            "project",
            "title",
            "description",
            "folder",
            "priority",
            "type",
            "estimate",
            "preconditions",
            "steps",
            "custom_fields",
            "automation_key",
            "import_key",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["import_key"]
        create_only_fields = ["project"]
        # Uniqueness of automation keys is checked in validate(), with a message naming the field.
        validators = []

    def _project(self, attrs):
        """The case's project: given, the case's own, or the caller's only project."""
        if self.instance is not None:
            return self.instance.project
        if attrs.get("project") is not None:
            return attrs["project"]
        projects = list(visible_projects(self.context["request"].user)[:2])
        if len(projects) != 1:
            raise serializers.ValidationError(
                {"project": ["Name the project (key or id): you are in more than one, or in none."]}
            )
        attrs["project"] = projects[0]
        return projects[0]

    def validate(self, attrs):
        project = self._project(attrs)
        if "case_type" in attrs:
            name = (attrs.pop("case_type") or {}).get("name") or ""
            attrs["case_type"] = case_type_named(project, name)
            if name and attrs["case_type"] is None:
                names = ", ".join(project.case_types.values_list("name", flat=True))
                raise serializers.ValidationError({"type": [f"{project.key} has no case type “{name}”: {names}."]})
        if "custom_fields" in attrs:
            try:
                attrs["custom_fields"] = clean_custom_fields(project, attrs["custom_fields"])
            except DjangoValidationError as error:
                raise serializers.ValidationError(
                    {
                        "custom_fields": [
                            f"{name}: {'; '.join(problems)}" for name, problems in error.message_dict.items()
                        ]
                    }
                ) from None
        key = attrs.get("automation_key", "")
        others = TestCase.objects.filter(project=project, automation_key=key)
        if key and others.exclude(pk=getattr(self.instance, "pk", None)).exists():
            raise serializers.ValidationError(
                {"automation_key": [f"Another test case of {project.key} has this automation key."]}
            )
        return attrs

    def validate_folder(self, folder):
        return normalize_folder(folder)

    def create(self, validated_data):
        fields = {name: value for name, value in validated_data.items() if name not in ("project", "created_by")}
        return create_case(project=validated_data["project"], actor=validated_data.get("created_by"), **fields)

    def update(self, case, validated_data):
        return update_case(case, **validated_data)


class StepResultSerializer(StepSerializer):
    status = serializers.CharField(allow_blank=True, default="", help_text="A result status, or empty: not run.")


@extend_schema_field(StepResultSerializer(many=True))
class StepResultsField(serializers.JSONField):
    """A result's steps as executed: [{"action", "expected", "status"}], checked by clean_step_results."""

    def to_internal_value(self, data):
        try:
            return clean_step_results(super().to_internal_value(data))
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class AssigneeField(serializers.SlugRelatedField):
    """The member a result is assigned to, by username; null: nobody."""

    default_error_messages = {"does_not_exist": "No user with username {value}."}

    def __init__(self, **kwargs):
        super().__init__(
            slug_field="username",
            queryset=get_user_model().objects.filter(is_active=True),
            allow_null=True,
            required=False,
            help_text="Username of the member who is to execute the result; null: nobody.",
            **kwargs,
        )


class RunResultSerializer(ApiModelSerializer):
    """A result as listed inside its run."""

    case_title = serializers.CharField(source="case.title", read_only=True)
    duration = SecondsField()
    recorded_by = UsernameField()
    assignee = AssigneeField()
    step_results = StepResultsField(required=False, help_text="The case's steps as executed, each with a status.")

    class Meta:
        model = TestResult
        fields = [
            "id",
            "case",
            "case_title",
            "status",
            "comment",
            "duration",
            "step_results",
            "recorded_by",
            "recorded_at",
            "assignee",
        ]


class TestResultSerializer(RunResultSerializer):
    run = VisibleObjectField(TestRun)
    case = VisibleObjectField(TestCase)

    class Meta(RunResultSerializer.Meta):
        fields = ["id", "run", *RunResultSerializer.Meta.fields]
        create_only_fields = ["run", "case"]
        validators = [
            UniqueTogetherValidator(
                queryset=TestResult.objects.all(),
                fields=["run", "case"],
                message="This run already has a result for this test case; change that result instead.",
            ),
        ]

    RECORDED = ("status", "comment", "duration")

    def validate(self, attrs):
        run, case = attrs.get("run"), attrs.get("case")
        if run is not None and case is not None and run.project_id != case.project_id:
            raise serializers.ValidationError({"case": ["The test case belongs to another project than the run."]})
        project = (run or self.instance.run).project if (run or self.instance) else None
        assignee = attrs.get("assignee")
        if project is not None and assignee is not None and not can(assignee, Action.EDIT, project):
            raise serializers.ValidationError(
                {"assignee": [f"{assignee.get_username()} cannot record results in {project.key}."]}
            )
        return attrs

    def create(self, validated_data):
        # The view passes recorded_by (its creator_field); the service records the actor itself.
        assignee = validated_data.pop("assignee", None)
        fields = {name: value for name, value in validated_data.items() if name != "recorded_by"}
        result = create_result(actor=self.context["request"].user, **fields)
        if assignee is not None:
            assign_results([result], project=result.run.project, assignee=assignee)
        return result

    def update(self, result, validated_data):
        if "assignee" in validated_data:
            assign_results([result], project=result.run.project, assignee=validated_data["assignee"])
        if not any(name in validated_data for name in (*self.RECORDED, "step_results")):
            return result  # only reassigned: nothing was recorded
        return record_result(
            result,
            actor=self.context["request"].user,
            **{name: validated_data.get(name, getattr(result, name)) for name in self.RECORDED},
            step_results=validated_data.get("step_results"),
        )


class TestRunSerializer(ApiModelSerializer):
    project = VisibleProjectField()
    created_by = UsernameField()
    result_count = serializers.IntegerField(read_only=True)
    passed_count = serializers.IntegerField(read_only=True)
    failed_count = serializers.IntegerField(read_only=True)
    blocked_count = serializers.IntegerField(read_only=True)
    skipped_count = serializers.IntegerField(read_only=True)
    untested_count = serializers.IntegerField(read_only=True)
    milestone = VisibleObjectField(Milestone, required=False, allow_null=True)
    cases = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        write_only=True,
        required=False,
        help_text="On create: ids of test cases to add to the run, each as an untested result.",
    )

    class Meta:
        model = TestRun
        fields = [
            "id",
            "project",
            "name",
            "description",
            "environment",
            "created_by",
            "created_at",
            "completed_at",
            "result_count",
            "passed_count",
            "failed_count",
            "blocked_count",
            "skipped_count",
            "untested_count",
            "milestone",
            "cases",
        ]
        create_only_fields = ["project", "cases"]

    def validate(self, attrs):
        project, case_ids = attrs.get("project"), set(attrs.get("cases", ()))
        milestone = attrs.get("milestone")
        owner = project or getattr(self.instance, "project", None)
        if milestone is not None and owner is not None and milestone.project_id != owner.pk:
            raise serializers.ValidationError({"milestone": [f"Choose one of {owner.key}'s own milestones."]})
        if project is not None and case_ids:
            attrs["cases"] = list(TestCase.objects.filter(project=project, pk__in=case_ids))
            unknown = sorted(case_ids - {case.pk for case in attrs["cases"]})
            if unknown:
                raise serializers.ValidationError(
                    {"cases": [f"{project.key} has no test case with id {', '.join(map(str, unknown))}."]}
                )
        return attrs

    def create(self, validated_data):
        completed_at = validated_data.pop("completed_at", None)
        run = create_run(actor=validated_data.pop("created_by"), **validated_data)
        if completed_at is not None:
            run.completed_at = completed_at
            run.save(update_fields=["completed_at"])
        return run


class TestRunDetailSerializer(TestRunSerializer):
    results = RunResultSerializer(many=True, read_only=True)

    class Meta(TestRunSerializer.Meta):
        fields = [*TestRunSerializer.Meta.fields, "results"]


class JUnitUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="A JUnit XML report (multipart field `file`); or send the XML itself "
        "as the body with Content-Type application/xml."
    )

    def validate_file(self, upload):
        try:
            junit.ensure_size(upload.size)
        except junit.JUnitError as problem:
            raise serializers.ValidationError(str(problem)) from problem
        return upload


class JUnitSummarySerializer(serializers.Serializer):
    cases_created = serializers.IntegerField()
    results_created = serializers.IntegerField()
    results_updated = serializers.IntegerField()
    statuses = serializers.DictField(child=serializers.IntegerField(), help_text="Number of results per status.")


class RequirementSerializer(ApiModelSerializer):
    project = VisibleProjectField()
    # Empty unless pulled from a tracker, so not documented as a URI.
    origin_url = serializers.CharField(read_only=True)

    class Meta:
        model = Requirement
        fields = [
            "id",
            "project",
            "title",
            "folder",
            "description",
            "state",
            "priority",
            "origin_tracker",
            "origin_key",
            "origin_url",
            "origin_read_only",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["origin_tracker", "origin_key", "origin_url", "origin_read_only"]
        create_only_fields = ["project"]

    def validate_folder(self, folder):
        return normalize_folder(folder)

    def validate(self, attrs):
        errors = tracker_owned_changes(self.instance, attrs) if self.instance is not None else {}
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(
        max_length=100, required=False, default="API", help_text="What the token is for, e.g. CI uploads."
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "hint", "created_at", "last_used_at"]


class NewApiTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown this once; only its hash is stored.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    is_superuser = serializers.BooleanField()
    projects = ProjectSerializer(many=True, help_text="The projects you can see, with your role in each.")
    token = ApiTokenSerializer(
        allow_null=True, help_text="The token that authenticated this request; null for a browser session."
    )


class MilestoneSerializer(ApiModelSerializer):
    project = VisibleProjectField()
    created_by = UsernameField()

    class Meta:
        model = Milestone
        fields = ["id", "project", "name", "description", "start_date", "due_date", "created_by", "created_at"]
        create_only_fields = ["project"]

    def validate(self, attrs):
        start = attrs.get("start_date", getattr(self.instance, "start_date", None))
        due = attrs.get("due_date", getattr(self.instance, "due_date", None))
        if start and due and due < start:
            raise serializers.ValidationError({"due_date": ["The due date cannot be before the start date."]})
        return attrs

    def create(self, validated_data):
        return create_milestone(actor=validated_data.pop("created_by", None), **validated_data)

    def update(self, milestone, validated_data):
        return update_milestone(milestone, **validated_data)


class TestPlanSerializer(ApiModelSerializer):
    project = VisibleProjectField()
    milestone = VisibleObjectField(Milestone)
    runs = VisibleObjectField(TestRun, many=True, required=False)
    created_by = UsernameField()

    class Meta:
        model = TestPlan
        fields = ["id", "project", "milestone", "name", "description", "runs", "created_by", "created_at"]
        create_only_fields = ["project"]

    def validate(self, attrs):
        project = attrs.get("project") or self.instance.project
        milestone = attrs.get("milestone")
        if milestone is not None and milestone.project_id != project.pk:
            raise serializers.ValidationError({"milestone": [f"Choose one of {project.key}'s own milestones."]})
        foreign = [run.pk for run in attrs.get("runs", ()) if run.project_id != project.pk]
        if foreign:
            raise serializers.ValidationError(
                {"runs": [f"{project.key} has no run with id {', '.join(map(str, foreign))}."]}
            )
        return attrs

    def create(self, validated_data):
        return create_plan(actor=validated_data.pop("created_by", None), **validated_data)

    def update(self, plan, validated_data):
        return update_plan(plan, **validated_data)


class BulkResultsSerializer(serializers.Serializer):
    """Several results at once: a status for all (comments and durations kept), an assignee for all, or both."""

    results = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        allow_empty=False,
        max_length=1000,
        help_text="Ids of the results to change (at most 1,000).",
    )
    status = serializers.ChoiceField(choices=TestResult._meta.get_field("status").choices, required=False)
    assignee = AssigneeField()

    def validate_results(self, ids):
        visible = TestResult.objects.filter(run__project__in=visible_projects(self.context["request"].user))
        found = list(visible.filter(pk__in=ids).select_related("run__project"))
        unknown = sorted(set(ids) - {result.pk for result in found})
        if unknown:
            raise serializers.ValidationError(f"No test result with id {', '.join(map(str, unknown))}.")
        return found

    def validate(self, attrs):
        if "status" not in attrs and "assignee" not in attrs:
            raise serializers.ValidationError("Give a status, an assignee, or both.")
        return attrs


class BulkResultsAnswerSerializer(serializers.Serializer):
    updated = serializers.IntegerField(help_text="How many results were changed.")
