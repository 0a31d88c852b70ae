"""REST endpoints of the projects app."""

urlpatterns = []
