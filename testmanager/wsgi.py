import os

from django.core.wsgi import get_wsgi_application
from django.db import connections
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testmanager.settings")
application = get_wsgi_application()
# gunicorn --preload loads this module once, then forks its workers: import the URL configuration
# (every view, serializer and DRF with it) and build its lookup tables here, once, so the workers
# share them instead of each spending its first request on them.
get_resolver().reverse_dict  # noqa: B018 (the property builds the tables)
# A database connection, or a connection pool (DATABASE_POOL) with its threads, opened while loading
# would be shared by every forked worker and two workers' queries would interleave on one socket.
# Each worker opens its own on first use.
connections.close_all()
for connection in connections.all(initialized_only=True):
    if connection.vendor == "postgresql":
        connection.close_pool()
