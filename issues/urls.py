from django.urls import path

app_name = "issues"

urlpatterns: list = []
