"""The webhook endpoint trackers post to: ``/hooks/<source uuid>/`` (issues.sync does the work).

No session, no CSRF token: a tracker is not a browser. What authenticates a delivery is its
signature, which the source's provider checks against the source's webhook secret.
"""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import sync


@csrf_exempt
@require_POST
def receive(request, source_uuid):
    outcome = sync.receive_webhook(source_uuid, request)
    return JsonResponse({"message": outcome.message}, status=outcome.status)
