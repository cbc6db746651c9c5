"""The fallback route for connections that cannot load the native extension.

Every `stdf_<table>(...)` call in a statement is found with sqlglot's DuckDB tokenizer, its
arguments are evaluated (literals only), and only the call's text is replaced by the name of a
registered, re-openable Arrow stream (the rest of the user's SQL is left byte for byte). The
columns each call needs are found with sqlglot's optimizer so that only those are decoded;
when that analysis fails, every column is read (never a wrong answer, only a slower one).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from . import _native
from ._errors import StdfDuckError
from ._read import TABLES, StdfTable, read
from ._sqlsrc import macro_names

_counter = itertools.count()


class RewriteError(StdfDuckError, ValueError):
    """The SQL uses stdf_* functions in a way the rewrite fallback cannot serve."""


@dataclass
class Call:
    """One stdf_* call found in the SQL."""

    table: str
    start: int  # offset of the function name
    end: int  # offset just after the closing parenthesis
    args: list[Any]
    kwargs: dict[str, Any]
    needs_alias: bool
    name: str = ""
    columns: set[str] | None = field(default=None)


def _tokenize(sql: str, offset: int = 0) -> list[Any]:
    from sqlglot.dialects.duckdb import DuckDB
    from sqlglot.tokens import TokenType  # type: ignore[attr-defined]

    out = []
    toks = DuckDB().tokenize(sql)
    for i, t in enumerate(toks):
        if t.token_type == TokenType.COMMAND and i + 1 < len(toks) and toks[i + 1].token_type == TokenType.STRING:
            # EXPLAIN / CALL ...: the rest of the statement comes as one string token
            rest = toks[i + 1].text
            at = sql.find(rest, t.end + 1)
            out.append((t, offset))
            if at >= 0:
                out.extend(_tokenize(rest, offset + at))
            break
        out.append((t, offset))
    return out


def _literal(node: Any) -> Any:
    from sqlglot import exp

    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.this
        text = node.this
        return float(text) if any(c in text for c in ".eE") else int(text)
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Neg):
        v = _literal(node.this)
        return -v
    if isinstance(node, (exp.Array, exp.Tuple)):
        return [_literal(e) for e in node.expressions]
    if isinstance(node, exp.Paren):
        return _literal(node.this)
    raise RewriteError(
        f"stdf_* arguments must be literals (a path, a list of paths, numbers, strings); "
        f"got {node.sql(dialect='duckdb')!r}: load the native extension (stdf_duck.connect()) for this query"
    )


def _parse_args(text: str) -> tuple[list[Any], dict[str, Any]]:
    import sqlglot
    from sqlglot import exp

    if "$" in text or "?" in text:
        raise RewriteError(
            "prepared-statement parameters inside stdf_* arguments are not supported by the rewrite fallback; pass literals or use the native extension"
        )
    try:
        node = sqlglot.parse_one(f"SELECT __f({text})", read="duckdb")
    except sqlglot.errors.ParseError as e:
        raise RewriteError(f"cannot parse stdf_* arguments ({text!r}): {e}") from None
    fn = node.expressions[0]
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for a in fn.expressions:
        if isinstance(a, (exp.PropertyEQ, exp.Kwarg, exp.EQ)) and isinstance(
            a.this, (exp.Column, exp.Identifier, exp.Var)
        ):
            kwargs[a.this.name.lower()] = _literal(a.expression)
        else:
            args.append(_literal(a))
    return args, kwargs


def find_calls(sql: str) -> list[Call]:
    """Every stdf_<table>( ... ) call outside strings and comments, with evaluated arguments."""
    from sqlglot.tokens import TokenType  # type: ignore[attr-defined]

    toks = _tokenize(sql)
    calls: list[Call] = []
    i = 0
    while i < len(toks):
        t, off = toks[i]
        name = t.text.lower()
        if (
            t.token_type in (TokenType.VAR, TokenType.IDENTIFIER)
            and name.startswith("stdf_")
            and i + 1 < len(toks)
            and toks[i + 1][0].token_type == TokenType.L_PAREN
        ):
            prev = toks[i - 1][0] if i > 0 else None
            if prev is not None and prev.token_type == TokenType.DOT:
                i += 1
                continue
            table = name[len("stdf_") :]
            if table not in TABLES and name in macro_names():  # an analysis macro: DuckDB's own
                i += 1
                continue
            if table not in TABLES:
                raise RewriteError(
                    f"unknown function {t.text}: the stdf_* tables are {', '.join('stdf_' + x for x in TABLES)}"
                )
            if prev is not None and prev.token_type == TokenType.LATERAL:
                raise RewriteError(
                    "LATERAL stdf_* calls are not supported by the rewrite fallback; use the native extension"
                )
            depth = 0
            j = i + 1
            while j < len(toks):
                tt = toks[j][0].token_type
                if tt == TokenType.L_PAREN:
                    depth += 1
                elif tt == TokenType.R_PAREN:
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= len(toks):
                raise RewriteError(f"unbalanced parentheses after {t.text}")
            lp, lp_off = toks[i + 1]
            rp, rp_off = toks[j]
            args, kwargs = _parse_args(sql[lp_off + lp.end + 1 : rp_off + rp.start])
            nxt = toks[j + 1][0] if j + 1 < len(toks) else None
            has_alias = nxt is not None and (nxt.token_type in (TokenType.ALIAS, TokenType.VAR, TokenType.IDENTIFIER))
            calls.append(Call(table, off + t.start, rp_off + rp.end + 1, args, kwargs, not has_alias))
            i = j + 1
            continue
        i += 1
    return calls


def _source(call: Call, columns: list[str] | None) -> StdfTable:
    if len(call.args) != 1:
        raise RewriteError(
            f"stdf_{call.table} takes one path argument (a file, a glob or a list), got {len(call.args)}"
        )
    path = call.args[0]
    if isinstance(path, list):
        paths = [str(p) for p in path]
    elif isinstance(path, str):
        paths = [path]
    else:
        raise RewriteError(f"stdf_{call.table}: the path must be a string or a list of strings, not {path!r}")
    kw = call.kwargs
    unknown = set(kw) - set(_native.table_parameters())
    if unknown:
        raise RewriteError(f"stdf_{call.table}: unknown named parameter(s) {', '.join(sorted(unknown))}")
    tests = kw.get("tests")
    if tests is not None and not isinstance(tests, list):
        tests = [tests]
    on_error = kw.get("on_error", "raise")
    filename = bool(kw.get("filename", False))
    threads = int(kw.get("threads", 0) or 0)
    return read(call.table, paths, columns=columns, tests=tests, on_error=on_error, filename=filename, threads=threads)


def _used_columns(sql: str, sources: dict[str, list[str]]) -> dict[str, set[str] | None]:
    """Columns each registered source needs; None = all (analysis not conclusive)."""
    out: dict[str, set[str] | None] = {name: set() for name in sources}
    everything: dict[str, set[str] | None] = {name: None for name in sources}
    try:
        import logging

        import sqlglot
        from sqlglot import exp
        from sqlglot.optimizer.qualify import qualify
        from sqlglot.optimizer.scope import traverse_scope

        logging.getLogger("sqlglot").setLevel(logging.ERROR)
        schema: dict[str, object] = {name: {c: "VARCHAR" for c in cols} for name, cols in sources.items()}
        trees = sqlglot.parse(sql, read="duckdb")
        seen: set[str] = set()
        for tree in trees:
            if tree is None:
                continue
            # only plain queries are narrowed; DESCRIBE, COPY, CREATE, INSERT, PIVOT... read all
            if not isinstance(tree, (exp.Select, exp.Union, exp.Intersect, exp.Except)):
                return everything
            if tree.find(exp.Pivot) or tree.find(exp.Lateral) or tree.find(exp.Unnest):
                return everything
            q = qualify(tree.copy(), schema=schema, dialect="duckdb", validate_qualify_columns=False)
            for scope in traverse_scope(q):
                alias_to_src: dict[str, str] = {}
                for alias, src in scope.sources.items():
                    if isinstance(src, exp.Table) and src.name in sources:
                        alias_to_src[alias] = src.name
                if not alias_to_src:
                    continue
                seen.update(alias_to_src.values())
                stars = [s for s in scope.expression.find_all(exp.Star) if not isinstance(s.parent, exp.Count)]
                if stars:
                    for src_name in alias_to_src.values():
                        out[src_name] = None
                    continue
                for c in scope.columns:
                    n: str | None = alias_to_src.get(c.table)
                    if n is None:
                        # an unqualified or unknown column next to our source: be safe
                        if len(alias_to_src) == 1 and not c.table:
                            n = next(iter(alias_to_src.values()))
                        else:
                            continue
                    cols = out[n]
                    if cols is not None:
                        cols.add(c.name.lower())
        for name in sources:
            if name not in seen:
                out[name] = None
        return out
    except Exception:
        return everything


def rewrite(sql: str, register: Any, project: bool = True) -> tuple[str, list[str]]:
    """Replace every stdf_* call of `sql` by a registered stream. `register(name, obj)` registers
    on the connection that will run the statement; `project` narrows each stream to the columns
    the statement uses. Returns (new SQL, registered names)."""
    calls = find_calls(sql)
    if not calls:
        return sql, []
    for c in calls:
        c.name = f"__stdf_{next(_counter)}"
    pieces = []
    last = 0
    for c in calls:
        pieces.append(sql[last : c.start])
        pieces.append(c.name + (f" AS stdf_{c.table}" if c.needs_alias else ""))
        last = c.end
    pieces.append(sql[last:])
    new_sql = "".join(pieces)
    full = {c.name: _source(c, None).columns for c in calls}
    used = _used_columns(new_sql, full) if project else {n: None for n in full}
    names = []
    for c in calls:
        cols = used.get(c.name)
        if cols is not None:
            keep = [x for x in full[c.name] if x in cols]
            if not keep:
                keep = [full[c.name][0]]  # count(*) still needs rows
            src = _source(c, keep)
        else:
            src = _source(c, None)
        register(c.name, src)
        names.append(c.name)
    return new_sql, names
