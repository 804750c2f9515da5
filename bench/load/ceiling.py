"""The framework ceiling for `make load`: the transfer endpoints' work in hand-written SQL.

The same stack as the API (gunicorn, Django, DRF, JWT authentication, the tenant's transaction
and row-level-security context, `TenantScopedMixin`), but no ORM and no engine: each view runs
the SQL a decision needs (bench/approval_chain.py's ceiling: lock the task, insert the
decision, advance the chain) on tables of its own. config/urls.py mounts it at /bench/ceiling/
only when the server runs with WORKFLOWS_BENCH_CEILING=1; bench/load/run.py creates the tables.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsTenantMember
from core.api.views import TenantScopedMixin

STAGES = 3
REVIEW_STAGE = 2  # excludes the previous deciders, as the engine's chain does

SCHEMA = """
DROP TABLE IF EXISTS load_raw_decision, load_raw_task, load_raw_run, load_raw_transfer;
CREATE TABLE load_raw_transfer (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL,
    status text NOT NULL, reference text NOT NULL, created_by bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE load_raw_run (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL,
    transfer_id bigint NOT NULL REFERENCES load_raw_transfer, seq int NOT NULL,
    status text NOT NULL, UNIQUE (tenant_id, transfer_id, seq));
CREATE TABLE load_raw_task (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL,
    run_id bigint NOT NULL REFERENCES load_raw_run, transfer_id bigint NOT NULL,
    seq int NOT NULL, status text NOT NULL, excluded bigint[] NOT NULL DEFAULT '{}');
CREATE TABLE load_raw_decision (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL,
    task_id bigint NOT NULL REFERENCES load_raw_task, user_id bigint NOT NULL,
    decision text NOT NULL, decided_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON load_raw_transfer (tenant_id, id);
CREATE INDEX ON load_raw_task (tenant_id, transfer_id, status);
CREATE INDEX ON load_raw_task (tenant_id, status, id);
"""


def grants(role: str) -> str:
    return (
        "GRANT SELECT, INSERT, UPDATE ON load_raw_transfer, load_raw_run, load_raw_task, "
        f'load_raw_decision TO "{role}"; '
        f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{role}"'
    )


def _rows(sql: str, params: list[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


class _Ceiling(TenantScopedMixin, APIView):
    permission_classes = [IsTenantMember]


class TransfersView(_Ceiling):
    def get(self, request: Request) -> Response:
        tenant = self.tenant.pk
        count = _rows("SELECT count(*) FROM load_raw_transfer WHERE tenant_id = %s", [tenant])
        rows = _rows(
            "SELECT id, reference, status, created_at FROM load_raw_transfer "
            "WHERE tenant_id = %s ORDER BY id DESC LIMIT 50",
            [tenant],
        )
        keys = ("id", "reference", "status", "created_at")
        return Response(
            {"count": count[0][0], "transfers": [dict(zip(keys, r, strict=True)) for r in rows]}
        )

    def post(self, request: Request) -> Response:
        tenant = self.tenant.pk
        reference = str(request.data.get("reference", ""))[:64]
        (tid,) = _rows(
            "INSERT INTO load_raw_transfer (tenant_id, status, reference, created_by) "
            "VALUES (%s, 'pending', %s, %s) RETURNING id",
            [tenant, reference, request.user.pk],
        )[0]
        runs = _rows(
            "INSERT INTO load_raw_run (tenant_id, transfer_id, seq, status) "
            "SELECT %s, %s, s, CASE WHEN s = 1 THEN 'running' ELSE 'not_started' END "
            "FROM generate_series(1, %s) s RETURNING id",
            [tenant, tid, STAGES],
        )
        _rows(
            "INSERT INTO load_raw_task (tenant_id, run_id, transfer_id, seq, status) "
            "VALUES (%s, %s, %s, 1, 'pending')",
            [tenant, min(r[0] for r in runs), tid],
        )
        return Response({"transfer": {"id": tid, "status": "pending", "stage": 1}}, status=201)


class TasksView(_Ceiling):
    def get(self, request: Request) -> Response:
        tenant, user = self.tenant.pk, request.user.pk
        where = "tenant_id = %s AND status = 'pending' AND NOT (%s = ANY(excluded))"
        count = _rows(f"SELECT count(*) FROM load_raw_task WHERE {where}", [tenant, user])
        rows = _rows(
            f"SELECT id, transfer_id, seq FROM load_raw_task WHERE {where} ORDER BY id LIMIT 50",
            [tenant, user],
        )
        keys = ("id", "transfer", "stage")
        return Response(
            {"count": count[0][0], "results": [dict(zip(keys, r, strict=True)) for r in rows]}
        )


class ApproveView(_Ceiling):
    def post(self, request: Request, pk: int) -> Response:
        tenant, user = self.tenant.pk, request.user.pk
        locked = _rows(
            "SELECT id, run_id, seq, excluded FROM load_raw_task WHERE tenant_id = %s "
            "AND transfer_id = %s AND status = 'pending' AND NOT (%s = ANY(excluded)) "
            "FOR UPDATE",
            [tenant, pk, user],
        )
        if not locked:
            return Response({"detail": "Nothing is awaiting approval."}, status=409)
        task_id, run_id, seq, excluded = locked[0]
        _rows(
            "INSERT INTO load_raw_decision (tenant_id, task_id, user_id, decision) "
            "VALUES (%s, %s, %s, 'approve')",
            [tenant, task_id, user],
        )
        _rows("UPDATE load_raw_task SET status = 'approved' WHERE id = %s", [task_id])
        _rows("UPDATE load_raw_run SET status = 'completed' WHERE id = %s", [run_id])
        deciders = [*excluded, user]
        if seq < STAGES:
            (next_run,) = _rows(
                "UPDATE load_raw_run SET status = 'running' WHERE tenant_id = %s "
                "AND transfer_id = %s AND seq = %s RETURNING id",
                [tenant, pk, seq + 1],
            )[0]
            _rows(
                "INSERT INTO load_raw_task (tenant_id, run_id, transfer_id, seq, status, "
                "excluded) VALUES (%s, %s, %s, %s, 'pending', %s)",
                [tenant, next_run, pk, seq + 1, deciders if seq + 1 == REVIEW_STAGE else []],
            )
            status = "pending"
        else:
            _rows("UPDATE load_raw_transfer SET status = 'approved' WHERE id = %s", [pk])
            status = "approved"
        return Response(
            {"transfer": {"id": pk, "status": status, "stage": seq + 1, "deciders": deciders}}
        )


urlpatterns = [
    path("transfers/", TransfersView.as_view()),
    path("transfers/<int:pk>/approve/", ApproveView.as_view()),
    path("tasks/", TasksView.as_view()),
]
