from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    label = "workflows"
    verbose_name = "Workflows"

    def ready(self) -> None:
        from workflows import event_handlers
        from workflows.engine import actions  # noqa: F401  (registers the built-in actions)

        event_handlers.register()  # the engine events' jobs: webhooks, notification emails
