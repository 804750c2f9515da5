"""The SQL toolkit, part 2: model rows without the ORM's per-row overhead.

Generic: any model with `tenant_id`. `instance` reads a row selected with `columns` into a
model instance, `new` builds an unsaved one, `update` / `update_row` / `insert_statement`
build the statements that write exactly the given columns, scoped by tenant_id. They skip
`Model.__init__` and `save()` but build what those build; the Django internals they rely on
(ModelState, Col converters, the init signals' receiver cache, field attnames and defaults,
get_db_prep_save) are pinned by `workflows/tests/test_sql_toolkit.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models import signals
from django.db.models.base import ModelState
from django.db.models.expressions import Col
from django.dispatch.dispatcher import NO_RECEIVERS
from psycopg.types.json import Jsonb

from workflows.engine.sql import Statement, cached, execute, qn, to_json, vendor

# --- reading rows into instances -------------------------------------------------------------


@cache
def concrete_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    return tuple(model._meta.concrete_fields)


def model_field(model: type[models.Model], name: str) -> models.Field:
    """A concrete field by name (the statements here write columns, never relations)."""
    return cast(models.Field, model._meta.get_field(name))


def _fields(model: type[models.Model], names: tuple[str, ...] | None) -> tuple[models.Field, ...]:
    return concrete_fields(model) if names is None else tuple(model_field(model, n) for n in names)


@cached
def columns(
    model: type[models.Model], alias: str = "", names: tuple[str, ...] | None = None
) -> str:
    """The model's columns (or those of the fields `names`, by name or attname) for a SELECT."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{qn(f.column)}" for f in _fields(model, names))


@cache
def _conversions(
    model: type[models.Model], vendor: str, names: tuple[str, ...] | None = None
) -> tuple[tuple[int, Any, tuple[Any, ...]], ...]:
    # What the ORM's compiler applies to a column (JSON parsing, SQLite datetimes, ...), for
    # the columns that need it: (index, expression, converters). Most need nothing.
    table = model._meta.db_table
    out = []
    for index, field in enumerate(_fields(model, names)):
        expression = Col(table, field)
        found = connection.ops.get_db_converters(expression) + expression.get_db_converters(
            connection
        )
        if found:
            out.append((index, expression, tuple(found)))
    return tuple(out)


def _convert(conversions: Any, values: Sequence[Any], db: Any) -> list[Any]:
    converted = list(values)
    for index, expression, found in conversions:
        value = converted[index]
        for converter in found:
            value = converter(value, expression, db)
        converted[index] = value
    return converted


def converted(
    model: type[models.Model], names: tuple[str, ...], values: Sequence[Any], db: Any = None
) -> list[Any]:
    """A row selected with `columns(model, alias, names)` as the ORM would give those fields'
    values (`values_list`), without building an instance."""
    db = db or connections[DEFAULT_DB_ALIAS]
    return _convert(_conversions(model, db.vendor, names), values, db)


@cache
def _attnames(model: type[models.Model]) -> list[str]:
    return [f.attname for f in concrete_fields(model)]


def _plain_init(model: type[models.Model]) -> bool:
    """No pre_init/post_init receiver for `model`: its instances may be built without
    `Model.__init__`. The signals remember a sender without receivers until one connects."""
    for signal in (signals.pre_init, signals.post_init):
        known_none = signal.sender_receivers_cache.get(model) is NO_RECEIVERS
        if not known_none and signal.has_listeners(model):
            return False
    return True


def instance(model: type[models.Model], values: Sequence[Any], db: Any = None) -> Any:
    """A model instance from a row selected with `columns(model, ...)`: what `Model.from_db`
    builds, without `Model.__init__`'s work per field when no init signal listens (several
    instances per decision; the values go straight into the instance's __dict__, as the
    field descriptors would put them into a new instance). `db`: the default connection, if
    the caller has it."""
    db = db or connections[DEFAULT_DB_ALIAS]
    row = _convert(_conversions(model, db.vendor), values, db)
    if not _plain_init(model):
        return model.from_db(DEFAULT_DB_ALIAS, _attnames(model), row)
    obj = model.__new__(model)
    obj.__dict__.update(zip(_attnames(model), row, strict=True))
    state = obj._state = ModelState()
    state.adding, state.db = False, DEFAULT_DB_ALIAS
    return obj


@cache
def _init_fields(model: type[models.Model]) -> tuple[tuple[str, str, Any, Any, Any], ...]:
    # (name, attname, the related field's attname for a foreign key else None, field, what
    # gives its default: Field.get_default without its frame, but for a foreign key's)
    return tuple(
        (
            f.name,
            f.attname,
            f.target_field.attname if f.many_to_one else None,
            f,
            f.get_default if f.many_to_one else f._get_default,
        )
        for f in cast(tuple[Any, ...], concrete_fields(model))  # FK internals: untyped
    )


def new(model: type[models.Model], **values: Any) -> Any:
    """`model(**values)` for a new row, without `Model.__init__`'s generic work when no init
    signal listens: fields take `values` (a foreign key by name as an instance, or by attname
    as an id) or their defaults. Several new rows per transfer go through here."""
    if not _plain_init(model):
        return model(**values)
    obj = model.__new__(model)
    obj._state = ModelState()
    data = obj.__dict__
    for name, attname, target, field, default in _init_fields(model):
        if name in values:
            value = values.pop(name)
            if target is None:
                data[attname] = value
            elif value is None:
                data[attname] = None
            else:  # a related instance: its id on the row, itself in the cache
                data[attname] = getattr(value, target)
                field.set_cached_value(obj, value)
        elif attname in values:
            data[attname] = values.pop(attname)
        else:
            data[attname] = default()
    for name, value in values.items():  # `pk` and other properties, as Model.__init__ allows
        if not isinstance(getattr(model, name, None), property):
            raise TypeError(f"{model.__name__}() got an unexpected keyword argument '{name}'")
        setattr(obj, name, value)
    return obj


def width(model: type[models.Model]) -> int:
    return len(concrete_fields(model))


# --- writing instances back ------------------------------------------------------------------


@cached
def _update_sql(
    model: type[models.Model], fields: tuple[str, ...], guards: tuple[str, ...]
) -> tuple[str, Preparers]:
    targets = tuple(model_field(model, name) for name in fields)
    sets = ", ".join(f"{qn(f.column)} = %s" for f in targets)
    where = "".join(f" AND {qn(model_field(model, g).column)} = %s" for g in guards)
    table = qn(model._meta.db_table)
    sql = f"UPDATE {table} SET {sets} WHERE tenant_id = %s AND id = %s{where}"
    return sql, _preparers(targets)


# Values PostgreSQL takes as they are: no need for Field.get_db_prep_save (a JSON field, for
# one, needs it; SQLite needs it for most types).
_AS_IS = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "DateTimeField",
    "ForeignKey",
    "IntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "TextField",
}


Preparers = tuple[tuple[str, Any], ...]


def _preparers(targets: Sequence[models.Field]) -> Preparers:
    """(attname, how to put a value into database form, or None: as it is) per field. Built
    with the statements that use them, which are cached per vendor."""
    postgres = vendor() == "postgresql"
    as_is = _AS_IS if postgres else set()

    def preparer(field: models.Field) -> Any:
        if field.get_internal_type() in as_is:
            return None
        if postgres and isinstance(field, models.JSONField) and field.encoder is None:
            return _jsonb  # what get_db_prep_save gives, encoded by orjson
        return field.get_db_prep_save

    return tuple((f.attname, preparer(f)) for f in targets)


def _jsonb(value: Any, db: Any) -> Jsonb:
    return Jsonb(value, dumps=to_json)


def _as_stored(preparers: Preparers, values: Sequence[Any]) -> list[Any]:
    """Values as the database takes them."""
    out = list(values)
    db = None  # looked up once, if a value needs it (the lookup is not free)
    for index, (_, prepare) in enumerate(preparers):
        if prepare is not None:
            if db is None:
                db = connections[DEFAULT_DB_ALIAS]
            out[index] = prepare(out[index], db)
    return out


def _prepared(obj: models.Model, preparers: Preparers) -> list[Any]:
    return _as_stored(preparers, [getattr(obj, attname) for attname, _ in preparers])


def update(
    obj: models.Model, fields: Sequence[str], *, guard: dict[str, Any] | None = None
) -> Statement:
    """UPDATE the given fields of one row from the instance: what `save(update_fields=...)`
    writes, without its overhead (no signals; auto_now fields are the caller's business).
    `guard`: the row must still have these values (e.g. a status), else nothing changes."""
    guard = guard or {}
    sql, preparers = _update_sql(type(obj), tuple(fields), tuple(guard))
    params = [*_prepared(obj, preparers), obj.tenant_id, obj.pk, *guard.values()]  # type: ignore[attr-defined]
    return sql, params


def as_stored(model: type[models.Model], field: str, value: Any) -> Any:
    """A value as the database takes it (PostgreSQL takes most as they are)."""
    return _as_stored(_field_preparers(model, field), [value])[0]


@cached
def _field_preparers(model: type[models.Model], field: str) -> Preparers:
    return _preparers([model_field(model, field)])


def update_row(
    model: type[models.Model],
    tenant_id: int,
    pk: int,
    values: dict[str, Any],
    *,
    guard: dict[str, Any] | None = None,
) -> Statement:
    """`update` without an instance: `values` by field name."""
    guard = guard or {}
    sql, preparers = _update_sql(model, tuple(values), tuple(guard))
    return sql, [*_as_stored(preparers, list(values.values())), tenant_id, pk, *guard.values()]


def save(obj: models.Model, fields: Sequence[str], *, guard: dict[str, Any] | None = None) -> int:
    """Write `fields` of one row; the number of rows changed (0 if a guard did not hold)."""
    return execute(*update(obj, fields, guard=guard))[1]


@cached
def insert_sql(model: type[models.Model]) -> tuple[str, Preparers]:
    targets = tuple(f for f in concrete_fields(model) if not f.primary_key)
    names = ", ".join(qn(f.column) for f in targets)
    holes = ", ".join(["%s"] * len(targets))
    return (
        f"INSERT INTO {qn(model._meta.db_table)} ({names}) VALUES ({holes}) RETURNING id",
        _preparers(targets),
    )


def insert_statement(obj: models.Model) -> Statement:
    """INSERT of a new instance, every column from the instance; returns the new id."""
    for field in concrete_fields(type(obj)):
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            field.pre_save(obj, add=True)
    sql, preparers = insert_sql(type(obj))
    return sql, _prepared(obj, preparers)


def insert(obj: models.Model) -> None:
    """Insert a new instance (what `save()` does for a new row, without signals); sets pk."""
    rows, _ = execute(*insert_statement(obj))
    obj.pk = rows[0][0]
    obj._state.adding = False
