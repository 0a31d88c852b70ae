import os

from django.core.wsgi import get_wsgi_application
from django.db import connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testmanager.settings")
application = get_wsgi_application()
# gunicorn --preload loads this module once, then forks its workers: a database connection opened
# while loading would be shared by every worker, and with kept connections (DATABASE_CONN_MAX_AGE)
# two workers' queries would interleave on one socket. Each worker opens its own on first use.
connections.close_all()
