"""The errors aiapp shows to users: one line, no traceback, with a hint that names the fix."""

from __future__ import annotations

# A value echoed in an error is cut to about this many characters (a refused 300 KB description would
# otherwise be a 300 KB line in a CI log).
MAX_SHOWN = 80


def cut(text: str, limit: int = MAX_SHOWN) -> str:
    """`text` for a one-line message: whole when short, else its start and its length."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 3]}... ({len(text):,} characters)"


def quoted(value: object, limit: int = MAX_SHOWN) -> str:
    """`repr(value)` for a one-line message, cut like `cut` but with the length of the value itself
    (a 300-character text is said to have 300 characters, not the 302 of its quoted form)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    length = len(value) if isinstance(value, str) else len(text)
    return f"{text[: limit - 3]}... ({length:,} characters)"


class AiappError(Exception):
    """Base of every error that the CLI turns into a one-line message."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nhint: {self.hint}"


class UsageError(AiappError):
    """Bad input from the user (an invalid answer, an unknown option value): exit code 2."""

    exit_code = 2


class TemplateSourceError(AiappError):
    """The template (copier.yml and template/) cannot be found or reached."""

    exit_code = 2


class RenderError(AiappError):
    """Copier failed, or the template version cannot be read: nothing was written."""


class Interrupted(AiappError):
    """Ctrl-C after something was written: the message says what is on disk."""

    exit_code = 130


class ProfileError(AiappError):
    """The cluster profile (the `cluster:` section of `.aiapp.yml`) is invalid: exit code 2."""

    exit_code = 2
