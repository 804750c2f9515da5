"""Notification emails (`workflows.notifications.notify`): one per person, once, with a link
to the task in the console (locmem mail backend)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.urls import resolve

from accounts.models import NotificationPreference, Role
from approvals.tests.test_transfers import Chain
from core.rls import app_role, platform_role
from tests.factories import SecurityGroupMemberFactory
from workflows import notifications
from workflows.models import HumanTask, NotificationSent, TaskStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(settings):
    settings.WORKFLOWS_CONSOLE_URL = "https://workflows.example.test/"
    return "https://workflows.example.test"


@pytest.fixture
def chain(tenant, make_user, client_for):
    return Chain(tenant, make_user, client_for, workflows=2)


@pytest.fixture
def task(chain):
    response = chain.create(reference="TR-42")
    assert response.status_code == 201, response.content
    task = pending_task(response)
    task.due_at = datetime(2031, 5, 6, 14, 30, tzinfo=UTC)
    task.save(update_fields=["due_at"])
    mail.outbox.clear()
    return task


def pending_task(response):
    return HumanTask.objects.get(
        subject_id=response.json()["transfer"]["id"], status=TaskStatus.PENDING
    )


def notify(task, users, kind="task_opened", **kwargs):
    return notifications.notify(kind, task.pk, [u.pk for u in users], task.tenant_id, **kwargs)


def link_in(text: str) -> str:
    return re.search(r"https?://\S+", text).group(0)


def test_one_email_per_person_with_a_working_link(chain, task, console):
    sent = notify(task, chain.approvers)
    assert sent == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in chain.approvers)
    message = mail.outbox[0]
    link = link_in(message.body)
    assert link == f"{console}/inbox?task={task.pk}"
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="{console}/inbox?task={task.pk}"' in html.replace("&amp;", "&")
    # The link's path is the console's (served by its index) and its router has the route.
    assert resolve("/inbox").url_name == "console"
    app = Path(settings.BASE_DIR, "frontend", "src", "App.tsx").read_text()
    assert '<Route path="inbox"' in app


def test_the_email_says_what_the_task_is(chain, task, console):
    notify(task, chain.approvers[:1])
    message = mail.outbox[0]
    assert message.subject == "A task awaits you: Approve 1 (Transfer TR-42)"
    assert message.extra_headers["X-Workflows-Notification"] == "task_opened"
    for expected in [
        "Task: Approve 1",
        "Workflow: FAR step 1 (1 of 2 in its chain)",
        "About: Transfer TR-42",
        "Amount: 1250.50",
        "Currency: USD",
        "Due: 2031-05-06 14:30 UTC",
    ]:
        assert expected in message.body, (expected, message.body)
    notify(task, chain.approvers[:1], kind="task_escalated")
    assert mail.outbox[1].subject.startswith("A task was escalated to you: ")


def test_skips_opted_out_inactive_emailless_and_other_tenants_people(
    chain, task, make_user, other_tenant
):
    quiet, inactive, no_email = chain.approvers[0], chain.approvers[1], make_user(Role.AGENT)
    NotificationPreference.objects.create(tenant=chain.tenant, user=quiet, task_opened=False)
    inactive.is_active = False
    inactive.save()
    no_email.email = ""
    no_email.save()
    stranger = make_user(Role.ADMIN, tenant=other_tenant)
    reader = make_user(Role.SUPERVISOR, full_name="Rita Reader")
    SecurityGroupMemberFactory(security_group=chain.group, user=reader)

    assert notify(task, [quiet, inactive, no_email, stranger, reader]) == 1
    assert [m.to for m in mail.outbox] == [[reader.email]]
    assert mail.outbox[0].body.startswith("Hello Rita Reader,")
    # Opting out of one kind leaves the others on.
    assert notify(task, [quiet], kind="task_due_soon") == 1


def test_a_retried_job_mails_nobody_twice(chain, task):
    assert notify(task, chain.approvers) == 2
    assert notify(task, chain.approvers) == 0
    assert len(mail.outbox) == 2
    assert NotificationSent.objects.filter(task=task).count() == 2
    # A second reminder is another occurrence; the same one is not sent again.
    assert notify(task, chain.approvers[:1], kind="task_due_soon", occurrence="r1") == 1
    assert notify(task, chain.approvers[:1], kind="task_due_soon", occurrence="r2") == 1
    assert notify(task, chain.approvers[:1], kind="task_due_soon", occurrence="r2") == 0
    assert len(mail.outbox) == 4


def test_a_mail_server_error_is_retried_for_that_person_only(chain, task, monkeypatch):
    real_send = EmailMultiAlternatives.send
    calls = []

    def flaky(self, fail_silently=False):
        calls.append(self.to[0])
        if len(calls) == 2:
            raise ConnectionRefusedError("mail server down")
        return real_send(self, fail_silently)

    monkeypatch.setattr(EmailMultiAlternatives, "send", flaky)
    with pytest.raises(ConnectionRefusedError):
        notify(task, chain.approvers)
    assert len(mail.outbox) == 1
    assert NotificationSent.objects.filter(task=task).count() == 1  # the failed one rolled back
    assert notify(task, chain.approvers) == 1
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in chain.approvers)


def test_nothing_for_a_task_no_longer_pending(chain, task):
    task.status = TaskStatus.CANCELLED
    task.save(update_fields=["status"])
    assert notify(task, chain.approvers) == 0
    assert notifications.notify("task_opened", 10**9, [chain.approvers[0].pk], task.tenant_id) == 0
    assert mail.outbox == []


def test_names_are_escaped_in_html_only(chain, task):
    person = chain.approvers[0]
    person.full_name = '<img src=x onerror="alert(1)">'
    person.save()
    notify(task, [person])
    message = mail.outbox[0]
    assert message.body.startswith('Hello <img src=x onerror="alert(1)">,')  # text/plain
    html = message.alternatives[0][0]
    assert "<img" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_a_line_break_cannot_reach_the_subject(chain, task):
    task.name = "Approve\r\nBcc: victim@example.test"
    task.save(update_fields=["name"])
    notify(task, chain.approvers[:1])
    assert "\n" not in mail.outbox[0].subject
    assert "\r" not in mail.outbox[0].subject


def test_unknown_kind_is_refused(task):
    with pytest.raises(ValueError, match="Unknown notification kind"):
        notifications.notify("task_sneezed", task.pk, [1], task.tenant_id)


def test_queries_do_not_grow_with_the_people_beyond_one_insert_each(
    chain, task, make_user, django_assert_num_queries
):
    people = [*chain.approvers, *(make_user(Role.SUPERVISOR) for _ in range(3))]
    # A savepoint around 4 reads (the task with its run, their delegates, who is mailed, the
    # subject), then a savepoint, the insert and its release per person.
    with django_assert_num_queries(6 + 3 * len(people)):
        assert notify(task, people) == len(people)


def test_console_url_falls_back_to_the_first_allowed_host(settings):
    settings.WORKFLOWS_CONSOLE_URL = ""
    settings.ALLOWED_HOSTS = [".example.test", "workflows.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    assert notifications.task_link(7) == "https://workflows.example.org/inbox?task=7"


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_works_under_the_tenants_own_context(
    tenant, make_user, client_for
):
    chain = Chain(tenant, make_user, client_for, workflows=1)
    response = chain.create(reference="TR-7")
    task = pending_task(response)
    mail.outbox.clear()
    with connection.cursor() as cursor:
        # As a job's connection: the application role, no tenant yet (so it sees no rows).
        cursor.execute(f'SET ROLE "{app_role()}"')
        cursor.execute("RESET app.tenant_id")
        cursor.execute("SELECT count(*) FROM workflows_humantask")
        assert cursor.fetchone() == (0,)
    try:
        assert not connection.in_atomic_block
        assert notify(task, chain.approvers) == 2
        assert notify(task, chain.approvers) == 0
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'SET ROLE "{platform_role()}"')
    assert NotificationSent.objects.filter(task=task).count() == 2
