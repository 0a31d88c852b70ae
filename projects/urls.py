from django.urls import path

from . import views

app_name = "projects"

urlpatterns = [
    path("", views.project_list, name="list"),
    path("<str:key>/", views.project_home, name="home"),
    path("<str:key>/cases/", views.case_list, name="cases"),
    path("<str:key>/cases/new/", views.case_create, name="case_create"),
    path("<str:key>/cases/settings/", views.case_settings, name="case_settings"),
    path("<str:key>/cases/<int:pk>/", views.case_detail, name="case"),
    path("<str:key>/cases/<int:pk>/edit/", views.case_edit, name="case_edit"),
    path("<str:key>/runs/", views.run_list, name="runs"),
    path("<str:key>/runs/new/", views.run_create, name="run_create"),
    path("<str:key>/runs/<int:pk>/", views.run_detail, name="run"),
    path("<str:key>/runs/<int:run_pk>/results/<int:pk>/", views.result_detail, name="result"),
    path("<str:key>/requirements/", views.requirement_list, name="requirements"),
    path("<str:key>/requirements/<int:pk>/", views.requirement_detail, name="requirement"),
]
