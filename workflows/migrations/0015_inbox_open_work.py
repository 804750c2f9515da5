"""The inbox reads only open work (issue 13 Part A item 6).

A task that closes now deletes the ballots nobody decided (`ballots.close_ballots`); this deletes
those that piled up before, in batches of ballot ids, each its own transaction (hence not
atomic: a rerun after an interruption finds what is left). Then the index of pending form tasks
that `selectors.task_inbox` reads."""

from django.db import migrations, models


def delete_closed_ballots(apps, schema_editor):
    from workflows.maintenance import delete_closed_ballots

    delete_closed_ballots(
        schema_editor.connection,
        ballots=apps.get_model("workflows", "TaskBallot")._meta.db_table,
        tasks=apps.get_model("workflows", "HumanTask")._meta.db_table,
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tenants", "0001_initial"),
        ("workflows", "0014_jobs"),
    ]

    operations = [
        migrations.RunPython(delete_closed_ballots, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="humantask",
            index=models.Index(
                condition=models.Q(
                    ("status", "pending"), models.Q(("open_to_roles", ""), _negated=True)
                ),
                fields=["tenant", "-id"],
                name="task_open_form_idx",
            ),
        ),
    ]
