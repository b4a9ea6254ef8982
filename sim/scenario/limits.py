"""Limits on what a scenario or study file may be: a regular file of at most
:data:`MAX_FILE_BYTES`, nested at most :data:`MAX_DEPTH` tables and arrays deep.

A FIFO would block the reader and a device (``/dev/zero``) would be read until memory runs
out, so a file is checked with ``os.stat`` before it is opened; a TOML value nested hundreds
of levels deep would exhaust the parser's recursion, so parsing stops with a sentence
instead. A scenario needs a depth of about six; a network of 100,000 facilities written out
in full takes about 60 MB.
"""

from __future__ import annotations

import os
import stat
import tomllib
from typing import Any

import rtoml

MAX_FILE_BYTES = 64 * 2**20
MAX_DEPTH = 32


def file_kind_problem(path: str | os.PathLike[str]) -> str | None:
    """Why `path` cannot be read as a TOML file without opening it, or None when it is a
    regular file of at most MAX_FILE_BYTES. Raises OSError (not found, a loop of links...)
    and ValueError (a NUL character) as ``os.stat`` does."""
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        return "is a folder, not a TOML file"
    if not stat.S_ISREG(st.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(
            st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file"
        return f"is {kind}, not a regular file (give the path of a TOML file)"
    if st.st_size > MAX_FILE_BYTES:
        return f"is {st.st_size:,} bytes, over the limit of {MAX_FILE_BYTES:,} bytes ({MAX_FILE_BYTES // 2**20} MiB)"
    return None


def too_big(data: bytes) -> str | None:
    """The size problem of a file's content (a file may grow between stat and read)."""
    if len(data) > MAX_FILE_BYTES:
        return f"is over the limit of {MAX_FILE_BYTES:,} bytes ({MAX_FILE_BYTES // 2**20} MiB)"
    return None


def toml_loads(text: str) -> dict[str, Any]:
    """Parse TOML with a nesting limit: ValueError with a sentence for a document nested more
    than MAX_DEPTH levels deep, TOMLDecodeError for bad syntax (as tomllib raises).

    rtoml (Rust) parses first: the standard library's pure-Python parser takes about 5 s for
    a 12 MB file of 50,000 facilities, rtoml 0.8 s, and both give the same data. rtoml stops at
    about 80 levels of nesting with an error instead of exhausting a stack. Whatever rtoml
    refuses is parsed again by tomllib, so a syntax error reads as it always has."""
    try:
        data = rtoml.loads(text)
    except rtoml.TomlParsingError:
        try:
            data = tomllib.loads(text)
        except RecursionError:
            raise ValueError(f"nested too deep for the parser; at most {MAX_DEPTH} levels are allowed") from None
    depth = nesting_depth(data)
    if depth > MAX_DEPTH:
        raise ValueError(f"nested {depth} levels deep; at most {MAX_DEPTH} levels are allowed")
    return data


def nesting_depth(value: Any) -> int:
    """How many tables and arrays deep `value` is (0 for a scalar), counted level by level
    without recursion."""
    depth, level = 0, [value]
    while True:
        containers = [node for node in level if isinstance(node, dict | list)]
        if not containers:
            return depth
        below: list[Any] = []
        for node in containers:
            below.extend(node.values() if isinstance(node, dict) else node)
        depth, level = depth + 1, below
