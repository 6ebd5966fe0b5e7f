"""How every API response is rendered, whatever a request put into it."""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi.responses import JSONResponse


class SafeJSONResponse(JSONResponse):
    """JSON that renders whatever a request put in it: non-ASCII is escaped (so a lone
    surrogate from a `\\ud800` escape cannot fail to encode), NaN and infinity become null."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            _finite(content), ensure_ascii=True, allow_nan=False, separators=(",", ":")
        ).encode("ascii")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def validation_detail(errors: list[dict]) -> list[dict]:
    """Pydantic's errors without the offending input (it may be a lone surrogate, NaN, or a
    10,000-deep structure): where (`loc`), what (`msg`) and the error `type` are enough."""
    return [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg")), "type": e.get("type")}
        for e in errors
    ]
