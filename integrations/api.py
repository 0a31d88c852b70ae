"""REST endpoints of the integrations app."""

urlpatterns = []
