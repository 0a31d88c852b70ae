from django.db import migrations


class Migration(migrations.Migration):
    """Three branches of 2026-12-06, each after 0019: the issue list's order, comment post attempts,
    webhook deliveries queued for the worker. They touch different tables."""

    dependencies = [
        ("issues", "0020_comment_post_attempted_at"),
        ("issues", "0020_issue_list_newest_project_first"),
        ("issues", "0020_webhook_deliveries_queued_for_the_worker"),
    ]

    operations = []
