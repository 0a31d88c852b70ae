"""Admin pages of the issues app: each domain registers its own (Django looks for ``issues.admin``)."""

from issues.core import admin as core_admin
from issues.links import admin as links_admin

__all__ = ["core_admin", "links_admin"]
