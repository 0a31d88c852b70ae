"""REST endpoints of the issues app."""

urlpatterns = []
