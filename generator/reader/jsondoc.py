"""A JSON file people hand to aiapp (a baseline), read by the bounded file reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator.errors import UsageError
from generator.reader.files import problem, read_bytes

# A baseline of 10,000 findings is about 3 MB.
MAX_JSON_BYTES = 64 * 1024 * 1024


def load_json(path: Path, what: str, *, max_bytes: int = MAX_JSON_BYTES, hint: str | None = None) -> Any:
    """The JSON value of a regular file of at most `max_bytes`; a UsageError (exit 2, one line) for a
    FIFO, a device, a larger file, text that is not UTF-8 or not JSON, or nesting Python cannot follow."""
    where = f"{what} {path}"
    try:
        raw = read_bytes(path, max_bytes)
    except OSError as error:
        raise UsageError(f"{where} {problem(error)}", hint=hint) from None
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise UsageError(f"{where} is not UTF-8 text (byte {error.start})", hint=hint) from None
    except json.JSONDecodeError as error:
        raise UsageError(f"{where} is not JSON: {error.msg} (line {error.lineno})", hint=hint) from None
    except RecursionError:
        raise UsageError(f"{where} is nested too deeply to be a baseline", hint=hint) from None
