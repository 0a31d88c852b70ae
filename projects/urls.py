from django.urls import path

from . import execution_views, milestone_views, views

app_name = "projects"

urlpatterns = [
    path("", views.project_list, name="list"),
    path("my-results/", execution_views.my_results, name="my_results"),
    path("<str:key>/", views.project_home, name="home"),
    path("<str:key>/settings/members/", views.members, name="members"),
    path("<str:key>/cases/", views.case_list, name="cases"),
    path("<str:key>/cases/new/", views.case_create, name="case_create"),
    path("<str:key>/cases/settings/", views.case_settings, name="case_settings"),
    path("<str:key>/cases/<int:pk>/", views.case_detail, name="case"),
    path("<str:key>/cases/<int:pk>/edit/", views.case_edit, name="case_edit"),
    path("<str:key>/runs/", views.run_list, name="runs"),
    path("<str:key>/runs/new/", views.run_create, name="run_create"),
    path("<str:key>/runs/<int:pk>/", views.run_detail, name="run"),
    path("<str:key>/runs/<int:run_pk>/results/<int:pk>/", views.result_detail, name="result"),
    path("<str:key>/runs/<int:run_pk>/results/<int:pk>/save/", execution_views.result_save, name="result_save"),
    path("<str:key>/runs/<int:run_pk>/results/bulk/", execution_views.results_bulk, name="results_bulk"),
    path("<str:key>/milestones/", milestone_views.milestone_list, name="milestones"),
    path("<str:key>/milestones/new/", milestone_views.milestone_edit, name="milestone_create"),
    path("<str:key>/milestones/<int:pk>/", milestone_views.milestone_detail, name="milestone"),
    path("<str:key>/milestones/<int:pk>/edit/", milestone_views.milestone_edit, name="milestone_edit"),
    path("<str:key>/milestones/<int:pk>/delete/", milestone_views.milestone_delete, name="milestone_delete"),
    path("<str:key>/plans/new/", milestone_views.plan_edit, name="plan_create"),
    path("<str:key>/plans/<int:pk>/edit/", milestone_views.plan_edit, name="plan_edit"),
    path("<str:key>/plans/<int:pk>/delete/", milestone_views.plan_delete, name="plan_delete"),
    path("<str:key>/requirements/", views.requirement_list, name="requirements"),
    path("<str:key>/requirements/new/", views.requirement_edit, name="requirement_create"),
    path("<str:key>/requirements/<int:pk>/", views.requirement_detail, name="requirement"),
    path("<str:key>/requirements/<int:pk>/edit/", views.requirement_edit, name="requirement_edit"),
]
