"""The bytes of a file a user names, bounded: a regular file of at most `max_bytes`, or an error.

The file is opened without blocking (a FIFO would wait for a writer forever) and checked on the open
descriptor, so a symlink to /dev/zero or a device is never read.
"""

from __future__ import annotations

import os
import stat

FILE_TYPES = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
}


class NotRegularError(OSError):
    """Not a regular file (a FIFO, a device, a socket, a directory, or a symlink to one)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class TooLargeError(OSError):
    """More bytes than the limit allows."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size:,} bytes, more than the {limit:,} allowed")
        self.size = size
        self.limit = limit


def file_type(mode: int) -> str:
    """`a FIFO`, `a character device`, ... for a stat mode."""
    return FILE_TYPES.get(stat.S_IFMT(mode), "not a regular file")


def read_bytes(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The whole content of a regular file of at most `max_bytes`.

    Raises NotRegularError, TooLargeError, or the OSError of open/read (no such file, permission).
    """
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            what = file_type(info.st_mode)
            if os.path.islink(path):
                what = f"a symlink to {os.readlink(path)}, {what}"
            raise NotRegularError(what)
        if info.st_size > max_bytes:
            raise TooLargeError(info.st_size, max_bytes)
        # One read for the whole file; a file that grows while read is still cut at the limit.
        chunks = [os.read(descriptor, info.st_size + 1)]
        total = len(chunks[0])
        while chunks[-1] and total <= max_bytes:
            chunks.append(os.read(descriptor, max_bytes + 1))
            total += len(chunks[-1])
    finally:
        os.close(descriptor)
    if total > max_bytes:
        raise TooLargeError(total, max_bytes)
    return b"".join(chunks)


def problem(error: OSError) -> str:
    """An OSError from read_bytes as the end of a one-line message."""
    if isinstance(error, NotRegularError):
        return f"is {error.what}, not a file"
    if isinstance(error, TooLargeError):
        return f"has {error.size:,} bytes, more than the {error.limit:,} allowed"
    return f"cannot be read: {error.strerror or error}"


# A kustomization, an answers file, AGENTS.md: a real one is a few KB.
MAX_TEXT_BYTES = 4 * 1024 * 1024


def read_text(path: str | os.PathLike[str], what: str, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The UTF-8 text of a regular file of at most `max_bytes`; a UsageError (exit 2, one line naming
    `what` and the file) for a FIFO, a device, a larger file or bytes that are not UTF-8."""
    from generator.errors import UsageError

    try:
        raw = read_bytes(path, max_bytes)
    except OSError as error:
        raise UsageError(f"{what} {os.fspath(path)} {problem(error)}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UsageError(f"{what} {os.fspath(path)} is not UTF-8 text (byte {error.start})") from None
