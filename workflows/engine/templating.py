"""Email templates: `{name}` replaced by a field's value, and nothing else.

No format specs, conversions, attribute or index access (`str.format` allowed `{title:>400000000}`
and `{title.__class__.__mro__}`): whatever is not `{identifier}` naming a known field stays as
written. Each value and the result are capped, so a template's output is bounded.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

SUBJECT_TEMPLATE_MAX = 500
BODY_TEMPLATE_MAX = 20_000
SUBJECT_MAX = 500
BODY_MAX = 50_000
VALUE_MAX = 2_000

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,63})\}")


def render(
    template: str, fields: dict[str, Any], *, limit: int, value_limit: int = VALUE_MAX
) -> str:
    parts: list[str] = []
    size = 0
    position = 0
    for match in _FIELD.finditer(template):
        name = match.group(1)
        if name not in fields:
            continue  # stays as written, with the text around it
        value = fields[name]
        text = "" if value is None else str(value)[:value_limit]
        parts.append(template[position : match.start()])
        parts.append(text)
        size += match.start() - position + len(text)
        position = match.end()
        if size >= limit:
            break
    parts.append(template[position:])
    return "".join(parts)[:limit]


def clean_header(text: str) -> str:
    """Without control characters or line/paragraph separators: a header stays one header."""
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Zl", "Zp"))


def render_subject(template: str, fields: dict[str, Any]) -> str:
    return clean_header(render(template, fields, limit=SUBJECT_MAX * 2))[:SUBJECT_MAX].strip()


def render_body(template: str, fields: dict[str, Any]) -> str:
    return render(template, fields, limit=BODY_MAX)
