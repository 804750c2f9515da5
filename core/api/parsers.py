"""The API's JSON parser: DRF's, with a limit on size (413) and on nesting depth (400).

Without a depth limit, JSON nested a few thousand levels deep makes `json.loads` (or any
recursive walk after it: validators, hashing, the encoders) raise `RecursionError`, a 500.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import exceptions, parsers, status
from rest_framework.utils import json as drf_json


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


def too_large_message() -> str:
    return f"Request body too large: at most {settings.API_MAX_BODY_BYTES} bytes."


def too_deep(value: Any, limit: int) -> bool:
    """True when `value` nests more than `limit` objects/arrays; iterative, so any depth."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        limit = settings.API_MAX_BODY_BYTES
        depth = settings.API_MAX_JSON_DEPTH
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:  # the middleware refuses by Content-Length; this bounds the read
            raise RequestTooLarge(too_large_message())
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise exceptions.ParseError(f"JSON parse error - not valid {encoding}.") from exc
        parse_constant = drf_json.strict_constant if self.strict else None
        try:
            data = json.loads(text, parse_constant=parse_constant)
        except RecursionError as exc:
            raise exceptions.ParseError(too_deep_message(depth)) from exc
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        # Fewer brackets than the limit cannot nest past it: most bodies skip the walk.
        brackets = text.count("[") + text.count("{")
        if brackets > depth and isinstance(data, dict | list) and too_deep(data, depth):
            raise exceptions.ParseError(too_deep_message(depth))
        return data


def too_deep_message(depth: int) -> str:
    return f"JSON parse error - nested deeper than {depth} levels."
