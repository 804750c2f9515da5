"""Keys with tenant_id (core.tenant_keys, README "Scaling out"): every workflows table's
primary key becomes (tenant_id, id) (the partitioned transition log: (tenant_id, id,
created_at)), and each foreign key between two of them (tenant_id, x_id) REFERENCES parent
(tenant_id, id); also the assignments' key to a workflow template (approvals 0005 dropped its
single-column one). A plain index on id stays where rows are looked up by id alone; not on
the ballots, the transition log, the notifications sent and the webhook deliveries, which are
always read with their tenant (the engine's statements, the selectors). (tenant_id, id) was
also workflow_tenant_id_idx: dropped."""

import django.db.models.deletion
from django.db import migrations, models

from core.tenant_keys import foreign_key, primary_key


class Migration(migrations.Migration):

    dependencies = [
        ('workflows', '0021_partition_transition_log'),
        ('approvals', '0005_tenant_keys'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='workflow',
            name='workflow_tenant_id_idx',
        ),
        migrations.AlterField(
            model_name='humantask',
            name='run',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='tasks', to='workflows.workflowrun'),
        ),
        migrations.AlterField(
            model_name='humantask',
            name='step_run',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='tasks', to='workflows.steprun'),
        ),
        migrations.AlterField(
            model_name='notificationsent',
            name='task',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workflows.humantask'),
        ),
        migrations.AlterField(
            model_name='step',
            name='workflow',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='steps', to='workflows.workflow'),
        ),
        migrations.AlterField(
            model_name='steprun',
            name='run',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='step_runs', to='workflows.workflowrun'),
        ),
        migrations.AlterField(
            model_name='taskballot',
            name='task',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='ballots', to='workflows.humantask'),
        ),
        migrations.AlterField(
            model_name='webhookdelivery',
            name='subscription',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='workflows.webhooksubscription'),
        ),
        migrations.AlterField(
            model_name='workflowrun',
            name='workflow',
            field=models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='runs', to='workflows.workflow'),
        ),
        *(
            primary_key(table)
            for table in (
                "workflows_businesscalendar",
                "workflows_humantask",
                "workflows_job",
                "workflows_outboxevent",
                "workflows_step",
                "workflows_steprun",
                "workflows_webhooksubscription",
                "workflows_workflow",
                "workflows_workflowrun",
            )
        ),
        *(
            primary_key(table, id_index=False)
            for table in (
                "workflows_notificationsent",
                "workflows_taskballot",
                "workflows_webhookdelivery",
            )
        ),
        primary_key("workflows_statetransition", id_index=False, also="created_at"),
        foreign_key("workflows_humantask", "run_id", "workflows_workflowrun"),
        foreign_key("workflows_humantask", "step_run_id", "workflows_steprun"),
        foreign_key("workflows_notificationsent", "task_id", "workflows_humantask"),
        foreign_key("workflows_step", "workflow_id", "workflows_workflow"),
        foreign_key("workflows_steprun", "run_id", "workflows_workflowrun"),
        foreign_key("workflows_taskballot", "task_id", "workflows_humantask"),
        foreign_key("workflows_webhookdelivery", "subscription_id", "workflows_webhooksubscription"),
        foreign_key("workflows_workflowrun", "workflow_id", "workflows_workflow"),
        foreign_key("approvals_workflowassignment", "workflow_template_id", "workflows_workflow"),
    ]
