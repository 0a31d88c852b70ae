"""What the sync engine tells the rest of the app.

``remote_issues_heard`` (sender: ``Source``; ``source``, ``heard``: a list of (reference, remote issue)):
the tracker just said something of these references' issues, in a webhook delivery or a refresh, and
it was newer than what the references held. The remote issue is what the tracker said: a ``PulledItem``
where a delivery carried the description; the fields it did not carry are in its ``unknown``. Sent in
the transaction that stored it. Pulled requirements follow it (issues.pulls.requirements).
"""

from django.dispatch import Signal

remote_issues_heard = Signal()
