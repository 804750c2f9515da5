from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo tenant behind `make run` (`manage.py seed_demo`): data only, no models.

    It sits above the apps it fills (approvals, cases, workflows, accounts, tenants), so none
    of them imports it; a project that installs the apps leaves it out.
    """

    name = "demo"
    label = "demo"
    verbose_name = "Demo data"
