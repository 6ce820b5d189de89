"""A text prompt whose default is a placeholder, shared by `aiapp new` and `aiapp init`.

The default is shown greyed out (prompt_toolkit's `placeholder`, which questionary passes through): the
first key typed replaces it, and Enter on an empty line accepts it. A pre-filled buffer would append
what is typed to the default (`ai` + `team-ml` = `aiteam-ml`).
"""

from __future__ import annotations

from typing import Any


def placeholder_text(message: str, default: str) -> Any:
    """The questionary question (ask it with `unsafe_ask()`); an empty answer means `default`."""
    import questionary
    from prompt_toolkit.formatted_text import FormattedText

    if not default:
        return questionary.text(message)
    return questionary.text(message, placeholder=FormattedText([("fg:ansibrightblack", default)]))
