from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from . import selectors
from .models import Project
from .permissions import Action, ensure


@login_required
def project_list(request):
    return render(request, "projects/project_list.html", {"projects": selectors.projects_for(request.user)})


@login_required
def project_home(request, key):
    project = get_object_or_404(Project, key=key)
    ensure(request.user, Action.VIEW, project)
    return render(
        request,
        "projects/project_home.html",
        {"project": project, "cases": selectors.cases_of(project), "runs": selectors.runs_of(project)},
    )
