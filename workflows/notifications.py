"""Notification emails about a task: one per person, each mailed once.

`notify(kind, task_id, user_ids, tenant_id)` is what a job handler calls (after the commit
that opened, reassigned, escalated or nearly overdue-ed the task). It is synchronous and
idempotent per (kind, task, person, occurrence): a `NotificationSent` row is written in the
transaction that sends the mail, so a retried job skips who was mailed, and a mail that fails
to send rolls its row back to be tried again. (A mail sent whose commit then fails is sent
again: at least once, never silently lost.)

The templates are ours, compiled by a private Django template engine with autoescape on (the
HTML part); the plain-text part and the subject are text/plain, where escaping would only
mangle names, so they render with autoescape off and the subject is kept to one line. Nothing
a user typed is ever template source. The private engine also means a host project needs no
TEMPLATES setting of ours.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.template import Context, Engine
from django.utils import timezone

from accounts.models import NotificationKind, NotificationPreference, User
from accounts.selectors import delegates_of
from core.tenancy import set_db_context
from workflows.engine.rows import columns, concrete_fields, instance, new
from workflows.engine.sql import cached, execute, is_postgres, qn
from workflows.engine.subjects import describe_subjects
from workflows.engine.templating import clean_header
from workflows.models import HumanTask, NotificationSent, TaskStatus, WorkflowRun

SUBJECT_MAX = 200
# Summary fields that mean nothing to a reader (ids of people, the type already named).
_HIDDEN_FIELDS = {"type", "id", "created_by"}

SUBJECT_TEMPLATE = (
    "{% autoescape off %}{{ headline }}: {{ task_name }} ({{ subject_title }}){% endautoescape %}"
)
TEXT_TEMPLATE = """{% autoescape off %}Hello {{ name }},

{{ headline }}.

Task: {{ task_name }}
Workflow: {{ workflow }}{% if chain %} ({{ chain }} in its chain){% endif %}
About: {{ subject_title }}{% for label, value in details %}
  {{ label }}: {{ value }}{% endfor %}{% if due_at %}
Due: {{ due_at }}{% endif %}

Open it: {{ link }}

You receive this because of your notification settings ({{ kind }}); turn them off in the
console or with PATCH /api/auth/me/notifications/.
{% endautoescape %}"""
HTML_TEMPLATE = """<!doctype html>
<html><body>
<p>Hello {{ name }},</p>
<p><strong>{{ headline }}.</strong></p>
<table>
<tr><th align="left">Task</th><td>{{ task_name }}</td></tr>
<tr><th align="left">Workflow</th>
<td>{{ workflow }}{% if chain %} ({{ chain }} in its chain){% endif %}</td></tr>
<tr><th align="left">About</th><td>{{ subject_title }}</td></tr>
{% for label, value in details %}<tr><th align="left">{{ label }}</th><td>{{ value }}</td></tr>
{% endfor %}{% if due_at %}<tr><th align="left">Due</th><td>{{ due_at }}</td></tr>{% endif %}
</table>
<p><a href="{{ link }}">Open the task</a></p>
<p><small>You receive this because of your notification settings ({{ kind }}).</small></p>
</body></html>
"""

_engine = Engine(autoescape=True)
_subject = _engine.from_string(SUBJECT_TEMPLATE)
_text = _engine.from_string(TEXT_TEMPLATE)
_html = _engine.from_string(HTML_TEMPLATE)


def console_url() -> str:
    """The console's base URL: `WORKFLOWS_CONSOLE_URL`, else the first named host."""
    configured = getattr(settings, "WORKFLOWS_CONSOLE_URL", "")
    if configured:
        return configured.rstrip("/")
    hosts = [h for h in settings.ALLOWED_HOSTS if h and not h.startswith((".", "*"))]
    scheme = "https" if getattr(settings, "SECURE_SSL_REDIRECT", False) else "http"
    return f"{scheme}://{hosts[0] if hosts else 'localhost'}"


def task_link(task_id: int) -> str:
    """The console's inbox, which lists the task among the reader's open work."""
    return f"{console_url()}/inbox?task={int(task_id)}"


def _subject_title(summary: dict[str, Any]) -> str:
    kind = str(summary.get("type", "item")).replace("_", " ").capitalize()
    reference = summary.get("reference")
    return f"{kind} {reference}" if reference else f"{kind} #{summary.get('id')}"


def _details(summary: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (key.replace("_", " ").capitalize(), str(value)[:200])
        for key, value in summary.items()
        if key not in _HIDDEN_FIELDS and key != "reference" and value not in (None, "")
    ]


def _context(kind: str, task: HumanTask, summary: dict[str, Any]) -> dict[str, Any]:
    run = task.run
    return {
        "kind": kind,
        "headline": NotificationKind(kind).label,
        "task_name": task.name,
        "workflow": run.workflow_name,
        "chain": f"{run.sequence} of {run.chain_length}" if run.chain_length > 1 else "",
        "subject_title": _subject_title(summary),
        "details": _details(summary),
        "due_at": task.due_at.strftime("%Y-%m-%d %H:%M UTC") if task.due_at else "",
        "link": task_link(task.pk),
    }


def render(
    kind: str, task: HumanTask, summary: dict[str, Any], user: User
) -> EmailMultiAlternatives:
    """The email to `user` about `task` (not sent)."""
    values = {**_context(kind, task, summary), "name": user.full_name or user.email}
    subject = clean_header(_subject.render(Context(values))).strip()[:SUBJECT_MAX]
    message = EmailMultiAlternatives(
        subject=subject,
        body=_text.render(Context(values)),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers={"Auto-Submitted": "auto-generated", "X-Workflows-Notification": kind},
    )
    message.attach_alternative(_html.render(Context(values)), "text/html")
    return message


def with_delegates(tenant_id: int, user_ids: set[int]) -> set[int]:
    """`user_ids` and the out-of-office delegates they have now (one query): a delegate is
    told what their delegator is told, as they may act on it."""
    if not user_ids:
        return user_ids
    delegates = delegates_of(tenant_id, user_ids, timezone.now())
    return user_ids | set(delegates)


def _pending_task(tenant_id: int, task_id: int) -> HumanTask | None:
    """The task, with its run, if it is still pending (one statement)."""
    rows, _ = execute(_pending_task_sql(), [tenant_id, task_id, TaskStatus.PENDING])
    if not rows:
        return None
    width = len(concrete_fields(HumanTask))
    task = instance(HumanTask, rows[0][:width])
    task.run = instance(WorkflowRun, rows[0][width:])
    return task


@cached
def _pending_task_sql() -> str:
    tasks, runs = qn(HumanTask._meta.db_table), qn(WorkflowRun._meta.db_table)
    return (
        f"SELECT {columns(HumanTask, 'k')}, {columns(WorkflowRun, 'r')} FROM {tasks} k "  # noqa: S608
        f"JOIN {runs} r ON r.tenant_id = k.tenant_id AND r.id = k.run_id "
        "WHERE k.tenant_id = %s AND k.id = %s AND k.status = %s"
    )


def _recipients(
    tenant_id: int, task_id: int, kind: str, occurrence: str, user_ids: list[int]
) -> list[User]:
    """Who of `user_ids` is mailed: this tenant's active people with an address, less who
    turned `kind` off and who was mailed this (kind, occurrence) of the task (one statement)."""
    if not user_ids:
        return []
    ids: list[Any] = [user_ids] if is_postgres() else list(user_ids)
    rows, _ = execute(
        _recipients_sql(kind, 0 if is_postgres() else len(user_ids)),
        [tenant_id, *ids, task_id, kind, occurrence],
    )
    return [
        new(User, pk=pk, tenant_id=tenant_id, email=email, full_name=full_name)
        for pk, email, full_name in rows
    ]


@cached
def _recipients_sql(kind: str, count: int) -> str:
    # `count` placeholders for the ids on SQLite; PostgreSQL takes them as one array.
    users, sent = qn(User._meta.db_table), qn(NotificationSent._meta.db_table)
    preferences = qn(NotificationPreference._meta.db_table)
    # A person with no preferences row gets every kind (see NotificationPreference).
    turned_off = qn(NotificationPreference._meta.get_field(kind).column)
    ids = "= ANY(%s)" if not count else f"IN ({', '.join(['%s'] * count)})"
    return (
        f"SELECT u.id, u.email, u.full_name FROM {users} u "  # noqa: S608
        f"WHERE u.tenant_id = %s AND u.id {ids} AND u.is_active AND u.email <> '' "
        f"AND NOT EXISTS (SELECT 1 FROM {sent} n WHERE n.tenant_id = u.tenant_id "
        "AND n.task_id = %s AND n.user_id = u.id AND n.kind = %s AND n.occurrence = %s) "
        f"AND NOT EXISTS (SELECT 1 FROM {preferences} p WHERE p.tenant_id = u.tenant_id "
        f"AND p.user_id = u.id AND NOT p.{turned_off}) "
        "ORDER BY u.id"
    )


def notify(
    kind: str, task_id: int, user_ids: Iterable[int], tenant_id: int, *, occurrence: str = ""
) -> int:
    """Mails each of `user_ids` about the task once; returns how many mails were sent now.

    Skipped: people who turned `kind` off, are inactive, have no email, belong to another
    tenant, or were already mailed this (kind, occurrence) of the task; everyone when the
    task is no longer pending. `occurrence` tells repeated notices apart (e.g. the timer id of
    a second reminder). Outside a transaction each person gets their own, with the tenant's
    database context; inside one, the caller's context and transaction are used. A mail
    server error propagates (after rolling back that person's row) so the job is retried.
    """
    if kind not in NotificationKind.values:
        raise ValueError(f"Unknown notification kind {kind!r}.")
    own_transactions = not connection.in_atomic_block
    asked = {int(u) for u in user_ids}
    if not asked:
        return 0
    with transaction.atomic():
        if own_transactions:
            set_db_context(tenant_id=tenant_id)
        task = _pending_task(tenant_id, task_id)
        if task is None:
            return 0
        wanted = sorted(with_delegates(tenant_id, asked))
        people = _recipients(tenant_id, task_id, kind, occurrence, wanted)
        if not people:
            return 0
        ref = (task.subject_type, task.subject_id)
        summary = describe_subjects(tenant_id, [ref])[ref]
    sent = 0
    for user in people:
        try:
            # One transaction (or savepoint) per person: the row and the mail go together.
            with transaction.atomic():
                if own_transactions:
                    set_db_context(tenant_id=tenant_id)
                NotificationSent.objects.create(
                    tenant_id=tenant_id,
                    task_id=task_id,
                    user_id=user.pk,
                    kind=kind,
                    occurrence=occurrence,
                )
                render(kind, task, summary, user).send(fail_silently=False)
        except IntegrityError:
            continue  # mailed by a concurrent run of the same job
        sent += 1
    return sent
