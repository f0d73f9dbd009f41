"""Jinja's compiled code kept by key in one process: the one patch of Jinja's compile for
everything that renders Jinja here, dbt's commands in the dbt server (aiusage.dbtwork,
which also keeps the code on disk between commands) and Great Expectations' Data Docs
pages in the GX worker (aiusage.quality.gx, which makes a new environment for every view
and compiled every template again in each).

The code Jinja generates depends only on the source, the template's name and file name,
the environment's kind and options (its filters and tests fold constants) and the
versions of Python and Jinja, so a template compiled once in a process is compiled for
every environment of the same kind there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, MutableMapping
from types import CodeType


def _environment_key(environment) -> str:
    """What Jinja's code generation depends on besides the source: the environment's class,
    its extensions, filters and tests (constant folding), its syntax and options."""
    kind = type(environment)
    return "|".join(
        [
            f"{kind.__module__}.{kind.__qualname__}",
            ",".join(sorted(environment.extensions)),
            ",".join(sorted(environment.filters)),
            ",".join(sorted(environment.tests)),
            repr(
                (
                    environment.block_start_string,
                    environment.block_end_string,
                    environment.variable_start_string,
                    environment.variable_end_string,
                    environment.comment_start_string,
                    environment.comment_end_string,
                    environment.line_statement_prefix,
                    environment.line_comment_prefix,
                    environment.trim_blocks,
                    environment.lstrip_blocks,
                    environment.newline_sequence,
                    environment.keep_trailing_newline,
                    environment.optimized,
                    environment.is_async,
                    bool(environment.autoescape),
                    environment.finalize is not None,
                )
            ),
        ]
    )


def code_key(environment, source: str, name, filename, defer_init: bool) -> str:
    text = "\0".join(
        [_environment_key(environment), str(name), str(filename), str(defer_init), source]
    )
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


def install_code_cache(
    cache: MutableMapping[str, CodeType],
    used: set[str] | None = None,
    bypass: Callable[[], bool] = lambda: False,
) -> None:
    """Patch `jinja2.Environment.compile` in this process so that a source compiled once is
    taken from `cache` (by `code_key`) ever after; the keys a compile asked for are added
    to `used` when given. A raw compile (source code, not code), a non-text source, or one
    made while `bypass()` is true compiles as Jinja does. Call it once per process: each
    call wraps the compile before it."""
    import jinja2

    compile_ = jinja2.Environment.compile

    def compile_cached(self, source, name=None, filename=None, raw=False, defer_init=False):
        if raw or not isinstance(source, str) or bypass():
            return compile_(self, source, name, filename, raw, defer_init)
        key = code_key(self, source, name, filename, defer_init)
        code = cache.get(key)
        if code is None:
            code = compile_(self, source, name, filename, raw, defer_init)
            cache[key] = code
        if used is not None:
            used.add(key)
        return code

    jinja2.Environment.compile = compile_cached
