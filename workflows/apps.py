from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    label = "workflows"
    verbose_name = "Workflows"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from workflows import event_handlers
        from workflows.engine import actions  # noqa: F401  (registers the built-in actions)
        from workflows.engine.sql import keep_prepared_statements

        event_handlers.register()  # the engine events' jobs: webhooks, notification emails
        connection_created.connect(
            keep_prepared_statements, dispatch_uid="workflows.keep_prepared_statements"
        )
