"""Base API classes: the tenant comes from the authenticated user, never from the client."""

from __future__ import annotations

from contextlib import ExitStack
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, router, transaction

from core.db import request_transaction
from core.db_router import REPLICA_DB_ALIAS, reading_from_replica, replica_configured
from core.errors import NotFound
from core.middleware import request_id_var
from core.tenancy import set_db_context


class TenantScopedMixin:
    """Resolves `self.tenant` from the user; a `tenant_id` in the path must be the user's own.

    A path naming another tenant answers 404 exactly like a missing one. Each request runs in
    one transaction whose database context names the tenant (row-level security) and the
    actor (audit); an error response rolls it back, so a rejected request changes nothing.
    A GET of a view marked `core.db_router.replica_reads` runs that transaction on the read
    replica instead, when one is configured: authentication reads the primary, the rest of
    the request reads the replica (its tenant context set on the replica's connection).
    """

    request: Any
    kwargs: dict[str, Any]
    # Command routes: the model of the row the path's `pk` names. It is looked up (404 when
    # missing or another tenant's) before the handler runs, so before anything reads the body:
    # an invalid body on another tenant's object answers 404, like any other request on it.
    path_model: Any = None
    replica_reads = False  # set by core.db_router.replica_reads
    _db_alias = DEFAULT_DB_ALIAS

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if self.replica_reads and request.method in ("GET", "HEAD") and replica_configured():
            self._db_alias = REPLICA_DB_ALIAS
        with ExitStack() as self._replica_scope, request_transaction(using=self._db_alias):
            response = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
            if response.status_code >= 400:
                transaction.set_rollback(True, using=self._db_alias)
        return response

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        user = request.user
        path_tenant = self.kwargs.get("tenant_id")
        if path_tenant is not None and str(user.tenant_id) != str(path_tenant):
            raise NotFound("Not found.")
        self.tenant = user.tenant
        set_db_context(
            tenant_id=user.tenant_id,
            actor_id=user.pk,
            request_id=request_id_var.get(),
            using=self._db_alias,
        )
        if self._db_alias == REPLICA_DB_ALIAS:
            # Only now: the credentials were checked on the primary (a revoked token or a
            # deactivated user is refused without waiting for the replica to catch up).
            self._replica_scope.enter_context(reading_from_replica())
        pk = self.kwargs.get("pk")
        if self.path_model is not None and pk is not None and not self._path_object_exists(pk):
            raise NotFound("Not found.")

    def _path_object_exists(self, pk: Any) -> bool:
        # One hand-written statement (prepared once per connection), not an ORM query built
        # on every command; an id no bigint holds names nothing (as the ORM answers).
        if not isinstance(pk, int):
            return bool(self.path_model.objects.for_tenant(self.tenant).filter(pk=pk).exists())
        if not 0 < pk < 2**63:
            return False
        with connections[router.db_for_read(self.path_model)].cursor() as cursor:
            cursor.execute(_exists_sql(self.path_model), [self.tenant.pk, pk])
            return cursor.fetchone() is not None


@cache
def _exists_sql(model: Any) -> str:
    qn = connection.ops.quote_name
    table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
    return f"SELECT 1 FROM {table} WHERE tenant_id = %s AND {pk} = %s"  # noqa: S608
