"""The cache's SQL (SQLite's dialect, the contract's language) as PostgreSQL runs it.

One catalogue, not two: the checks, the read model and the stores are written once, in SQLite's dialect.
:func:`translate` rewrites what the two dialects spell differently, token by token (string literals and quoted
names are never touched): parameters (``?``, ``?N``, ``:name``) in psycopg's style, ``INSERT OR IGNORE``,
``IS [NOT] x`` between values, case-insensitive ``LIKE``, ``CAST(x AS INTEGER)`` (SQLite truncates, PostgreSQL
rounds), the multi-argument ``max``/``min`` and renamed functions. SQLite's own functions the SQL calls
(``json_extract``, ``json_each``, ``julianday``, ``strftime`` …) exist on PostgreSQL as :data:`COMPAT_SQL`,
created with the schema, with SQLite's results (JSON ``true`` reads 1, an unparseable time reads NULL).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(
    r"""
    (?P<str>'(?:[^']|'')*')
  | (?P<ident>"(?:[^"]|"")*")
  | (?P<comment>--[^\n]*)
  | (?P<param>\?\d*|:[A-Za-z_]\w*)
  | (?P<num>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
  | (?P<word>[A-Za-z_]\w*)
  | (?P<space>\s+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

# What may come right before an operand, so that a ``+`` there is unary.
_BEFORE_OPERAND = frozenset(
    {
        "(",
        ",",
        "=",
        "<",
        ">",
        "AND",
        "OR",
        "NOT",
        "WHERE",
        "ON",
        "SELECT",
        "WHEN",
        "THEN",
        "ELSE",
        "BY",
    }
)

# Functions PostgreSQL has under another name (same arguments, same meaning).
_RENAMED = {
    "ifnull": "coalesce",
    "json_object": "json_build_object",
    "json_array": "json_build_array",
    "json_group_array": "json_agg",
    "instr": "strpos",
    "date": "vmwb_date",  # date('…') alone would be read as a cast to PostgreSQL's date type
}


@dataclass(frozen=True, slots=True)
class Translated:
    """A statement in PostgreSQL's dialect and how to bind its parameters."""

    sql: str
    style: str  # "none" | "qmark" (?: a sequence) | "numbered" (?N) | "named" (:name)
    insert_table: str | None  # the table of a plain INSERT (whose new row's id is lastrowid)


def _tokens(sql: str) -> list[tuple[str, str]]:
    return [(m.lastgroup or "other", m.group()) for m in _TOKEN.finditer(sql)]


def _next_word(tokens: list[tuple[str, str]], i: int) -> tuple[int, str]:
    """The index and upper-cased text of the first non-space token after ``i`` (-1, '' at the end)."""
    j = i + 1
    while j < len(tokens) and tokens[j][0] in ("space", "comment"):
        j += 1
    return (j, tokens[j][1].upper()) if j < len(tokens) else (-1, "")


def _matching(tokens: list[tuple[str, str]], open_at: int) -> int:
    """The index of the ``)`` closing the ``(`` at ``open_at``."""
    depth = 0
    for j in range(open_at, len(tokens)):
        text = tokens[j][1]
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
            if depth == 0:
                return j
    raise ValueError("unbalanced parentheses")


def _top_level(tokens: list[tuple[str, str]], open_at: int, close_at: int) -> Iterator[int]:
    """The indices between ``open_at`` and ``close_at`` that are not inside a nested parenthesis."""
    depth = 0
    for j in range(open_at + 1, close_at):
        text = tokens[j][1]
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
        elif depth == 0:
            yield j


def _rewrite_casts(tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``CAST(x AS INTEGER)`` and ``AS REAL`` → SQLite's conversions (a truncated number, 0 for text that
    is no number), as ``vmwb_int`` / ``vmwb_real``."""
    out = list(tokens)
    i = 0
    while i < len(out):
        kind, text = out[i]
        if kind == "word" and text.upper() == "CAST":
            j, word = _next_word(out, i)
            if word == "(":
                close = _matching(out, j)
                as_at = max(
                    (k for k in _top_level(out, j, close) if out[k][1].upper() == "AS"), default=-1
                )
                target = "".join(t for _, t in out[as_at + 1 : close]).strip().upper()
                inner = out[j + 1 : as_at]
                if as_at > 0 and target in ("INTEGER", "INT"):
                    repl = [("word", "vmwb_int"), ("other", "("), *inner, ("other", ")")]
                elif as_at > 0 and target == "REAL":
                    repl = [("word", "vmwb_real"), ("other", "("), *inner, ("other", ")")]
                else:
                    i += 1
                    continue
                out[i : close + 1] = repl
                continue
        i += 1
    return out


def _args(tokens: list[tuple[str, str]], open_at: int, close_at: int) -> list[tuple[int, int]]:
    """The (start, end) token spans of the top-level arguments between ``open_at`` and ``close_at``."""
    spans, start = [], open_at + 1
    for j in _top_level(tokens, open_at, close_at):
        if tokens[j][1] == ",":
            spans.append((start, j))
            start = j + 1
    spans.append((start, close_at))
    return spans


def _rewrite_coalesce(tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """SQLite's COALESCE mixes types; PostgreSQL's takes the type of its arguments. A number literal among
    them is quoted (it takes the others' type); beside a text literal the others are read as text."""
    out = list(tokens)
    i = 0
    while i < len(out):
        kind, text = out[i]
        j, word = _next_word(out, i) if kind == "word" else (-1, "")
        if word != "(" or text.lower() not in ("coalesce", "ifnull"):
            i += 1
            continue
        spans = _args(out, j, _matching(out, j))
        bare = [[t for t in out[a:b] if t[0] not in ("space", "comment")] for a, b in spans]
        has_text = any(len(b) == 1 and b[0][0] == "str" for b in bare)
        for (a, b), only in zip(reversed(spans), reversed(bare), strict=True):
            if len(only) == 1 and only[0][0] == "num":
                out[a:b] = [("str", f"'{only[0][1]}'")]
            elif has_text and not (len(only) == 1 and only[0][0] == "str"):
                out[a:b] = [("other", "("), *out[a:b], ("other", ")::text")]
        i += 1
    return out


@functools.cache
def _primary_keys() -> dict[str, tuple[str, ...]]:
    """Each table's primary key, from SQLite's schema (what ``INSERT OR REPLACE`` conflicts on)."""
    import sqlite3

    from workbench.cache import schema

    db = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for migration in schema.MIGRATIONS:
            migration(db)
        keys: dict[str, tuple[str, ...]] = {}
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            cols = db.execute(f"PRAGMA table_info({table})").fetchall()
            keys[table] = tuple(c[1] for c in sorted(cols, key=lambda c: c[5]) if c[5])
        return keys
    finally:
        db.close()


def _replace_clause(tokens: list[tuple[str, str]], replace_at: int) -> str:
    """``INSERT OR REPLACE INTO t (cols) …`` → the ``ON CONFLICT (pk) DO UPDATE`` that has its effect."""
    k, _into = _next_word(tokens, replace_at)
    t, _table = _next_word(tokens, k)
    table = tokens[t][1].lower()
    p, paren = _next_word(tokens, t)
    pk = _primary_keys().get(table, ())
    if paren != "(" or not pk:
        raise ValueError(f"INSERT OR REPLACE INTO {table}: needs a column list and a primary key")
    cols = [tok[1] for tok in tokens[p + 1 : _matching(tokens, p)] if tok[0] == "word"]
    sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in pk)
    action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
    return f" ON CONFLICT ({', '.join(pk)}) {action}"


def _rewrite_json_values(tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The values of ``json_object`` / ``json_array`` read as SQLite writes them: a comparison (a boolean
    here) as 0 or 1, through ``vmwb_sqlv``. Literals and parameters are left alone (their type is the
    argument's)."""
    out = list(tokens)
    i = 0
    while i < len(out):
        kind, text = out[i]
        j, word = _next_word(out, i) if kind == "word" else (-1, "")
        name = text.lower()
        if word == "(" and name == "json_group_array":
            # SQLite's JSON values are text: json_each and the comparisons read them as such
            close = _matching(out, j)
            out[close + 1 : close + 1] = [("other", "::text")]
            i += 1
            continue
        if word != "(" or name not in ("json_object", "json_array"):
            i += 1
            continue
        spans = _args(out, j, _matching(out, j))
        for n, (a, b) in reversed(list(enumerate(spans))):
            if name == "json_object" and n % 2 == 0:
                continue  # a key
            only = [t for t in out[a:b] if t[0] not in ("space", "comment")]
            if not only or (
                len(only) == 1
                and (only[0][0] in ("str", "num", "param") or only[0][1].upper() == "NULL")
            ):
                continue
            if only[0][1].lower() == "json_extract" and len(only) > 1 and only[1][1] == "(":
                start = out.index(only[0], a)
                if _matching(out, out.index(only[1], start)) == b - 1 or all(
                    t[0] in ("space", "comment")
                    for t in out[_matching(out, out.index(only[1], start)) + 1 : b]
                ):
                    # SQLite's json_extract hands an object or array on as JSON, not as its text
                    out[start] = ("word", "vmwb_json_node")
                    continue
            out[a:b] = [("word", "vmwb_sqlv"), ("other", "("), *out[a:b], ("other", ")")]
        i += 1
    return out


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> Translated:
    """``sql`` (SQLite's dialect) in PostgreSQL's; cached, as the same statements run over and over."""
    tokens = _rewrite_json_values(_rewrite_coalesce(_rewrite_casts(_tokens(sql))))
    subqueries = 0
    previous = ""
    out: list[str] = []
    style = "none"
    insert_table: str | None = None
    or_ignore = False
    or_replace = ""
    first_word = ""
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        upper = text.upper()
        if kind == "param":
            style = "named" if text.startswith(":") else ("numbered" if len(text) > 1 else "qmark")
            out.append(
                "%s"
                if text == "?"
                else f"%(p{text[1:]})s"
                if text.startswith("?")
                else f"%({text[1:]})s"
            )
        elif kind == "other" and text == "%":
            out.append("%%")
        elif kind == "other" and text == "+" and previous in _BEFORE_OPERAND:
            pass  # SQLite's unary plus (it keeps an index out of a plan) means nothing here
        elif kind == "other" and text == "(" and previous in ("FROM", "JOIN"):
            close = _matching(tokens, i)
            _k, after = _next_word(tokens, close)
            if after in (
                "",
                ")",
                "WHERE",
                "GROUP",
                "ORDER",
                "LIMIT",
                "JOIN",
                "LEFT",
                "INNER",
                "CROSS",
                ",",
                ";",
                "UNION",
                "ON",
            ):
                subqueries += 1
                tokens = [
                    *tokens[: close + 1],
                    ("other", f" AS vmwb_q{subqueries}"),
                    *tokens[close + 1 :],
                ]
            out.append(text)
        elif kind == "str":
            out.append(text.replace("%", "%%"))
        elif kind == "comment":
            out.append(" ")
        elif kind == "word":
            if not first_word:
                first_word = upper
            j, following = _next_word(tokens, i)
            if upper == "INSERT" and following == "OR":
                k, action = _next_word(tokens, j)
                if action in ("IGNORE", "REPLACE"):
                    if action == "IGNORE":
                        or_ignore = True
                    else:
                        or_replace = _replace_clause(tokens, k)
                    out.append("INSERT")
                    i = k + 1
                    continue
            if upper == "INTO" and first_word == "INSERT" and insert_table is None and j > 0:
                insert_table = tokens[j][1]
            if upper == "IS" and following not in ("NULL", "NOT", "TRUE", "FALSE", "DISTINCT"):
                out.append("IS NOT DISTINCT FROM")
            elif upper == "IS" and following == "NOT":
                k, after = _next_word(tokens, j)
                if after in ("NULL", "TRUE", "FALSE", "DISTINCT"):
                    out.append(text)
                else:
                    out.append("IS DISTINCT FROM")
                    i = j + 1
                    continue
            elif upper == "GLOB":
                out.append("~#")  # vmwb_glob: SQLite's case-sensitive wildcard match
            elif upper == "LIKE":
                out.append("ILIKE")  # SQLite's LIKE ignores ASCII case
            elif following == "(" and text.lower() in _RENAMED:
                out.append(_RENAMED[text.lower()])
            elif following == "(" and text.lower() in ("max", "min"):
                close = _matching(tokens, j)
                many = len(_args(tokens, j, close)) > 1
                out.append(("greatest" if text.lower() == "max" else "least") if many else text)
            else:
                out.append(text)
        else:
            out.append(text)
        if kind not in ("space", "comment"):
            previous = text.upper()
        i += 1
    pg = "".join(out).strip().rstrip(";")
    if or_ignore:
        pg += " ON CONFLICT DO NOTHING"
    pg += or_replace
    return Translated(pg, style, insert_table if first_word == "INSERT" else None)


def bind(style: str, parameters: Any) -> Any:
    """SQLite's parameters in the shape psycopg takes for the translated statement (booleans as 0 and 1, as
    SQLite stores them)."""
    if style == "named":
        assert isinstance(parameters, Mapping)
        return {k: _value(v) for k, v in parameters.items()}
    if style == "numbered":
        if isinstance(parameters, Mapping):
            return {f"p{k}": _value(v) for k, v in parameters.items()}
        return {f"p{n}": _value(v) for n, v in enumerate(parameters, 1)}
    if isinstance(parameters, Mapping):
        return {k: _value(v) for k, v in parameters.items()}
    return [_value(v) for v in parameters] if isinstance(parameters, Sequence) else parameters


def _value(v: Any) -> Any:
    return int(v) if isinstance(v, bool) else v


# SQLite's functions, operators and aggregates as PostgreSQL functions with SQLite's results. Times are UTC
# (every connection sets TimeZone=UTC), as SQLite's are.
COMPAT_SQL = r"""
CREATE FUNCTION vmwb_json_path(p text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT COALESCE(array_agg(COALESCE(m[1], m[2], m[3]) ORDER BY n), '{}')
  FROM regexp_matches(substr(p, 2), '\.(?:"([^"]*)"|([^.\[]+))|\[(\d+)\]', 'g') WITH ORDINALITY AS r(m, n)
$$;
CREATE FUNCTION vmwb_json_sql(v json) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE json_typeof(v) WHEN 'null' THEN NULL
    WHEN 'boolean' THEN CASE WHEN v::text = 'true' THEN '1' ELSE '0' END
    WHEN 'string' THEN v #>> '{}' ELSE v::text END
$$;
CREATE FUNCTION json_extract(j text, p text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT vmwb_json_sql(j::json #> vmwb_json_path(p))
$$;
CREATE FUNCTION json_set(j text, p text, v json) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_set(j::jsonb, vmwb_json_path(p), v::jsonb, true)::text
$$;
CREATE FUNCTION json_type(j text, p text DEFAULT '$') RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE json_typeof(v) WHEN 'boolean' THEN v::text WHEN 'string' THEN 'text'
    WHEN 'number' THEN CASE WHEN v::text ~ '^-?\d+$' THEN 'integer' ELSE 'real' END
    ELSE json_typeof(v) END
  FROM (SELECT j::json #> vmwb_json_path(p) AS v) AS x
$$;
CREATE FUNCTION json_array_length(j text, p text DEFAULT '$') RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN json_typeof(j::json #> vmwb_json_path(p)) = 'array'
    THEN json_array_length(j::json #> vmwb_json_path(p)) ELSE 0 END
$$;
CREATE FUNCTION json_valid(j text) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM j::json;
  RETURN CASE WHEN j IS NULL THEN NULL ELSE 1 END;
EXCEPTION WHEN others THEN RETURN 0;
END $$;
CREATE FUNCTION json_each(j text, p text DEFAULT '$')
RETURNS TABLE (key text, value text, type text, atom text, fullkey text) LANGUAGE sql IMMUTABLE AS $$
  SELECT e.k, vmwb_json_sql(e.v), json_type(e.v::text),
         CASE WHEN json_typeof(e.v) IN ('object', 'array') THEN NULL ELSE vmwb_json_sql(e.v) END, e.k
  FROM (SELECT j::json #> vmwb_json_path(p) AS doc) AS d,
  LATERAL (
    SELECT o.key AS k, o.value AS v, 0::bigint AS n FROM json_each(
      CASE WHEN json_typeof(d.doc) = 'object' THEN d.doc ELSE '{}'::json END) AS o
    UNION ALL
    SELECT (a.n - 1)::text, a.v, a.n FROM json_array_elements(
      CASE WHEN json_typeof(d.doc) = 'array' THEN d.doc ELSE '[]'::json END) WITH ORDINALITY AS a(v, n)
  ) AS e
$$;
CREATE FUNCTION vmwb_time(t text) RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF t IS NULL THEN RETURN NULL; END IF;
  IF lower(t) = 'now' THEN RETURN date_trunc('milliseconds', clock_timestamp()); END IF;
  IF t ~ '^-?\d+(\.\d+)?$' THEN  -- a Julian day number
    RETURN to_timestamp((t::double precision - 2440587.5) * 86400);
  END IF;
  RETURN t::timestamptz;
EXCEPTION WHEN others THEN RETURN NULL;
END $$;
CREATE FUNCTION vmwb_modify(ts timestamptz, mods text[]) RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE m text; parts text[];
BEGIN
  FOREACH m IN ARRAY COALESCE(mods, '{}') LOOP
    IF ts IS NULL OR m IS NULL THEN RETURN NULL; END IF;
    parts := regexp_match(lower(trim(m)),
      '^([+-]?\d+(?:\.\d+)?) *(second|minute|hour|day|month|year)s?$');
    IF parts IS NOT NULL THEN
      ts := ts + (parts[1] || ' ' || parts[2])::interval;
    ELSIF lower(trim(m)) = 'start of day' THEN ts := date_trunc('day', ts);
    ELSIF lower(trim(m)) = 'start of month' THEN ts := date_trunc('month', ts);
    ELSIF lower(trim(m)) = 'start of year' THEN ts := date_trunc('year', ts);
    ELSIF lower(trim(m)) NOT IN ('utc', 'localtime') THEN RETURN NULL;
    END IF;
  END LOOP;
  RETURN ts;
END $$;
CREATE FUNCTION julianday(t text, VARIADIC mods text[] DEFAULT '{}') RETURNS double precision
LANGUAGE sql STABLE AS $$
  SELECT extract(epoch FROM vmwb_modify(vmwb_time(t), mods))::double precision / 86400.0 + 2440587.5
$$;
CREATE FUNCTION unixepoch(t text, VARIADIC mods text[] DEFAULT '{}') RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT floor(extract(epoch FROM vmwb_modify(vmwb_time(t), mods)))::bigint
$$;
CREATE FUNCTION strftime(fmt text, t text, VARIADIC mods text[] DEFAULT '{}') RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE ts timestamptz := vmwb_modify(vmwb_time(t), mods); out text := ''; i int := 1; c text;
BEGIN
  IF ts IS NULL OR fmt IS NULL THEN RETURN NULL; END IF;
  WHILE i <= length(fmt) LOOP
    c := substr(fmt, i, 1);
    IF c = '%' AND i < length(fmt) THEN
      i := i + 1;
      c := substr(fmt, i, 1);
      out := out || CASE c
        WHEN 'Y' THEN to_char(ts, 'YYYY') WHEN 'm' THEN to_char(ts, 'MM') WHEN 'd' THEN to_char(ts, 'DD')
        WHEN 'H' THEN to_char(ts, 'HH24') WHEN 'M' THEN to_char(ts, 'MI') WHEN 'S' THEN to_char(ts, 'SS')
        WHEN 'f' THEN to_char(ts, 'SS.MS') WHEN 'j' THEN to_char(ts, 'DDD')
        WHEN 's' THEN floor(extract(epoch FROM ts))::bigint::text
        WHEN 'w' THEN extract(dow FROM ts)::int::text WHEN '%' THEN '%' ELSE '%' || c END;
    ELSE
      out := out || c;
    END IF;
    i := i + 1;
  END LOOP;
  RETURN out;
END $$;
CREATE FUNCTION datetime(t text, VARIADIC mods text[] DEFAULT '{}') RETURNS text LANGUAGE sql STABLE AS $$
  SELECT strftime('%Y-%m-%d %H:%M:%S', t, VARIADIC mods)
$$;
CREATE FUNCTION vmwb_concat(acc text, v text, sep text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN v IS NULL THEN acc WHEN acc IS NULL THEN v ELSE acc || sep || v END
$$;
CREATE FUNCTION vmwb_concat1(acc text, v text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT vmwb_concat(acc, v, ',')
$$;
CREATE AGGREGATE group_concat(text, text) (SFUNC = vmwb_concat, STYPE = text);
CREATE AGGREGATE group_concat(text) (SFUNC = vmwb_concat1, STYPE = text);
CREATE FUNCTION vmwb_concatj(acc text, v json, sep text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT vmwb_concat(acc, v::text, sep)
$$;
CREATE FUNCTION vmwb_concatj1(acc text, v json) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT vmwb_concat(acc, v::text, ',')
$$;
CREATE AGGREGATE group_concat(json, text) (SFUNC = vmwb_concatj, STYPE = text);
CREATE AGGREGATE group_concat(json) (SFUNC = vmwb_concatj1, STYPE = text);
-- CAST(x AS INTEGER) and AS REAL: SQLite truncates a number and reads the leading number of a text (0 if none).
CREATE FUNCTION vmwb_int(v double precision) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$ SELECT trunc(v)::bigint $$;
CREATE FUNCTION vmwb_int(v text) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN v IS NULL THEN NULL
    ELSE COALESCE(trunc((substring(v FROM '^\s*([-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)'))::numeric)::bigint, 0) END
$$;
CREATE FUNCTION vmwb_real(v double precision) RETURNS double precision LANGUAGE sql IMMUTABLE AS $$ SELECT v $$;
CREATE FUNCTION vmwb_real(v text) RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN v IS NULL THEN NULL
    ELSE COALESCE((substring(v FROM '^\s*([-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)'))::double precision, 0) END
$$;
CREATE FUNCTION json_quote(v text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT to_json(v)::text $$;
CREATE FUNCTION vmwb_date(t text, VARIADIC mods text[] DEFAULT '{}') RETURNS text LANGUAGE sql STABLE AS $$
  SELECT strftime('%Y-%m-%d', t, VARIADIC mods)
$$;
-- printf with one number: the formats the catalogue uses (%d, %0Nd, %.Nf).
CREATE FUNCTION printf(fmt text, v double precision) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE m text[] := regexp_match(fmt, '%(0?)(\d*)(?:\.(\d+))?([df])');
DECLARE body text;
BEGIN
  IF v IS NULL THEN RETURN replace(fmt, m[0], ''); END IF;
  IF m IS NULL THEN RETURN fmt; END IF;
  body := CASE m[4] WHEN 'd' THEN trunc(v)::bigint::text
    ELSE round(v::numeric, COALESCE(NULLIF(m[3], '')::int, 6))::text END;
  IF m[2] <> '' THEN body := lpad(body, m[2]::int, CASE m[1] WHEN '0' THEN '0' ELSE ' ' END); END IF;
  RETURN regexp_replace(fmt, '%0?\d*(?:\.\d+)?[df]', body);
END $$;
-- SQLite's GLOB (case-sensitive *, ?, [...] with ^ for "not"), as the operator ~#.
CREATE FUNCTION vmwb_glob(v text, pattern text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE re text := '^'; i int := 1; c text; in_set boolean := false;
BEGIN
  WHILE i <= length(pattern) LOOP
    c := substr(pattern, i, 1);
    IF in_set THEN
      re := re || CASE WHEN c = '\' THEN '\\' ELSE c END;
      IF c = ']' THEN in_set := false; END IF;
    ELSIF c = '*' THEN re := re || '.*';
    ELSIF c = '?' THEN re := re || '.';
    ELSIF c = '[' THEN re := re || '['; in_set := true;
    ELSE re := re || regexp_replace(c, '([.+*?^$(){}|\\\[\]])', '\\\1');
    END IF;
    i := i + 1;
  END LOOP;
  RETURN v ~ (re || '$');
END $$;
CREATE OPERATOR ~# (LEFTARG = text, RIGHTARG = text, FUNCTION = vmwb_glob);
-- SQLite's comparisons are numbers (0, 1): summed, compared, mixed with integers in a CASE.
CREATE FUNCTION vmwb_b2i(b boolean) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$ SELECT b::int::bigint $$;
CREATE FUNCTION vmwb_i2b(n bigint) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT n <> 0 $$;
CREATE CAST (boolean AS bigint) WITH FUNCTION vmwb_b2i(boolean) AS IMPLICIT;
CREATE CAST (bigint AS boolean) WITH FUNCTION vmwb_i2b(bigint) AS IMPLICIT;
CREATE FUNCTION vmwb_json_node(j text, p text) RETURNS json LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE json_typeof(v) WHEN 'boolean' THEN to_json(CASE WHEN v::text = 'true' THEN 1 ELSE 0 END)
    WHEN 'null' THEN NULL ELSE v END
  FROM (SELECT j::json #> vmwb_json_path(p) AS v) AS x
$$;
CREATE FUNCTION vmwb_sqlv(v anyelement) RETURNS json LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF v IS NULL THEN RETURN NULL; END IF;
  IF pg_typeof(v) = 'boolean'::regtype THEN RETURN to_json(CASE WHEN v::text = 'true' THEN 1 ELSE 0 END); END IF;
  RETURN to_json(v);
END $$;
-- SQLite compares a number with text (a JSON value, a text column) without complaint: a numeric text by
-- value, any other text after every number. PostgreSQL has no such operators; these are they.
CREATE FUNCTION vmwb_cmp(a text, b numeric) RETURNS int LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN a IS NULL OR b IS NULL THEN NULL
    WHEN a ~ '^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$' THEN sign(a::numeric - b)::int
    ELSE 1 END
$$;
CREATE FUNCTION vmwb_t_eq(a text, b numeric) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT vmwb_cmp(a, b) = 0 $$;
CREATE FUNCTION vmwb_t_ne(a text, b numeric) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT vmwb_cmp(a, b) <> 0 $$;
CREATE FUNCTION vmwb_t_lt(a text, b numeric) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT vmwb_cmp(a, b) < 0 $$;
CREATE FUNCTION vmwb_t_le(a text, b numeric) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT vmwb_cmp(a, b) <= 0 $$;
CREATE FUNCTION vmwb_t_gt(a text, b numeric) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT vmwb_cmp(a, b) > 0 $$;
CREATE FUNCTION vmwb_t_ge(a text, b numeric) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT vmwb_cmp(a, b) >= 0 $$;
CREATE FUNCTION vmwb_n_eq(a numeric, b text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT vmwb_cmp(b, a) = 0 $$;
CREATE FUNCTION vmwb_n_ne(a numeric, b text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT vmwb_cmp(b, a) <> 0 $$;
CREATE FUNCTION vmwb_n_lt(a numeric, b text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT vmwb_cmp(b, a) > 0 $$;
CREATE FUNCTION vmwb_n_le(a numeric, b text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT vmwb_cmp(b, a) >= 0 $$;
CREATE FUNCTION vmwb_n_gt(a numeric, b text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT vmwb_cmp(b, a) < 0 $$;
CREATE FUNCTION vmwb_n_ge(a numeric, b text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT vmwb_cmp(b, a) <= 0 $$;
CREATE OPERATOR = (LEFTARG = text, RIGHTARG = numeric, FUNCTION = vmwb_t_eq);
CREATE OPERATOR <> (LEFTARG = text, RIGHTARG = numeric, FUNCTION = vmwb_t_ne);
CREATE OPERATOR < (LEFTARG = text, RIGHTARG = numeric, FUNCTION = vmwb_t_lt);
CREATE OPERATOR <= (LEFTARG = text, RIGHTARG = numeric, FUNCTION = vmwb_t_le);
CREATE OPERATOR > (LEFTARG = text, RIGHTARG = numeric, FUNCTION = vmwb_t_gt);
CREATE OPERATOR >= (LEFTARG = text, RIGHTARG = numeric, FUNCTION = vmwb_t_ge);
CREATE OPERATOR = (LEFTARG = numeric, RIGHTARG = text, FUNCTION = vmwb_n_eq);
CREATE OPERATOR <> (LEFTARG = numeric, RIGHTARG = text, FUNCTION = vmwb_n_ne);
CREATE OPERATOR < (LEFTARG = numeric, RIGHTARG = text, FUNCTION = vmwb_n_lt);
CREATE OPERATOR <= (LEFTARG = numeric, RIGHTARG = text, FUNCTION = vmwb_n_le);
CREATE OPERATOR > (LEFTARG = numeric, RIGHTARG = text, FUNCTION = vmwb_n_gt);
CREATE OPERATOR >= (LEFTARG = numeric, RIGHTARG = text, FUNCTION = vmwb_n_ge);
"""
