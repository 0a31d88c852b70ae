"""Sources saved while every tracker's default budget was 120 requests a minute (before 0011) and still on
it take their tracker's documented default, so one refresh run can finish 10,000 references. A budget an
administrator chose otherwise is kept; one who wants 120 back sets it again."""

from django.db import migrations

OLD_DEFAULT = 120
# The defaults of integrations.models.DEFAULT_REQUESTS_PER_MINUTE when this was written (a migration keeps
# its own copy: the model's table may change later).
RAISED_DEFAULTS = {"jira_cloud": 200, "jira_server": 200, "github": 200, "gitlab": 200, "linear": 200}


def take_the_trackers_default(apps, schema_editor):
    Source = apps.get_model("integrations", "Source")
    for provider, budget in RAISED_DEFAULTS.items():
        Source.objects.filter(provider=provider, rate_limit_per_minute=OLD_DEFAULT).update(rate_limit_per_minute=budget)


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0012_source_redmine_provider"),
    ]

    operations = [
        migrations.RunPython(take_the_trackers_default, migrations.RunPython.noop),
    ]
