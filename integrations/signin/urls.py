from django.urls import path

from . import views

app_name = "social"  # social-core reverses "social:complete" for the redirect URI

urlpatterns = [
    path("login/<str:backend>/", views.begin, name="begin"),
    path("complete/<str:backend>/", views.complete, name="complete"),
]
