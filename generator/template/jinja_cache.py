"""A small on-disk cache of compiled copier.yml expressions, so that `aiapp new` starts as fast as Copier.

copier.yml has about fifty Jinja expressions (defaults, conditions, validators). Compiling them takes
about 80 ms per run, which is more than the 5 % of a Copier render that `aiapp new` may add on top of
plain `copier copy`. The compiled code objects are kept in one marshal file per Python and Jinja
version, like Python's own `__pycache__`. The cache is only an optimisation: any problem reading or
writing it (read-only home, corrupt file) is ignored, and the expressions are compiled as before.
`AIAPP_NO_CACHE=1` turns it off.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import tempfile
from pathlib import Path
from types import CodeType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import Environment, Template

ENV_NO_CACHE = "AIAPP_NO_CACHE"


def cache_file(env: Environment) -> Path | None:
    """Where the code of this environment's expressions is kept (None when caching is off)."""
    if os.environ.get(ENV_NO_CACHE) == "1":
        return None
    import jinja2

    try:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    except (RuntimeError, KeyError):  # no home directory: no cache
        return None
    flavour = f"{type(env).__name__}-{'-'.join(sorted(env.extensions))}"
    tag = hashlib.sha256(f"{sys.version}|{jinja2.__version__}|{flavour}".encode()).hexdigest()[:16]
    return Path(base) / "aiapp" / f"expressions-{tag}.marshal"


class ExpressionCache:
    """Compiled expressions of one Jinja environment, loaded once and saved when something was added."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.path = cache_file(env)
        self.codes: dict[str, CodeType] = self._load()
        self.dirty = False

    def _load(self) -> dict[str, CodeType]:
        if self.path is None:
            return {}
        try:
            data = marshal.loads(self.path.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, CodeType)}

    def template(self, source: str) -> Template:
        """The template of `source`, compiled now only if no earlier run compiled it."""
        key = hashlib.sha256(source.encode()).hexdigest()
        code = self.codes.get(key)
        if code is None:
            code = self.env.compile(source)
            self.codes[key] = code
            self.dirty = True
        return self.env.template_class.from_code(self.env, code, self.env.make_globals(None), None)

    def save(self) -> None:
        """Write the cache if expressions were added (atomically; failures are ignored)."""
        if not self.dirty or self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle, temp = tempfile.mkstemp(prefix=".expressions-", dir=self.path.parent)
        except OSError:
            return
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(marshal.dumps(self.codes))
            os.replace(temp, self.path)
            self.dirty = False
        except (OSError, ValueError):
            Path(temp).unlink(missing_ok=True)
