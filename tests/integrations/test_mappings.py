"""The one lookup for status and priority mappings (integrations.mappings): one matching rule, case-
and whitespace-insensitive, for every caller (defect sync, bug pull, requirement pull, filing)."""

from types import SimpleNamespace

import pytest

from integrations import mappings
from integrations.mappings import (
    StatusCategory,
    default_priority_mapping,
    default_status_mapping,
    name_key,
    priority_for,
    same_name,
    status_for,
    tracker_names_for_status,
    tracker_priorities_for,
)
from integrations.providers.base import PulledItem, RemoteField
from issues.filing.services import mapped_priority
from issues.pulls import bugs, requirements
from issues.pulls.models import BugPullSettings
from issues.sync import defects
from projects.models import Requirement

STATUS_MAPPING = {"open": ["To Do", "Open"], "in_progress": ["In  Progress"], "closed": ["Done"]}
PRIORITY_MAPPING = {
    "Highest": {"requirement": "P0", "defect": "blocker"},
    "Very High": {"requirement": "P0", "defect": "critical"},
    "Medium": {"requirement": "P2", "defect": "major"},
}


def item(status="", priority="", category="unknown"):
    return PulledItem(
        key="SHOP-1",
        title="Checkout crashes",
        status=status,
        status_category=category,
        assignee="",
        priority=priority,
        url="",
        updated_at=None,
    )


# --- The rule --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("In Progress", "in progress"),  # case
        ("IN PROGRESS", "In Progress"),
        ("In Progress", "  In Progress\t"),  # outer whitespace
        ("In Progress", "In \t  Progress"),  # inner whitespace runs
        ("Straße", "STRASSE"),  # case folded, not just lowered
    ],
)
def test_names_that_differ_only_in_case_or_whitespace_are_the_same(first, second):
    assert same_name(first, second)
    assert name_key(first) == name_key(second)


@pytest.mark.parametrize(("first", "second"), [("In Progress", "InProgress"), ("Done", "Done!"), ("To Do", "To")])
def test_names_that_differ_otherwise_are_not(first, second):
    assert not same_name(first, second)


def test_status_category_is_defined_once_and_the_issues_app_uses_it():
    from issues import models as issue_models
    from issues.core import models as core_models

    assert issue_models.StatusCategory is core_models.StatusCategory is mappings.StatusCategory
    assert StatusCategory.values == ["todo", "in_progress", "done", "unknown"]


# --- The lookups -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tracker_status", "expected"),
    [
        ("To Do", "open"),
        ("to do", "open"),
        ("  TO   DO ", "open"),
        ("open", "open"),
        ("in progress", "in_progress"),  # the mapping's own spacing does not matter either
        ("DONE", "closed"),
        ("In Review", None),  # no rule names it
        ("", None),
        ("   ", None),
    ],
)
def test_status_for_finds_the_rule_naming_a_tracker_status(tracker_status, expected):
    assert status_for(STATUS_MAPPING, tracker_status) == expected


def test_status_for_an_empty_mapping_is_none():
    assert status_for({}, "Done") is None
    assert status_for(None, "Done") is None


@pytest.mark.parametrize(
    ("tracker_priority", "side", "expected"),
    [
        ("Highest", "defect", "blocker"),
        ("highest", "requirement", "P0"),
        (" very   HIGH ", "defect", "critical"),
        ("medium", "requirement", "P2"),
        ("Low", "defect", None),  # no rule names it
        ("", "defect", None),
    ],
)
def test_priority_for_gives_one_side_of_the_rule_naming_a_tracker_priority(tracker_priority, side, expected):
    assert priority_for(PRIORITY_MAPPING, tracker_priority, side) == expected


def test_priority_for_an_empty_mapping_is_none():
    assert priority_for({}, "Highest", "defect") is None
    assert priority_for(None, "Highest", "defect") is None


def test_tracker_names_for_status_lists_the_rules_names_in_order():
    assert tracker_names_for_status(default_status_mapping(), "open") == ["To Do", "Open"]
    assert tracker_names_for_status(default_status_mapping(), "resolved") == []
    assert tracker_names_for_status(None, "open") == []


def test_tracker_priorities_for_lists_the_tracker_priorities_of_one_side_value_in_order():
    mapping = default_priority_mapping()
    assert tracker_priorities_for(mapping, "defect", "blocker") == ["Highest", "Blocker", "Immediate", "Urgent"]
    assert tracker_priorities_for(mapping, "requirement", "P3") == ["Low", "Lowest"]
    assert tracker_priorities_for(mapping, "defect", "P3") == []  # the other side's value
    assert tracker_priorities_for(None, "defect", "major") == []


# --- Every caller matches by the rule; its own fallback stays ---------------------------


def test_a_pulled_bug_whose_status_and_severity_differ_in_case_and_spacing_still_maps():
    assert bugs.defect_status(item(status="  in   progress"), STATUS_MAPPING) == "in_progress"
    assert bugs.defect_status(item(status="to do", category="in_progress"), STATUS_MAPPING) == "open"
    by_priority = (BugPullSettings(severity_field=""), SimpleNamespace(priority_mapping=PRIORITY_MAPPING))
    assert bugs.defect_priority(" VERY high ", *by_priority) == "critical"
    # Unmapped: the category's status, else Open; no priority.
    assert bugs.defect_status(item(status="In Review", category="done"), STATUS_MAPPING) == "closed"
    assert bugs.defect_status(item(status="In Review"), STATUS_MAPPING) == "open"
    assert bugs.defect_priority("Low", *by_priority) == ""


def test_a_pulled_requirement_whose_status_and_priority_differ_in_case_and_spacing_still_maps():
    state_mapping = {"deprecated": ["Won't Do", "Removed"]}
    assert requirements.requirement_state(item(status=" won't   DO", category="done"), state_mapping) == "deprecated"
    assert requirements.requirement_priority(item(priority="very  high"), PRIORITY_MAPPING) == "P0"
    # Unmapped: the category's state; no priority.
    assert requirements.requirement_state(item(status="Doing", category="in_progress"), state_mapping) == "active"
    assert requirements.requirement_state(item(status="New", category="todo"), state_mapping) == "draft"
    assert requirements.requirement_priority(item(priority="Low"), PRIORITY_MAPPING) is None


def test_a_synced_defect_maps_by_the_rule_and_falls_back_to_the_category():
    integration = SimpleNamespace(status_mapping=STATUS_MAPPING, priority_mapping=PRIORITY_MAPPING)
    assert defects.defect_status(integration, " done ", "unknown") == "closed"
    assert defects.defect_status(integration, "In Review", "in_progress") == "in_progress"
    assert defects.defect_status(integration, "In Review", "unknown") is None
    assert defects.defect_priority(integration, "very high") == "critical"
    assert defects.defect_priority(integration, "Low") is None
    assert defects.tracker_statuses(integration, "open") == ["To Do", "Open"]
    assert defects.tracker_statuses(integration, "resolved") == ["Done"]  # closed's: the same category
    assert defects.tracker_priorities(integration, "major") == ["Medium"]


def test_filing_offers_the_mapped_tracker_priority_in_the_fields_own_spelling():
    integration = SimpleNamespace(priority_mapping=PRIORITY_MAPPING)
    field = RemoteField("priority", "Priority", required=False, kind="select", allowed_values=("VERY  HIGH", "medium"))
    assert mapped_priority(integration, field, Requirement(priority="P0")) == "VERY  HIGH"  # Highest not offered
    assert mapped_priority(integration, field, object()) == "medium"  # not a requirement: the default, major
    free = RemoteField("priority", "Priority", required=False, kind="text")
    assert mapped_priority(integration, free, Requirement(priority="P0")) == "Highest"
    assert mapped_priority(integration, free, Requirement(priority="P1")) == ""


def test_a_severity_field_maps_through_the_severity_table_only_never_the_priority_mapping():
    integration = SimpleNamespace(
        field_mappings={"severity": {"S1 - Critical": "blocker"}}, priority_mapping=PRIORITY_MAPPING
    )
    by_severity = BugPullSettings(severity_field="customfield_10030")
    assert bugs.defect_priority(" s1 -  critical ", by_severity, integration) == "blocker"
    assert bugs.defect_priority("Very High", by_severity, integration) == ""  # a priority, not a severity
    assert bugs.defect_priority("S2", by_severity, integration) == ""
    # No severity field: the tracker's priority is the severity, mapped by the priority mapping.
    assert bugs.defect_priority("Very High", BugPullSettings(severity_field=""), integration) == "critical"
