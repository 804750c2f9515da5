"""The former name of the unit of work (`uow.UnitOfWork`), kept for code that imports it."""

from __future__ import annotations

from workflows.engine.uow import UnitOfWork

TransitionLog = UnitOfWork

__all__ = ["TransitionLog", "UnitOfWork"]
