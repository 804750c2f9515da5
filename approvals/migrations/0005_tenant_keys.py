"""Keys with tenant_id (core.tenant_keys, README "Scaling out"): the approvals tables' primary
keys become (tenant_id, id), and their foreign keys to a security group (tenant_id,
security_group_id). Django's single-column keys go first (db_constraint=False), also the one
to workflows_workflow, whose primary key workflows 0022 changes next and which adds that
table's composite key. (tenant_id, id) was also secgroup_tenant_id_idx: dropped."""

import django.db.models.deletion
from django.db import migrations, models

from core.tenant_keys import foreign_key, primary_key


class Migration(migrations.Migration):

    dependencies = [
        ('approvals', '0004_fewer_indexes'),
        ('workflows', '0021_partition_transition_log'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='securitygroup',
            name='secgroup_tenant_id_idx',
        ),
        migrations.AlterField(
            model_name='securitygroupmember',
            name='security_group',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='approvals.securitygroup'),
        ),
        migrations.AlterField(
            model_name='transfer',
            name='security_group',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='transfers', to='approvals.securitygroup'),
        ),
        migrations.AlterField(
            model_name='workflowassignment',
            name='security_group',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='assignments', to='approvals.securitygroup'),
        ),
        migrations.AlterField(
            model_name='workflowassignment',
            name='workflow_template',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='assignments', to='workflows.workflow'),
        ),
        *(
            primary_key(table)
            for table in (
                "approvals_securitygroup",
                "approvals_securitygroupmember",
                "approvals_transfer",
                "approvals_workflowassignment",
            )
        ),
        foreign_key("approvals_securitygroupmember", "security_group_id", "approvals_securitygroup"),
        foreign_key("approvals_transfer", "security_group_id", "approvals_securitygroup"),
        foreign_key("approvals_workflowassignment", "security_group_id", "approvals_securitygroup"),
    ]
