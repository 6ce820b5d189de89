"""Rename a question in a Copier answers file: a `_migrations` command of the aiapp template.

    python rename_answer.py ANSWERS_FILE OLD NEW

Copier runs it at the `before` stage of `copier update` / `aiapp update`, in the app's directory, with
the Python that runs Copier (`{{ _copier_python }}`): standard library only, so it works without the aiapp
package. Copier then reads the renamed answer as the new question's answer; without the rename the new
question would silently take its default.

Copier writes answers files with `to_nice_yaml`: every answer is a top-level `key: value` at column 0,
its continuation lines (nested values, indentless list items) are indented or start with `-`. Renaming
the key's line is therefore exact. When NEW is already answered, the stale OLD answer is dropped; when
OLD is absent there is nothing to do. The file is replaced atomically.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile


def rename(text: str, old: str, new: str) -> str:
    """The answers text with the top-level key `old` renamed to `new` (see the module docstring)."""
    lines = text.splitlines(keepends=True)
    has_new = any(re.match(rf"{re.escape(new)}:(\s|$)", line) for line in lines)
    out: list[str] = []
    dropping = False
    for line in lines:
        if dropping and (line.startswith((" ", "\t", "-")) or not line.strip()):
            continue
        dropping = False
        if re.match(rf"{re.escape(old)}:(\s|$)", line):
            if has_new:
                dropping = True
                continue
            line = new + line[len(old) :]
        out.append(line)
    return "".join(out)


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(f"usage: {argv[0]} ANSWERS_FILE OLD NEW", file=sys.stderr)
        return 2
    path, old, new = argv[1:]
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    renamed = rename(text, old, new)
    if renamed == text:
        return 0
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".answers-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(renamed)
        os.chmod(temporary, os.stat(path).st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
