#!/usr/bin/env python3
"""invkit platform simulator: a local stand-in for Shopify and WooCommerce.

Speaks the subset of each platform's API that the invkit drivers use, with the
real request and response shapes, auth checks, pagination, batch limits, the
Shopify cost bucket and fault injection.  Python 3 standard library only.

    tests/sim/sim.py [--port 0] [--seed N] [--state FILE.json | --sample N]
                     [--scale X] [-v]

Prints "port NNNN" as its first line on stdout, binds 127.0.0.1 only, and
serves until SIGTERM/SIGINT (or POST /_sim/shutdown).  See README.md next to
this file for URLs, the state file shape, the control endpoints and the fault
knobs.

Facts mirrored from the platforms carry a "Source:" comment naming the official
page (or the platform's own source code) they come from.  Anything marked
UNVERIFIED is a best guess that a primary source did not confirm; drivers must
behave safely either way.
"""

import argparse
import base64
import bisect
import copy
import gc
import hashlib
import hmac
import http.server
import json
import math
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import urllib.parse
from collections import OrderedDict
from datetime import datetime, timezone

VERSION = "1.0"

# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------


def now_iso():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def jdump(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse_iso(s):
    """Parse an RFC 3339 / ISO 8601 date or date-time; None when unparsable."""
    if not isinstance(s, str) or not s:
        return None
    t = s.strip()
    if t.endswith("Z") or t.endswith("z"):
        t = t[:-1] + "+00:00"
    try:
        d = datetime.fromisoformat(t)
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d


def php_intval(v):
    """PHP intval(), which WooCommerce's wc_stock_amount() applies to stock input.

    Source: WooCommerce wc_stock_amount() -> apply_filters('woocommerce_stock_amount', $amount)
    with 'intval' as the default filter (woocommerce/includes/wc-core-functions.php).
    """
    if isinstance(v, bool):
        return 1 if v else 0
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return 0
        return int(v)
    if isinstance(v, str):
        m = re.match(r"\s*([+-]?\d+)", v)
        return int(m.group(1)) if m else 0
    if isinstance(v, (list, dict)):
        return 1 if v else 0
    return 0


def wc_string_to_bool(v):
    # Source: WooCommerce wc_string_to_bool(): true for true, 1, '1', 'yes', 'true'.
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v == 1
    if isinstance(v, str):
        return v.strip().lower() in ("yes", "true", "1")
    return False


def rest_is_integer(v):
    # Source: WordPress rest_is_integer(): is_numeric($v) && round(floatval($v)) === floatval($v)
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return True
    if isinstance(v, float):
        return v.is_integer()
    if isinstance(v, str):
        try:
            f = float(v.strip())
        except ValueError:
            return False
        if not re.fullmatch(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*", v):
            return False
        return f.is_integer()
    return False


def rest_is_boolean(v):
    # Source: WordPress rest_is_boolean(): true/false, 'true'/'false', '1'/'0', 1/0, ''.
    if isinstance(v, bool):
        return True
    if isinstance(v, int):
        return v in (0, 1)
    if isinstance(v, str):
        return v.lower() in ("true", "false", "1", "0", "")
    return False


def rest_sanitize_boolean(v):
    if isinstance(v, str):
        return v.lower() in ("true", "1")
    return bool(v)


class BadState(Exception):
    pass


# --------------------------------------------------------------------------
# GraphQL: lexer and parser (the full executable-document syntax of the
# GraphQL spec, October 2021: operations, variables, fragments, directives).
# --------------------------------------------------------------------------

MAX_QUERY_CHARS = 1_000_000
MAX_TOKENS = 200_000
MAX_DEPTH = 60

_NAME_RE = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
_NUM_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_PUNCT_KIND = {
    "!": "BANG", "$": "VAR_SIGN", "&": "AMP", "(": "LPAREN", ")": "RPAREN",
    "...": "ELLIPSIS", ":": "COLON", "=": "EQUALS", "@": "DIR_SIGN",
    "[": "LBRACKET", "]": "RBRACKET", "{": "LCURLY", "}": "RCURLY", "|": "PIPE",
}
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class GQLError(Exception):
    """One entry of a GraphQL response's "errors" array."""

    def __init__(self, message, loc=None, path=None, extensions=None):
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.path = path
        self.extensions = extensions

    def to_dict(self):
        d = {"message": self.message}
        if self.loc:
            d["locations"] = [{"line": self.loc[0], "column": self.loc[1]}]
        if self.path is not None:
            d["path"] = list(self.path)
        if self.extensions:
            d["extensions"] = self.extensions
        return d


class Tok:
    __slots__ = ("kind", "value", "line", "col")

    def __init__(self, kind, value, line, col):
        self.kind, self.value, self.line, self.col = kind, value, line, col


def _parse_error(desc, line, col):
    return GQLError("Parse error on %s at [%d, %d]" % (desc, line, col), (line, col))


def _block_string_value(raw):
    # GraphQL spec, BlockStringValue(): common indentation removal, trim blank lines.
    lines = re.split(r"\r\n|\n|\r", raw)
    common = None
    for ln in lines[1:]:
        stripped = ln.lstrip(" \t")
        ind = len(ln) - len(stripped)
        if stripped and (common is None or ind < common):
            common = ind
    if common:
        lines = [lines[0]] + [ln[common:] for ln in lines[1:]]
    while lines and not lines[0].strip(" \t"):
        lines.pop(0)
    while lines and not lines[-1].strip(" \t"):
        lines.pop()
    return "\n".join(lines)


def lex(src):
    toks = []
    i, n, line, ls = 0, len(src), 1, 0
    while True:
        while i < n:
            c = src[i]
            if c in " \t,\ufeff":
                i += 1
            elif c == "\n":
                i += 1
                line += 1
                ls = i
            elif c == "\r":
                i += 1
                if i < n and src[i] == "\n":
                    i += 1
                line += 1
                ls = i
            elif c == "#":
                while i < n and src[i] not in "\r\n":
                    i += 1
            else:
                break
        if i >= n:
            toks.append(Tok("EOF", None, line, i - ls + 1))
            return toks
        if len(toks) >= MAX_TOKENS:
            raise GQLError("Query is too large (more than %d tokens)" % MAX_TOKENS,
                           extensions={"code": "MAX_TOKENS_EXCEEDED"})
        col = i - ls + 1
        c = src[i]
        if c == ".":
            if src.startswith("...", i):
                toks.append(Tok("...", "...", line, col))
                i += 3
                continue
            raise _parse_error('"."', line, col)
        if c in "!$&():=@[]{}|":
            toks.append(Tok(c, c, line, col))
            i += 1
            continue
        m = _NAME_RE.match(src, i)
        if m:
            toks.append(Tok("NAME", m.group(), line, col))
            i = m.end()
            continue
        if c == "-" or "0" <= c <= "9":
            m = _NUM_RE.match(src, i)
            if not m:
                raise _parse_error('"%s"' % c, line, col)
            j = m.end()
            if j < n and (src[j] == "." or _NAME_RE.match(src, j)):
                raise _parse_error('"%s"' % src[i:j + 1], line, col)
            kind = "FLOAT" if (m.group(1) or m.group(2)) else "INT"
            toks.append(Tok(kind, m.group(), line, col))
            i = j
            continue
        if c == '"':
            if src.startswith('"""', i):
                j = i + 3
                buf = []
                sline, scol = line, col
                while True:
                    if j >= n:
                        raise _parse_error("unterminated string", sline, scol)
                    if src.startswith('\\"""', j):
                        buf.append('"""')
                        j += 4
                    elif src.startswith('"""', j):
                        j += 3
                        break
                    else:
                        ch = src[j]
                        if ch == "\n" or (ch == "\r" and not src.startswith("\r\n", j)):
                            line += 1
                            ls = j + 1
                        buf.append(ch)
                        j += 1
                toks.append(Tok("STRING", _block_string_value("".join(buf)), sline, scol))
                i = j
                continue
            j = i + 1
            buf = []
            while True:
                if j >= n or src[j] in "\r\n":
                    raise _parse_error("unterminated string", line, col)
                ch = src[j]
                if ch == '"':
                    j += 1
                    break
                if ch == "\\":
                    e = src[j + 1:j + 2]
                    if e in _ESCAPES:
                        buf.append(_ESCAPES[e])
                        j += 2
                    elif e == "u":
                        hx = src[j + 2:j + 6]
                        if not re.fullmatch(r"[0-9A-Fa-f]{4}", hx):
                            raise _parse_error("bad unicode escape", line, j - ls + 1)
                        cp = int(hx, 16)
                        j += 6
                        if 0xD800 <= cp <= 0xDBFF and src[j:j + 2] == "\\u" and \
                                re.fullmatch(r"[dD][c-fC-F][0-9A-Fa-f]{2}", src[j + 2:j + 6] or "x"):
                            lo = int(src[j + 2:j + 6], 16)
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                            j += 6
                        buf.append(chr(cp))
                    else:
                        raise _parse_error("bad escape \\%s" % e, line, j - ls + 1)
                else:
                    buf.append(ch)
                    j += 1
            toks.append(Tok("STRING", "".join(buf), line, col))
            i = j
            continue
        raise _parse_error('"%s"' % c, line, col)


# AST nodes ------------------------------------------------------------------

class Field:
    __slots__ = ("alias", "name", "args", "directives", "selections", "loc")

    def __init__(self, alias, name, args, directives, selections, loc):
        self.alias, self.name, self.args = alias, name, args
        self.directives, self.selections, self.loc = directives, selections, loc

    @property
    def key(self):
        return self.alias or self.name


class FragmentSpread:
    __slots__ = ("name", "directives", "loc")

    def __init__(self, name, directives, loc):
        self.name, self.directives, self.loc = name, directives, loc


class InlineFragment:
    __slots__ = ("type_cond", "directives", "selections", "loc")

    def __init__(self, type_cond, directives, selections, loc):
        self.type_cond, self.directives, self.selections, self.loc = type_cond, directives, selections, loc


class Operation:
    __slots__ = ("kind", "name", "var_defs", "directives", "selections", "loc")

    def __init__(self, kind, name, var_defs, directives, selections, loc):
        self.kind, self.name, self.var_defs = kind, name, var_defs
        self.directives, self.selections, self.loc = directives, selections, loc


class Fragment:
    __slots__ = ("name", "type_cond", "directives", "selections", "loc")

    def __init__(self, name, type_cond, directives, selections, loc):
        self.name, self.type_cond, self.directives, self.selections, self.loc = \
            name, type_cond, directives, selections, loc


class Directive:
    __slots__ = ("name", "args", "loc")

    def __init__(self, name, args, loc):
        self.name, self.args, self.loc = name, args, loc


# Values are tuples: ("var", name, loc) ("int", v) ("float", v) ("str", v)
# ("bool", v) ("null", None) ("enum", v) ("list", [values]) ("obj", [(k, value)])
# Types are tuples: ("named", name) ("list", type) ("nonnull", type)


class Parser:
    def __init__(self, src):
        if len(src) > MAX_QUERY_CHARS:
            raise GQLError("Query is too large (more than %d characters)" % MAX_QUERY_CHARS,
                           extensions={"code": "MAX_QUERY_SIZE_EXCEEDED"})
        self.toks = lex(src)
        self.i = 0
        self.depth = 0

    def peek(self, k=0):
        j = min(self.i + k, len(self.toks) - 1)
        return self.toks[j]

    def advance(self):
        t = self.toks[self.i]
        if t.kind != "EOF":
            self.i += 1
        return t

    def error(self, tok=None):
        tok = tok or self.peek()
        if tok.kind == "EOF":
            desc = "end of file"
        elif tok.kind == "NAME":
            desc = '"%s" (IDENTIFIER)' % tok.value
        elif tok.kind in ("INT", "FLOAT"):
            desc = '"%s" (%s)' % (tok.value, tok.kind)
        elif tok.kind == "STRING":
            desc = '%s (STRING)' % json.dumps(tok.value)
        else:
            desc = '"%s" (%s)' % (tok.value, _PUNCT_KIND.get(tok.value, tok.kind))
        return _parse_error(desc, tok.line, tok.col)

    def expect(self, kind):
        t = self.peek()
        if t.kind != kind:
            raise self.error(t)
        return self.advance()

    def expect_name(self, value=None):
        t = self.peek()
        if t.kind != "NAME" or (value is not None and t.value != value):
            raise self.error(t)
        return self.advance()

    def loc(self):
        t = self.peek()
        return (t.line, t.col)

    def document(self):
        defs = []
        while self.peek().kind != "EOF":
            defs.append(self.definition())
        if not defs:
            raise self.error()
        return defs

    def definition(self):
        t = self.peek()
        loc = (t.line, t.col)
        if t.kind == "{":
            return Operation("query", None, [], [], self.selection_set(), loc)
        if t.kind == "NAME":
            if t.value in ("query", "mutation", "subscription"):
                self.advance()
                name = None
                if self.peek().kind == "NAME":
                    name = self.advance().value
                var_defs = self.variable_definitions() if self.peek().kind == "(" else []
                directives = self.directives(False)
                return Operation(t.value, name, var_defs, directives, self.selection_set(), loc)
            if t.value == "fragment":
                self.advance()
                nt = self.expect_name()
                if nt.value == "on":
                    raise self.error(nt)
                self.expect_name("on")
                tc = self.expect_name().value
                directives = self.directives(False)
                return Fragment(nt.value, tc, directives, self.selection_set(), loc)
        raise self.error(t)

    def variable_definitions(self):
        self.expect("(")
        defs = []
        while True:
            loc = self.loc()
            self.expect("$")
            name = self.expect_name().value
            self.expect(":")
            typ = self.type_ref()
            default = None
            if self.peek().kind == "=":
                self.advance()
                default = self.value(True)
            self.directives(True)
            defs.append((name, typ, default, loc))
            if self.peek().kind == ")":
                self.advance()
                break
        return defs

    def type_ref(self):
        if self.peek().kind == "[":
            self.advance()
            inner = self.type_ref()
            self.expect("]")
            t = ("list", inner)
        else:
            t = ("named", self.expect_name().value)
        if self.peek().kind == "!":
            self.advance()
            t = ("nonnull", t)
        return t

    def selection_set(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            t = self.peek()
            raise GQLError("Query has depth of %d, which exceeds max depth of %d" % (self.depth, MAX_DEPTH),
                           (t.line, t.col), extensions={"code": "MAX_DEPTH_EXCEEDED"})
        self.expect("{")
        sels = []
        while True:
            sels.append(self.selection())
            if self.peek().kind == "}":
                self.advance()
                break
        self.depth -= 1
        return sels

    def selection(self):
        t = self.peek()
        loc = (t.line, t.col)
        if t.kind == "...":
            self.advance()
            n = self.peek()
            if n.kind == "NAME" and n.value != "on":
                self.advance()
                return FragmentSpread(n.value, self.directives(False), loc)
            tc = None
            if n.kind == "NAME" and n.value == "on":
                self.advance()
                tc = self.expect_name().value
            directives = self.directives(False)
            return InlineFragment(tc, directives, self.selection_set(), loc)
        name = self.expect_name().value
        alias = None
        if self.peek().kind == ":":
            self.advance()
            alias = name
            name = self.expect_name().value
        args = self.arguments(False) if self.peek().kind == "(" else OrderedDict()
        directives = self.directives(False)
        sels = self.selection_set() if self.peek().kind == "{" else None
        return Field(alias, name, args, directives, sels, loc)

    def arguments(self, const):
        self.expect("(")
        args = OrderedDict()
        while True:
            nt = self.expect_name()
            self.expect(":")
            if nt.value in args:
                raise GQLError("There can be only one argument named \"%s\"" % nt.value, (nt.line, nt.col),
                               extensions={"code": "argumentUniqueness", "argumentName": nt.value})
            args[nt.value] = self.value(const)
            if self.peek().kind == ")":
                self.advance()
                break
        return args

    def directives(self, const):
        out = []
        while self.peek().kind == "@":
            t = self.advance()
            name = self.expect_name().value
            args = self.arguments(const) if self.peek().kind == "(" else OrderedDict()
            out.append(Directive(name, args, (t.line, t.col)))
        return out

    def value(self, const):
        t = self.peek()
        self.depth += 1
        if self.depth > MAX_DEPTH * 2:
            raise GQLError("Value nesting too deep", (t.line, t.col))
        try:
            if t.kind == "$" and not const:
                self.advance()
                return ("var", self.expect_name().value, (t.line, t.col))
            if t.kind == "INT":
                self.advance()
                return ("int", int(t.value))
            if t.kind == "FLOAT":
                self.advance()
                return ("float", float(t.value))
            if t.kind == "STRING":
                self.advance()
                return ("str", t.value)
            if t.kind == "NAME":
                self.advance()
                if t.value == "true":
                    return ("bool", True)
                if t.value == "false":
                    return ("bool", False)
                if t.value == "null":
                    return ("null", None)
                return ("enum", t.value)
            if t.kind == "[":
                self.advance()
                items = []
                while self.peek().kind != "]":
                    items.append(self.value(const))
                self.advance()
                return ("list", items)
            if t.kind == "{":
                self.advance()
                fields = []
                seen = set()
                while self.peek().kind != "}":
                    nt = self.expect_name()
                    self.expect(":")
                    if nt.value in seen:
                        raise GQLError("There can be only one input field named \"%s\"" % nt.value,
                                       (nt.line, nt.col), extensions={"code": "inputFieldUniqueness"})
                    seen.add(nt.value)
                    fields.append((nt.value, self.value(const)))
                self.advance()
                return ("obj", fields)
            raise self.error(t)
        finally:
            self.depth -= 1


def parse_document(src):
    return Parser(src).document()


_MISSING = object()


class EnumValue(str):
    """An enum literal (unquoted name) as opposed to a String."""


def ast_value(node, variables):
    """Turn a value node into a Python value, substituting variables.

    A variable that was not provided (and has no default) yields _MISSING; in an
    input object the field is then absent, as the GraphQL spec requires."""
    k = node[0]
    if k == "var":
        return variables.get(node[1], _MISSING)
    if k == "enum":
        return EnumValue(node[1])
    if k in ("int", "float", "str", "bool", "null"):
        return node[1]
    if k == "list":
        out = []
        for v in node[1]:
            r = ast_value(v, variables)
            out.append(None if r is _MISSING else r)
        return out
    if k == "obj":
        d = OrderedDict()
        for key, v in node[1]:
            r = ast_value(v, variables)
            if r is not _MISSING:
                d[key] = r
        return d
    raise ValueError(k)


def ast_repr(node):
    """Render a value node back to GraphQL source (for error messages)."""
    k = node[0]
    if k == "var":
        return "$" + node[1]
    if k == "str":
        return json.dumps(node[1])
    if k == "bool":
        return "true" if node[1] else "false"
    if k == "null":
        return "null"
    if k in ("int", "float", "enum"):
        return str(node[1])
    if k == "list":
        return "[" + ", ".join(ast_repr(v) for v in node[1]) + "]"
    if k == "obj":
        return "{" + ", ".join("%s: %s" % (kk, ast_repr(v)) for kk, v in node[1]) + "}"
    return "?"


def ast_vars(node, out):
    if node[0] == "var":
        out.append((node[1], node[2]))
    elif node[0] == "list":
        for v in node[1]:
            ast_vars(v, out)
    elif node[0] == "obj":
        for _, v in node[1]:
            ast_vars(v, out)
    return out


def type_str(t):
    if t[0] == "named":
        return t[1]
    if t[0] == "list":
        return "[" + type_str(t[1]) + "]"
    return type_str(t[1]) + "!"


def parse_type_str(s):
    p = Parser(s)
    t = p.type_ref()
    return t


def base_type(t):
    while t[0] != "named":
        t = t[1]
    return t[1]


# --------------------------------------------------------------------------
# Shopify Admin GraphQL: the schema subset, input coercion, cost, executor
# --------------------------------------------------------------------------
# Source (endpoint, header, body {"query","variables"}):
#   https://shopify.dev/docs/api/admin-graphql  (POST /admin/api/{version}/graphql.json,
#   header X-Shopify-Access-Token)
# Source (types and fields below):
#   https://shopify.dev/docs/api/admin-graphql/latest/queries/inventoryItems
#   https://shopify.dev/docs/api/admin-graphql/latest/queries/locations
#   https://shopify.dev/docs/api/admin-graphql/latest/objects/InventoryLevel
#   https://shopify.dev/docs/api/admin-graphql/latest/mutations/inventorySetQuantities
#   https://shopify.dev/docs/api/admin-graphql/latest/mutations/inventoryAdjustQuantities

CONN_ARGS = {"first": "Int", "after": "String", "last": "Int", "before": "String", "reverse": "Boolean"}


def _f(t, args=None, conn=False, mut=False):
    return {"t": t, "args": dict(args or {}), "conn": conn, "mut": mut}


_SCHEMA_RAW = {
    "QueryRoot": {
        "shop": _f("Shop!"),
        "location": _f("Location", {"id": "ID"}),
        "locations": _f("LocationConnection!", dict(CONN_ARGS, query="String", sortKey="LocationSortKeys",
                                                     includeInactive="Boolean", includeLegacy="Boolean"), conn=True),
        "inventoryItem": _f("InventoryItem", {"id": "ID!"}),
        "inventoryItems": _f("InventoryItemConnection!", dict(CONN_ARGS, query="String"), conn=True),
    },
    "Mutation": {
        "inventorySetQuantities": _f("InventorySetQuantitiesPayload",
                                     {"input": "InventorySetQuantitiesInput!"}, mut=True),
        "inventoryAdjustQuantities": _f("InventoryAdjustQuantitiesPayload",
                                        {"input": "InventoryAdjustQuantitiesInput!"}, mut=True),
    },
    "Shop": {"id": "ID!", "name": "String!", "myshopifyDomain": "String!"},
    "PageInfo": {"hasNextPage": "Boolean!", "hasPreviousPage": "Boolean!",
                 "startCursor": "String", "endCursor": "String"},
    "LocationConnection": {"edges": _f("[LocationEdge!]!"), "nodes": _f("[Location!]!"),
                           "pageInfo": _f("PageInfo!")},
    "LocationEdge": {"cursor": "String!", "node": _f("Location!")},
    "Location": {"id": "ID!", "legacyResourceId": "UnsignedInt64!", "name": "String!", "isActive": "Boolean!"},
    "InventoryItemConnection": {"edges": _f("[InventoryItemEdge!]!"), "nodes": _f("[InventoryItem!]!"),
                                "pageInfo": _f("PageInfo!")},
    "InventoryItemEdge": {"cursor": "String!", "node": _f("InventoryItem!")},
    "InventoryItem": {
        "id": "ID!", "legacyResourceId": "UnsignedInt64!", "sku": "String", "tracked": "Boolean!",
        "createdAt": "DateTime!", "updatedAt": "DateTime!",
        "inventoryLevels": _f("InventoryLevelConnection!", dict(CONN_ARGS, query="String"), conn=True),
        "inventoryLevel": _f("InventoryLevel", {"locationId": "ID!"}),
        "variant": _f("ProductVariant!"),
    },
    "ProductVariant": {"id": "ID!", "sku": "String", "title": "String!", "displayName": "String!"},
    "InventoryLevelConnection": {"edges": _f("[InventoryLevelEdge!]!"), "nodes": _f("[InventoryLevel!]!"),
                                 "pageInfo": _f("PageInfo!")},
    "InventoryLevelEdge": {"cursor": "String!", "node": _f("InventoryLevel!")},
    "InventoryLevel": {
        "id": "ID!", "createdAt": "DateTime!", "updatedAt": "DateTime!",
        "location": _f("Location!"), "item": _f("InventoryItem!"),
        "quantities": _f("[InventoryQuantity!]!", {"names": "[String!]!"}),
    },
    "InventoryQuantity": {"id": "ID!", "name": "String!", "quantity": "Int!", "updatedAt": "DateTime"},
    "InventorySetQuantitiesPayload": {
        "inventoryAdjustmentGroup": _f("InventoryAdjustmentGroup"),
        "userErrors": _f("[InventorySetQuantitiesUserError!]!"),
    },
    "InventoryAdjustQuantitiesPayload": {
        "inventoryAdjustmentGroup": _f("InventoryAdjustmentGroup"),
        "userErrors": _f("[InventoryAdjustQuantitiesUserError!]!"),
    },
    "InventoryAdjustmentGroup": {
        "id": "ID!", "createdAt": "DateTime!", "reason": "String!", "referenceDocumentUri": "String",
        "changes": _f("[InventoryChange!]!", {"inventoryItemIds": "[ID!]", "locationIds": "[ID!]",
                                               "quantityNames": "[String!]"}),
    },
    "InventoryChange": {"name": "String!", "delta": "Int!", "quantityAfterChange": "Int",
                        "ledgerDocumentUri": "String", "item": _f("InventoryItem"), "location": _f("Location")},
    "InventorySetQuantitiesUserError": {"code": "InventorySetQuantitiesUserErrorCode", "field": "[String!]",
                                        "message": "String!"},
    "InventoryAdjustQuantitiesUserError": {"code": "InventoryAdjustQuantitiesUserErrorCode",
                                           "field": "[String!]", "message": "String!"},
}

_TYPE_CACHE = {}


def _tnode(s):
    t = _TYPE_CACHE.get(s)
    if t is None:
        t = _TYPE_CACHE[s] = parse_type_str(s)
    return t


def _build_schema(raw):
    schema = {}
    for tname, fields in raw.items():
        out = {}
        for fname, spec in fields.items():
            if isinstance(spec, str):
                spec = _f(spec)
            tn = _tnode(spec["t"])
            b = base_type(tn)
            inner = tn[1] if tn[0] == "nonnull" else tn
            out[fname] = {
                "t": spec["t"], "base": b, "list": inner[0] == "list", "scalar": b not in raw,
                "conn": spec["conn"], "mut": spec["mut"],
                "args": OrderedDict((a, _tnode(ts)) for a, ts in spec["args"].items()),
            }
        schema[tname] = out
    return schema


SCHEMA = _build_schema(_SCHEMA_RAW)

# Cost of resolving one object of each type.  Source: "Cost calculation" in
# https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits (scalar/enum 0,
# object 1, connection sized by first/last, mutation 10).  Connection/edge/page-info
# wrappers, payloads and user errors are free here: a community-posted answer for a
# mutation selecting inventoryAdjustmentGroup and userErrors shows requestedQueryCost 11
# and actualQueryCost 10 when the group is null (community.shopify.com, thread 228350).
# The "+2 per connection" overhead is UNVERIFIED (commonly observed as first:250 -> 252).
TYPE_COST = {t: (0 if (t.endswith("Connection") or t.endswith("Edge") or t.endswith("Payload")
                       or t.endswith("UserError") or t == "PageInfo") else 1) for t in SCHEMA}
CONNECTION_OVERHEAD = 2
MUTATION_COST = 10
MAX_PAGE = 250          # UNVERIFIED for these connections: Shopify's usual page maximum
MAX_INPUT_ARRAY = 250   # Source: https://shopify.dev/docs/api/usage/limits#input-limits

SCALARS = {"Int", "Float", "String", "Boolean", "ID", "DateTime", "UnsignedInt64", "URL"}
ENUMS = {"LocationSortKeys": {"ID", "NAME", "RELEVANCE"}}
INPUTS = {
    # Source: https://shopify.dev/docs/api/admin-graphql/latest/input-objects/InventorySetQuantitiesInput
    "InventorySetQuantitiesInput": OrderedDict([
        ("name", "String!"), ("reason", "String!"), ("referenceDocumentUri", "String"),
        ("quantities", "[InventoryQuantityInput!]!"), ("ignoreCompareQuantity", "Boolean")]),
    # Source: https://shopify.dev/docs/api/admin-graphql/latest/input-objects/InventoryQuantityInput
    "InventoryQuantityInput": OrderedDict([
        ("inventoryItemId", "ID!"), ("locationId", "ID!"), ("quantity", "Int!"),
        ("compareQuantity", "Int"), ("changeFromQuantity", "Int")]),
    # Source: https://shopify.dev/docs/api/admin-graphql/latest/input-objects/InventoryAdjustQuantitiesInput
    "InventoryAdjustQuantitiesInput": OrderedDict([
        ("name", "String!"), ("reason", "String!"), ("referenceDocumentUri", "String"),
        ("changes", "[InventoryChangeInput!]!")]),
    # Source: https://shopify.dev/docs/api/admin-graphql/latest/input-objects/InventoryChangeInput
    "InventoryChangeInput": OrderedDict([
        ("delta", "Int!"), ("inventoryItemId", "ID!"), ("locationId", "ID!"),
        ("ledgerDocumentUri", "String"), ("changeFromQuantity", "Int")]),
}


def known_input_type(t):
    b = base_type(t)
    return b in SCALARS or b in ENUMS or b in INPUTS


class CoerceError(Exception):
    def __init__(self, path, explanation):
        super().__init__(explanation)
        self.path = path
        self.explanation = explanation


def coerce(value, t, path):
    """GraphQL input coercion (spec section 3.x "Input Coercion")."""
    if t[0] == "nonnull":
        if value is None:
            raise CoerceError(path, "Expected value to not be null")
        return coerce(value, t[1], path)
    if value is None:
        return None
    if t[0] == "list":
        if not isinstance(value, list):
            value = [value]
        return [coerce(v, t[1], path + [i]) for i, v in enumerate(value)]
    name = t[1]
    if name == "Int":
        if isinstance(value, bool) or not isinstance(value, int) or not (-2 ** 31 <= value < 2 ** 31):
            raise CoerceError(path, "Could not coerce value %s to Int" % json.dumps(value))
        return value
    if name == "Float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CoerceError(path, "Could not coerce value %s to Float" % json.dumps(value))
        return float(value)
    if name in ("String", "DateTime", "URL"):
        if not isinstance(value, str) or isinstance(value, EnumValue):
            raise CoerceError(path, "Could not coerce value %s to %s" % (json.dumps(value), name))
        return str(value)
    if name in ("ID", "UnsignedInt64"):
        if isinstance(value, bool) or isinstance(value, EnumValue) or not isinstance(value, (str, int)):
            raise CoerceError(path, "Could not coerce value %s to %s" % (json.dumps(value), name))
        return str(value)
    if name == "Boolean":
        if not isinstance(value, bool):
            raise CoerceError(path, "Could not coerce value %s to Boolean" % json.dumps(value))
        return value
    if name in ENUMS:
        if not isinstance(value, str) or value not in ENUMS[name]:
            raise CoerceError(path, "Expected %s to be one of: %s" % (json.dumps(value), ", ".join(sorted(ENUMS[name]))))
        return str(value)
    if name in INPUTS:
        if not isinstance(value, dict):
            raise CoerceError(path, "Expected %s to be a key-value object." % json.dumps(value))
        fields = INPUTS[name]
        for k in value:
            if k not in fields:
                raise CoerceError(path + [k], "Field is not defined on %s" % name)
        out = OrderedDict()
        for k, ts in fields.items():
            ft = _tnode(ts)
            if k in value:
                out[k] = coerce(value[k], ft, path + [k])
            elif ft[0] == "nonnull":
                raise CoerceError(path + [k], "Expected value to not be null")
        return out
    raise CoerceError(path, "Unknown type %s" % name)


def _path_str(path):
    return ".".join(str(p) for p in path)


# ---- Shopify search syntax (query: "sku:ABC OR sku:DEF") -------------------
# Source: https://shopify.dev/docs/api/usage/search-syntax  (field:value, comparators
# field:>value, NOT / -field, AND (implicit), OR, parentheses, quoted values, prefix
# wildcard value*); the filter fields of inventoryItems (id, sku, created_at, updated_at)
# come from https://shopify.dev/docs/api/admin-graphql/latest/queries/inventoryItems.
# Case-insensitive exact matching of sku is UNVERIFIED.

_SEARCH_TOKEN = re.compile(
    r"""\s*(\(|\)|-?[^\s()"':]+:(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s()]*)"""
    r"""|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s()]+)""")


class SearchQuery:
    FIELDS = {"id", "sku", "created_at", "updated_at"}

    def __init__(self, text):
        self.text = text
        self.toks = []
        pos = 0
        while pos < len(text):
            m = _SEARCH_TOKEN.match(text, pos)
            if not m or m.end() == pos:
                break
            if m.group(1):
                self.toks.append(m.group(1))
            pos = m.end()
        self.i = 0
        self.warnings = []
        self.tree = self._or() if self.toks else None

    def _peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _or(self):
        parts = [self._and()]
        while self._peek() == "OR":
            self.i += 1
            parts.append(self._and())
        return ("or", parts) if len(parts) > 1 else parts[0]

    def _and(self):
        parts = []
        while True:
            t = self._peek()
            if t is None or t in (")", "OR"):
                break
            if t == "AND":
                self.i += 1
                continue
            parts.append(self._unary())
        return ("and", parts)

    def _unary(self):
        t = self._peek()
        if t == "NOT":
            self.i += 1
            return ("not", self._unary())
        if t == "(":
            self.i += 1
            e = self._or()
            if self._peek() == ")":
                self.i += 1
            return e
        self.i += 1
        neg = False
        if t.startswith("-") and len(t) > 1:
            neg, t = True, t[1:]
        term = self._term(t)
        return ("not", term) if neg else term

    @staticmethod
    def _unquote(v):
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
            return re.sub(r"\\(.)", r"\1", v[1:-1]), True
        return v, False

    def _term(self, t):
        if ":" in t and not t.startswith(("'", '"')):
            field, _, val = t.partition(":")
            op = "="
            for cand in (">=", "<=", ">", "<"):
                if val.startswith(cand):
                    op, val = cand, val[len(cand):]
                    break
            val, quoted = self._unquote(val)
            if field not in self.FIELDS:
                self.warnings.append({"field": field, "message": "Invalid search field for this query."})
                return ("true",)
            return ("field", field, op, val, quoted)
        val, quoted = self._unquote(t)
        return ("text", val)

    def match(self, item):
        return True if self.tree is None else self._eval(self.tree, item)

    def _eval(self, node, item):
        k = node[0]
        if k == "or":
            return any(self._eval(p, item) for p in node[1])
        if k == "and":
            return all(self._eval(p, item) for p in node[1])
        if k == "not":
            return not self._eval(node[1], item)
        if k == "true":
            return True
        if k == "text":
            return node[1].lower() in (item.get("sku") or "").lower()
        _, field, op, val, quoted = node
        if field == "sku":
            sku = (item.get("sku") or "").lower()
            v = val.lower()
            if op != "=":
                return _cmp(sku, op, v)
            if v.endswith("*") and not quoted:
                return sku.startswith(v[:-1])
            return sku == v
        if field == "id":
            m = re.search(r"(\d+)$", val)
            if not m:
                return False
            return _cmp(item["num"], op, int(m.group(1)))
        d = parse_iso(val)
        if d is None:
            return False
        src = parse_iso(item["createdAt"] if field == "created_at" else item["updatedAt"])
        return _cmp(src, op, d)


def _cmp(a, op, b):
    if op == "=":
        return a == b
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    if op == "<":
        return a < b
    return a <= b


def _num_key(o):
    return o["num"]


def encode_cursor(num):
    # Shopify cursors are opaque base64 strings; this shape mirrors commonly seen ones.
    return base64.b64encode(jdump({"last_id": num, "last_value": str(num)})).decode("ascii")


def decode_cursor(cur):
    try:
        d = json.loads(base64.b64decode(cur.encode("ascii"), validate=True).decode("utf-8"))
        n = d["last_id"]
        if isinstance(n, bool) or not isinstance(n, int):
            raise ValueError
        return n
    except Exception:
        return None


# Quantity names. Source: https://shopify.dev/docs/apps/build/orders-fulfillment/inventory-management-apps#inventory-states
QUANTITY_NAMES = ["available", "committed", "damaged", "incoming", "on_hand",
                  "quality_control", "reserved", "safety_stock"]


class Prepared:
    """A parsed, operation-selected GraphQL request (before validation)."""

    def __init__(self, doc, op, fragments, raw_vars):
        self.doc, self.op, self.fragments, self.raw_vars = doc, op, fragments, raw_vars


def gql_prepare(query, variables, operation_name):
    """Parse and select the operation.  Raises GQLError."""
    if not isinstance(query, str) or not query.strip():
        raise GQLError("No query string was present")
    doc = parse_document(query)
    ops = [d for d in doc if isinstance(d, Operation)]
    frags = OrderedDict()
    for d in doc:
        if isinstance(d, Fragment):
            if d.name in frags:
                raise GQLError('Fragment name "%s" must be unique' % d.name, d.loc,
                               extensions={"code": "fragmentNamesUnique"})
            frags[d.name] = d
    if not ops:
        raise GQLError("No operations in document")
    names = [o.name for o in ops]
    if len(ops) > 1 and None in names:
        o = ops[names.index(None)]
        raise GQLError("This anonymous operation must be the only defined operation.", o.loc,
                       extensions={"code": "loneAnonymousOperation"})
    dup = [n for n in names if n is not None and names.count(n) > 1]
    if dup:
        raise GQLError('Operation name "%s" must be unique' % dup[0], extensions={"code": "operationNamesUnique"})
    if operation_name:
        sel = [o for o in ops if o.name == operation_name]
        if not sel:
            raise GQLError('No operation named "%s"' % operation_name)
        op = sel[0]
    elif len(ops) > 1:
        raise GQLError("An operation name is required")
    else:
        op = ops[0]
    if variables is not None and not isinstance(variables, dict):
        raise GQLError("Variables must be an object")
    return Prepared(doc, op, frags, variables or {})


class Executor:
    """Validates, costs and executes one prepared operation against one shop."""

    def __init__(self, sim, shop, prepared, strict, req):
        self.sim = sim
        self.shop = shop
        self.p = prepared
        self.op = prepared.op
        self.frags = prepared.fragments
        self.strict = strict
        self.req = req
        self.vars = {}
        self.errors = []
        self.args_cache = {}
        self.idem = {}
        self.sub_cache = {}
        self.actual = 0
        self._free = 0          # > 0 while rendering list elements that cost nothing
        self.search = []
        self.root_type = "Mutation" if self.op.kind == "mutation" else "QueryRoot"

    # -- helpers ------------------------------------------------------------
    def err(self, msg, loc=None, path=None, **ext):
        self.errors.append(GQLError(msg, loc, path, ext or None))

    def included(self, directives):
        for d in directives:
            if d.name in ("skip", "include"):
                node = d.args.get("if")
                v = ast_value(node, self.vars) if node is not None else None
                if d.name == "skip" and v is True:
                    return False
                if d.name == "include" and v is not True:
                    return False
        return True

    def collect(self, selections, tname, out=None, seen=None):
        out = OrderedDict() if out is None else out
        seen = set() if seen is None else seen
        for sel in selections:
            if not self.included(sel.directives):
                continue
            if isinstance(sel, Field):
                out.setdefault(sel.key, []).append(sel)
            elif isinstance(sel, InlineFragment):
                if sel.type_cond and sel.type_cond != tname:
                    continue
                self.collect(sel.selections, tname, out, seen)
            else:
                frag = self.frags.get(sel.name)
                if frag is None or sel.name in seen or frag.type_cond != tname:
                    continue
                seen.add(sel.name)
                self.collect(frag.selections, tname, out, seen)
        return out

    def sub_fields(self, nodes, tname):
        key = (tuple(id(n) for n in nodes), tname)
        r = self.sub_cache.get(key)
        if r is None:
            sels = []
            for n in nodes:
                sels.extend(n.selections or [])
            r = self.sub_cache[key] = self.collect(sels, tname)
        return r

    # -- validation ---------------------------------------------------------
    def prepare(self):
        """Variables, document-level validation and field validation.  Returns errors."""
        op = self.op
        if op.kind == "subscription":
            self.err("Subscriptions are not supported", op.loc)
            return self.errors
        for d in op.directives:
            if d.name not in ("inContext",):
                self.err("Directive @%s is not defined" % d.name, d.loc, code="undefinedDirective",
                         directiveName=d.name)
        # fragments: defined, used, acyclic, on known types
        used = set()
        self._frag_walk(op.selections, used, [])
        for name, fr in self.frags.items():
            if fr.type_cond not in SCHEMA:
                self.err("No such type %s, so it can't be a fragment condition" % fr.type_cond, fr.loc,
                         code="undefinedType", typeName=fr.type_cond)
            if name not in used:
                self.err("Fragment %s was defined, but not used" % name, fr.loc, code="useAndDefineFragment",
                         fragmentName=name)
        if self.errors:
            return self.errors
        # variables
        declared = OrderedDict()
        for name, t, default, loc in op.var_defs:
            if name in declared:
                self.err('There can only be one variable named "%s"' % name, loc, code="variableUniqueness")
                continue
            declared[name] = (t, default, loc)
            if not known_input_type(t):
                self.err("%s isn't a defined input type (on $%s)" % (base_type(t), name), loc,
                         code="variableRequiresValidType", typeName=base_type(t), variableName=name)
        refs = []
        self._var_walk(op.selections, refs, set())
        for d in op.directives:
            for v in d.args.values():
                ast_vars(v, refs)
        opname = op.name or "anonymous %s" % op.kind
        ref_names = set()
        for name, loc in refs:
            ref_names.add(name)
            if name not in declared:
                self.err("Variable $%s is used by %s but not declared" % (name, opname), loc,
                         code="variableNotDefined", variableName=name)
        for name, (t, default, loc) in declared.items():
            if name not in ref_names:
                self.err("Variable $%s is declared by %s but not used" % (name, opname), loc,
                         code="variableNotUsed", variableName=name)
        if self.errors:
            return self.errors
        for name, (t, default, loc) in declared.items():
            try:
                if name in self.p.raw_vars:
                    self.vars[name] = coerce(self.p.raw_vars[name], t, [])
                elif default is not None:
                    self.vars[name] = coerce(ast_value(default, {}), t, [])
                elif t[0] == "nonnull":
                    raise CoerceError([], "Expected value to not be null")
            except CoerceError as ce:
                val = self.p.raw_vars.get(name)
                msg = "Variable $%s of type %s was provided invalid value" % (name, type_str(t))
                if ce.path:
                    msg += " for %s (%s)" % (_path_str(ce.path), ce.explanation)
                self.err(msg, loc, code="INVALID_VARIABLE", value=val,
                         problems=[{"path": ce.path, "explanation": ce.explanation}])
        if self.errors:
            return self.errors
        self.validate(self.collect(op.selections, self.root_type), self.root_type, [op.kind])
        return self.errors

    def _frag_walk(self, selections, used, stack):
        for sel in selections:
            if isinstance(sel, Field):
                if sel.selections:
                    self._frag_walk(sel.selections, used, stack)
            elif isinstance(sel, InlineFragment):
                if sel.type_cond and sel.type_cond not in SCHEMA:
                    self.err("No such type %s, so it can't be a fragment condition" % sel.type_cond, sel.loc,
                             code="undefinedType", typeName=sel.type_cond)
                self._frag_walk(sel.selections, used, stack)
            else:
                fr = self.frags.get(sel.name)
                if fr is None:
                    self.err("Fragment %s was used, but not defined" % sel.name, sel.loc,
                             code="useAndDefineFragment", fragmentName=sel.name)
                    continue
                if sel.name in stack:
                    self.err("Fragment %s contains an infinite loop" % sel.name, fr.loc,
                             code="infiniteLoop", fragmentName=sel.name)
                    continue
                if sel.name in used:
                    continue
                used.add(sel.name)
                self._frag_walk(fr.selections, used, stack + [sel.name])

    def _var_walk(self, selections, refs, seen):
        for sel in selections:
            for d in sel.directives:
                for v in d.args.values():
                    ast_vars(v, refs)
            if isinstance(sel, Field):
                for v in sel.args.values():
                    ast_vars(v, refs)
                if sel.selections:
                    self._var_walk(sel.selections, refs, seen)
            elif isinstance(sel, InlineFragment):
                self._var_walk(sel.selections, refs, seen)
            else:
                fr = self.frags.get(sel.name)
                if fr is not None and sel.name not in seen:
                    seen.add(sel.name)
                    self._var_walk(fr.selections, refs, seen)

    def _check_directives(self, node, fd, path):
        for d in node.directives:
            if d.name in ("skip", "include"):
                if "if" not in d.args:
                    self.err("Directive '%s' is missing required arguments: if" % d.name, d.loc,
                             code="missingRequiredArguments")
                for a in d.args:
                    if a != "if":
                        self.err("Directive '%s' doesn't accept argument '%s'" % (d.name, a), d.loc,
                                 code="argumentNotAccepted")
            elif d.name == "idempotent":
                # Source: https://shopify.dev/docs/api/usage/idempotent-requests ("@idempotent(key:)")
                if fd is None or not fd["mut"]:
                    self.err("'@idempotent' can't be applied to %s (allowed: mutation fields that support it)"
                             % node.name, d.loc, code="directiveCannotBeApplied")
                    continue
                for a in d.args:
                    if a != "key":
                        self.err("Directive 'idempotent' doesn't accept argument '%s'" % a, d.loc,
                                 code="argumentNotAccepted")
                kn = d.args.get("key")
                key = ast_value(kn, self.vars) if kn is not None else None
                if key is _MISSING:
                    key = None
                if kn is None:
                    self.err("Directive 'idempotent' is missing required arguments: key", d.loc,
                             code="missingRequiredArguments")
                elif key is not None and (not isinstance(key, str) or isinstance(key, EnumValue)):
                    self.err("Argument 'key' on Directive 'idempotent' has an invalid value (%s). Expected type 'String!'."
                             % ast_repr(kn), d.loc, code="argumentLiteralsIncompatible")
                else:
                    self.idem[id(node)] = key
            else:
                self.err("Directive @%s is not defined" % d.name, d.loc, code="undefinedDirective",
                         directiveName=d.name)

    def coerce_args(self, node, fd, tname, path):
        out = OrderedDict()
        for aname, vnode in node.args.items():
            at = fd["args"].get(aname)
            if at is None:
                self.err("Field '%s' doesn't accept argument '%s'" % (node.name, aname), node.loc,
                         code="argumentNotAccepted", name=node.name, typeName="Field", argumentName=aname)
                continue
            if vnode[0] == "var" and at[0] == "nonnull":
                decl = [(t, d) for (n, t, d, _) in self.op.var_defs if n == vnode[1]]
                if decl and decl[0][0][0] != "nonnull" and decl[0][1] is None:
                    self.err("Nullability mismatch on variable $%s and argument %s (%s / %s)"
                             % (vnode[1], aname, type_str(decl[0][0]), type_str(at)), node.loc,
                             code="variableMismatch", variableName=vnode[1], argumentName=aname)
                    continue
            raw = ast_value(vnode, self.vars)
            if raw is _MISSING:
                if at[0] == "nonnull":
                    self.err("Argument '%s' on Field '%s' has an invalid value (%s). Expected type '%s'."
                             % (aname, node.name, ast_repr(vnode), type_str(at)), node.loc,
                             code="argumentLiteralsIncompatible", typeName="Field", argumentName=aname)
                continue
            try:
                out[aname] = coerce(raw, at, [])
            except CoerceError as ce:
                if vnode[0] == "var":
                    decl = [type_str(t) for (n, t, _, _) in self.op.var_defs if n == vnode[1]]
                    self.err("Type mismatch on variable $%s and argument %s (%s / %s)"
                             % (vnode[1], aname, decl[0] if decl else "?", type_str(at)), node.loc,
                             code="variableMismatch", variableName=vnode[1], argumentName=aname)
                else:
                    self.err("Argument '%s' on Field '%s' has an invalid value (%s). Expected type '%s'."
                             % (aname, node.name, ast_repr(vnode), type_str(at)), node.loc,
                             code="argumentLiteralsIncompatible", typeName="Field", argumentName=aname)
        missing = [a for a, t in fd["args"].items() if t[0] == "nonnull" and a not in out and a not in node.args]
        if missing:
            self.err("Field '%s' is missing required arguments: %s" % (node.name, ", ".join(missing)), node.loc,
                     code="missingRequiredArguments", className="Field", name=node.name,
                     arguments=", ".join(missing))
        return out

    def _check_input_sizes(self, value, path, node):
        if isinstance(value, list):
            if len(value) > MAX_INPUT_ARRAY:
                # Source: https://shopify.dev/docs/api/usage/limits#input-limits ("Input arguments that
                # accept an array have a maximum size of 250 ... Requests return an error").
                # The message text and code MAX_INPUT_SIZE_EXCEEDED are UNVERIFIED.
                self.err("The input array size of %d is greater than the maximum allowed of %d."
                         % (len(value), MAX_INPUT_ARRAY), node.loc, path, code="MAX_INPUT_SIZE_EXCEEDED")
                return
            for i, v in enumerate(value):
                self._check_input_sizes(v, path + [str(i)], node)
        elif isinstance(value, dict):
            for k, v in value.items():
                self._check_input_sizes(v, path + [k], node)

    def validate(self, fields, tname, path):
        tdef = SCHEMA[tname]
        for key, nodes in fields.items():
            node = nodes[0]
            fpath = path + [key]
            if node.name == "__typename":
                if node.selections:
                    self.err("Selections can't be made on scalars (field '__typename' returns String but has selections)",
                             node.loc, fpath, code="selectionMismatch")
                continue
            fd = tdef.get(node.name)
            if fd is None:
                self.err("Field '%s' doesn't exist on type '%s'" % (node.name, tname), node.loc, fpath,
                         code="undefinedField", typeName=tname, fieldName=node.name)
                continue
            for n in nodes:
                self._check_directives(n, fd, fpath)
                self.args_cache[id(n)] = self.coerce_args(n, fd, tname, fpath)
            args = self.args_cache[id(node)]
            if fd["scalar"]:
                if node.selections:
                    names = ", ".join(s.name for s in node.selections if isinstance(s, Field))
                    self.err("Selections can't be made on scalars (field '%s' returns %s but has selections [%s])"
                             % (node.name, fd["base"], names), node.loc, fpath, code="selectionMismatch",
                             nodeName="field '%s'" % node.name)
                continue
            if not node.selections:
                self.err("Field must have selections (field '%s' returns %s but has no selections. Did you mean '%s { ... }'?)"
                         % (node.name, fd["base"], node.name), node.loc, fpath, code="selectionMismatch",
                         nodeName="field '%s'" % node.name)
                continue
            if fd["conn"]:
                first, last = args.get("first"), args.get("last")
                if first is None and last is None:
                    # Observed Shopify message (github.com/gnikyt/Basic-Shopify-API issue 22).
                    self.err("you must provide one of first or last", node.loc, fpath)
                elif first is not None and last is not None:
                    self.err("Passing both `first` and `last` to paginate the `%s` connection is not supported."
                             % node.name, node.loc, fpath)
                else:
                    n, an = (first, "first") if first is not None else (last, "last")
                    if n < 0 or n > MAX_PAGE:
                        # UNVERIFIED message text.
                        self.err("Argument '%s' on Field '%s' must be between 0 and %d (got %d)."
                                 % (an, node.name, MAX_PAGE, n), node.loc, fpath,
                                 code="argumentLiteralsIncompatible", argumentName=an)
            if node.name == "quantities":
                bad = [q for q in (args.get("names") or []) if q not in QUANTITY_NAMES]
                if bad:
                    # UNVERIFIED message text.
                    self.err("The quantity name '%s' is not valid. Valid names: %s"
                             % (bad[0], ", ".join(QUANTITY_NAMES)), node.loc, fpath, code="INVALID_QUANTITY_NAME")
            if fd["mut"]:
                for a, v in args.items():
                    self._check_input_sizes(v, [node.name, a], node)
                key = self.idem.get(id(node))
                if self.strict and not key:
                    # Source: https://shopify.dev/changelog/making-idempotency-mandatory-for-inventory-adjustments-and-refund-mutations
                    # ("calling these mutations without an idempotency directive will result in an error
                    # at runtime", from 2026-04).  Message text and code are UNVERIFIED.
                    self.err("The @idempotent directive with a non-empty key is required for %s." % node.name,
                             node.loc, fpath, code="IDEMPOTENCY_KEY_REQUIRED")
            self.validate(self.sub_fields(nodes, fd["base"]), fd["base"], fpath)

    # -- cost ------------------------------------------------------------------
    def requested_cost(self, fields=None, tname=None):
        if fields is None:
            tname = self.root_type
            fields = self.collect(self.op.selections, tname)
        total = 0
        for key, nodes in fields.items():
            node = nodes[0]
            if node.name == "__typename":
                continue
            fd = SCHEMA[tname][node.name]
            if fd["scalar"]:
                continue
            sub = self.sub_fields(nodes, fd["base"])
            inner = TYPE_COST.get(fd["base"], 1) + self.requested_cost(sub, fd["base"])
            if fd["conn"]:
                a = self.args_cache.get(id(node), {})
                n = a.get("first") if a.get("first") is not None else (a.get("last") or 0)
                total += CONNECTION_OVERHEAD + n * inner
            elif fd["mut"]:
                total += MUTATION_COST + inner
            else:
                total += inner
        return total

    # -- execution -------------------------------------------------------------
    def execute(self):
        tname = self.root_type
        fields = self.collect(self.op.selections, tname)
        return self.render(fields, tname, None, [], charge=False)

    def charge(self, n):
        if not self._free:
            self.actual += n

    def render(self, fields, tname, obj, path, charge=True):
        if charge:
            self.charge(TYPE_COST.get(tname, 1))
        out = OrderedDict()
        for key, nodes in fields.items():
            node = nodes[0]
            if node.name == "__typename":
                out[key] = tname
                continue
            fd = SCHEMA[tname][node.name]
            args = self.args_cache.get(id(node), {})
            fpath = path + [key]
            try:
                val = self.resolve(tname, node.name, fd, obj, args, node, fpath)
            except GQLError as e:
                if e.path is None:
                    e.path = fpath
                if e.loc is None:
                    e.loc = node.loc
                self.errors.append(e)
                out[key] = None
                continue
            out[key] = self.complete(fd, val, nodes, fpath, tname)
        return out

    def complete(self, fd, val, nodes, path, parent):
        if fd["scalar"] or val is None:
            return val
        sub = self.sub_fields(nodes, fd["base"])
        if fd["list"]:
            # Connection edges/nodes cost per node; any other list of objects costs as one
            # object (its first element), whatever its length.
            if parent.endswith("Connection"):
                return [self.render(sub, fd["base"], v, path + [i]) for i, v in enumerate(val)]
            out = []
            for i, v in enumerate(val):
                if i:
                    self._free += 1
                try:
                    out.append(self.render(sub, fd["base"], v, path + [i]))
                finally:
                    if i:
                        self._free -= 1
            return out
        return self.render(sub, fd["base"], val, path)

    def paginate(self, objs, args, fname):
        """Cursor pagination over objs (sorted by ascending "num"), keyset style."""
        first, last = args.get("first"), args.get("last")
        rev = bool(args.get("reverse"))
        n = len(objs)
        key = _num_key
        start, end = 0, n
        for name in ("after", "before"):
            cur = args.get(name)
            if cur is None:
                continue
            c = decode_cursor(cur)
            if c is None:
                # UNVERIFIED message text.
                raise GQLError("Invalid cursor for current pagination sort.", extensions={"code": "BAD_REQUEST"})
            if name == "after":   # first position beyond the cursor, in the logical order
                start = (n - bisect.bisect_left(objs, c, key=key)) if rev else bisect.bisect_right(objs, c, key=key)
            else:                 # number of elements before the cursor, in the logical order
                end = min(end, (n - bisect.bisect_right(objs, c, key=key)) if rev else
                          bisect.bisect_left(objs, c, key=key))
        end = max(end, start)
        if first is not None:
            s, e = start, min(end, start + first)
        else:
            s, e = max(start, end - (last or 0)), end
        page = [objs[n - 1 - i] for i in range(s, e)] if rev else objs[s:e]
        cursors = [encode_cursor(o["num"]) for o in page]
        return {
            "nodes": page, "cursors": cursors,
            "pageInfo": {"hasNextPage": e < n, "hasPreviousPage": s > 0,
                         "startCursor": cursors[0] if cursors else None,
                         "endCursor": cursors[-1] if cursors else None},
        }

    def resolve(self, tname, fname, fd, obj, args, node, path):
        sh = self.shop
        if fd["conn"]:
            self.charge(CONNECTION_OVERHEAD)
        if tname == "QueryRoot":
            if fname == "shop":
                return sh
            if fname == "location":
                return sh["locs"].get(args.get("id"))
            if fname == "locations":
                locs = sh["loc_list"]
                if not args.get("includeInactive"):
                    locs = [l for l in locs if l["isActive"]]
                return self.paginate(locs, args, fname)
            if fname == "inventoryItem":
                return sh["items"].get(args.get("id"))
            if fname == "inventoryItems":
                items = sh["item_list"]
                q = args.get("query")
                if q:
                    sq = SearchQuery(q)
                    items = [it for it in items if sq.match(it)]
                    if sq.warnings:
                        # Shape of Shopify's extensions.search warnings: UNVERIFIED.
                        self.search.append({"path": [path[-1]], "query": q, "warnings": sq.warnings})
                return self.paginate(items, args, fname)
        if tname == "Mutation":
            self.charge(MUTATION_COST)
            return self.sim.sh_mutation(sh, fname, args["input"], self.idem.get(id(node)), self.req, self.strict)
        if tname == "Shop":
            return {"id": "gid://shopify/Shop/%d" % sh["shop_num"], "name": sh["name"],
                    "myshopifyDomain": "%s.myshopify.com" % sh["name"]}[fname]
        if tname.endswith("Connection"):
            if fname == "edges":
                return [{"cursor": c, "node": n} for c, n in zip(obj["cursors"], obj["nodes"])]
            return obj[fname]
        if tname in ("Location",) and fname == "legacyResourceId":
            return str(obj["num"])
        if tname == "InventoryItem":
            if fname == "legacyResourceId":
                return str(obj["num"])
            if fname == "inventoryLevels":
                levels = [{"item": obj, "loc": sh["locs"][lid]} for lid in obj["levels"]]
                levels.sort(key=lambda lv: lv["loc"]["num"])
                for lv in levels:
                    lv["num"] = lv["loc"]["num"]
                return self.paginate(levels, args, fname)
            if fname == "inventoryLevel":
                lid = args.get("locationId")
                if lid in obj["levels"]:
                    return {"item": obj, "loc": sh["locs"][lid], "num": sh["locs"][lid]["num"]}
                return None
            if fname == "variant":
                return obj["variant"]
        if tname == "InventoryLevel":
            it, loc = obj["item"], obj["loc"]
            if fname == "id":
                return "gid://shopify/InventoryLevel/%d?inventory_item_id=%d" % (loc["num"], it["num"])
            if fname == "location":
                return loc
            if fname == "item":
                return it
            if fname in ("createdAt", "updatedAt"):
                return it[fname]
            if fname == "quantities":
                out = []
                for name in args.get("names") or []:
                    out.append({"id": "gid://shopify/InventoryQuantity/%d?inventory_item_id=%d&name=%s"
                                      % (loc["num"], it["num"], name),
                                "name": name, "quantity": sh_quantity(it, loc["id"], name),
                                "updatedAt": it["updatedAt"]})
                return out
        if tname == "InventoryAdjustmentGroup" and fname == "changes":
            out = obj["changes"]
            if args.get("inventoryItemIds") is not None:
                out = [c for c in out if c["item"]["id"] in args["inventoryItemIds"]]
            if args.get("locationIds") is not None:
                out = [c for c in out if c["location"]["id"] in args["locationIds"]]
            if args.get("quantityNames") is not None:
                out = [c for c in out if c["name"] in args["quantityNames"]]
            return out
        if isinstance(obj, dict):
            return obj.get(fname)
        return None


def sh_quantity(item, loc_id, name):
    avail = item["levels"].get(loc_id, 0)
    committed = item["committed"].get(loc_id, 0)
    if name == "available":
        return avail
    if name == "committed":
        return committed
    if name == "on_hand":
        return avail + committed
    return 0


# --------------------------------------------------------------------------
# Shopify inventory rules
# --------------------------------------------------------------------------

# Reasons.  Source: https://shopify.dev/docs/apps/build/orders-fulfillment/inventory-management-apps/manage-quantities-states
# ("reason" must be one of the documented values).  correction, cycle_count_available,
# damaged, other, promotion, received, restock, shrinkage are confirmed by the reasons table
# (mirrored in Shopline's copy of the same reference); the movement_*, reservation_*,
# quality_control and safety_stock entries are UNVERIFIED.
SHOPIFY_REASONS = {
    "correction", "cycle_count_available", "damaged", "movement_canceled", "movement_created",
    "movement_received", "movement_updated", "other", "promotion", "quality_control", "received",
    "reservation_created", "reservation_deleted", "reservation_updated", "restock", "safety_stock",
    "shrinkage",
}

# Messages: the enum descriptions of
#   https://shopify.dev/docs/api/admin-graphql/latest/enums/InventorySetQuantitiesUserErrorCode
#   https://shopify.dev/docs/api/admin-graphql/latest/enums/InventoryAdjustQuantitiesUserErrorCode
MSG = {
    "CHANGE_FROM_QUANTITY_STALE": "The changeFromQuantity value does not match persisted value.",
    "COMPARE_QUANTITY_REQUIRED": "The compareQuantity argument must be given to each quantity or ignored using ignoreCompareQuantity.",
    "COMPARE_QUANTITY_STALE": "The compareQuantity value does not match persisted value.",
    "IDEMPOTENCY_CONCURRENT_REQUEST": "This request is currently in progress, please try again.",
    "IDEMPOTENCY_KEY_PARAMETER_MISMATCH": "The same idempotency key cannot be used with different operation parameters.",
    "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED": "A previous request with this idempotency key failed. Retry with a new idempotency key.",
    "INVALID_INVENTORY_ITEM": "The specified inventory item could not be found.",
    "INVALID_LOCATION": "The specified location could not be found.",
    "INVALID_NAME": "The quantity name must be either 'available' or 'on_hand'.",
    "INVALID_QUANTITY_NAME": "The specified quantity name is invalid.",
    "INVALID_QUANTITY_NEGATIVE": "The quantity can't be negative.",
    "INVALID_REASON": "The specified reason is invalid.",
    "INVALID_REFERENCE_DOCUMENT": "The specified reference document is invalid.",
    "INVALID_AVAILABLE_DOCUMENT": "A ledger document URI is not allowed when adjusting available.",
    "INVALID_QUANTITY_DOCUMENT": "A ledger document URI is required except when adjusting available.",
    "INVALID_LEDGER_DOCUMENT": "The specified ledger document is invalid.",
    "ITEM_NOT_STOCKED_AT_LOCATION": "The inventory item is not stocked at the location.",
    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR": "The combination of inventoryItemId and locationId must be unique.",
}
# Limits.  Set: "The total quantity can't be higher than 1,000,000,000" (InventorySetOnHandQuantities
# enum; the same bound for inventorySetQuantities is UNVERIFIED).  Adjust: results beyond
# +/-2,000,000,000 (InventoryAdjustQuantitiesUserErrorCode descriptions).
SET_MAX = 1_000_000_000
ADJUST_MAX = 2_000_000_000
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def user_error(code, field, message=None):
    return {"code": code, "field": field, "message": message or MSG.get(code, code)}


def api_version_strict(version):
    """changeFromQuantity and @idempotent are mandatory from 2026-04.

    Source: https://shopify.dev/changelog/making-idempotency-mandatory-for-inventory-adjustments-and-refund-mutations
    and the inventorySetQuantities description ("As of 2026-04, each quantity in quantities
    must include a changeFromQuantity value ... Omitting changeFromQuantity returns an error")
    at https://shopify.dev/docs/api/admin-graphql/latest/mutations/inventorySetQuantities
    """
    return version == "unstable" or version >= "2026-04"


# --------------------------------------------------------------------------
# State: loading, normalising, dumping, sample generation
# --------------------------------------------------------------------------

def _gid(kind, v, what):
    if isinstance(v, bool):
        raise BadState("%s: id must be a positive integer or gid://shopify/%s/N" % (what, kind))
    if isinstance(v, int):
        n = v
    elif isinstance(v, str) and re.fullmatch(r"\d+", v):
        n = int(v)
    elif isinstance(v, str) and re.fullmatch(r"gid://shopify/%s/\d+" % kind, v):
        n = int(v.rsplit("/", 1)[1])
    else:
        raise BadState("%s: id %r must be a positive integer or gid://shopify/%s/N" % (what, v, kind))
    if n <= 0:
        raise BadState("%s: id must be positive" % what)
    return "gid://shopify/%s/%d" % (kind, n), n


def _int(v, what, allow_none=False):
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise BadState("%s: expected an integer, got %r" % (what, v))
    return v


def load_state(obj):
    """Validate and normalise a state document into the internal model."""
    if not isinstance(obj, dict):
        raise BadState("state: top level must be an object")
    unknown = set(obj) - {"shopify", "woocommerce", "woo", "_comment"} - set(PLATFORMS)
    if unknown:
        raise BadState("state: unknown top-level key(s): %s" % ", ".join(sorted(unknown)))
    st = {"shopify": OrderedDict(), "woocommerce": OrderedDict()}
    for pname, mod in PLATFORMS.items():  # plugin platforms (tests/sim/platforms/)
        sec = obj.get(pname) or {}
        if not isinstance(sec, dict):
            raise BadState("state.%s must be an object of stores" % pname)
        for store in sec:
            if not isinstance(store, str) or not STORE_RE.fullmatch(store):
                raise BadState("%s.%s: store names are [A-Za-z0-9._-]" % (pname, store))
        st[pname] = mod.load(sec)
    shops = obj.get("shopify") or {}
    if not isinstance(shops, dict):
        raise BadState("state.shopify must be an object of shops")
    for idx, (name, s) in enumerate(shops.items(), 1):
        what = "shopify.%s" % name
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            raise BadState("%s: shop names are [A-Za-z0-9._-]" % what)
        if not isinstance(s, dict):
            raise BadState("%s must be an object" % what)
        tokens = s.get("tokens") or ([s["token"]] if s.get("token") else [])
        if not tokens or not all(isinstance(t, str) and t for t in tokens):
            raise BadState("%s: needs \"token\" (or \"tokens\")" % what)
        bucket = s.get("bucket")
        if bucket is not None and not (isinstance(bucket, dict) and set(bucket) <= {"size", "restore_rate"}):
            raise BadState("%s.bucket must be {\"size\": N, \"restore_rate\": N}" % what)
        shop = {"name": name, "shop_num": idx, "tokens": list(tokens), "bucket": bucket,
                "locs": OrderedDict(), "items": OrderedDict(), "adj_seq": 0}
        for j, l in enumerate(s.get("locations") or []):
            lw = "%s.locations[%d]" % (what, j)
            if not isinstance(l, dict):
                raise BadState(lw + " must be an object")
            gid, n = _gid("Location", l.get("id"), lw)
            if gid in shop["locs"]:
                raise BadState("%s: duplicate location %s" % (lw, gid))
            shop["locs"][gid] = {"id": gid, "num": n, "name": str(l.get("name") or "Location %d" % n),
                                 "isActive": bool(l.get("active", l.get("isActive", True)))}
        skus = set()
        for j, it in enumerate(s.get("items") or []):
            iw = "%s.items[%d]" % (what, j)
            if not isinstance(it, dict):
                raise BadState(iw + " must be an object")
            gid, n = _gid("InventoryItem", it.get("id"), iw)
            if gid in shop["items"]:
                raise BadState("%s: duplicate item %s" % (iw, gid))
            sku = it.get("sku")
            if sku is not None and not isinstance(sku, str):
                raise BadState("%s.sku must be a string or null" % iw)
            if sku:
                skus.add(sku)
            levels = OrderedDict()
            for lk, q in (it.get("levels") or {}).items():
                lg, _ = _gid("Location", lk, iw + ".levels")
                if lg not in shop["locs"]:
                    raise BadState("%s.levels: unknown location %s" % (iw, lk))
                levels[lg] = _int(q, "%s.levels[%s]" % (iw, lk))
            committed = {}
            for lk, q in (it.get("committed") or {}).items():
                lg, _ = _gid("Location", lk, iw + ".committed")
                if lg not in levels:
                    raise BadState("%s.committed: item not stocked at %s" % (iw, lk))
                committed[lg] = _int(q, "%s.committed[%s]" % (iw, lk))
            created = it.get("created_at") or "2026-01-01T00:00:00Z"
            vid = it.get("variant_id", n)
            shop["items"][gid] = {
                "id": gid, "num": n, "sku": sku, "tracked": bool(it.get("tracked", True)),
                "levels": levels, "committed": committed, "createdAt": created,
                "updatedAt": it.get("updated_at") or created,
                "variant": {"id": "gid://shopify/ProductVariant/%d" % _int(vid, iw + ".variant_id"),
                            "sku": sku, "title": str(it.get("title") or "Default Title"),
                            "displayName": str(it.get("title") or sku or "Item %d" % n)},
            }
        shop["loc_list"] = sorted(shop["locs"].values(), key=lambda l: l["num"])
        shop["item_list"] = sorted(shop["items"].values(), key=lambda i: i["num"])
        st["shopify"][name] = shop
    sites = obj.get("woocommerce") or obj.get("woo") or {}
    if not isinstance(sites, dict):
        raise BadState("state.woocommerce must be an object of sites")
    for name, s in sites.items():
        what = "woocommerce.%s" % name
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            raise BadState("%s: site names are [A-Za-z0-9._-]" % what)
        if not isinstance(s, dict):
            raise BadState("%s must be an object" % what)
        keys = s.get("keys") or ([{"consumer_key": s.get("consumer_key"), "consumer_secret": s.get("consumer_secret"),
                                   "permissions": s.get("permissions", "read_write")}]
                                 if s.get("consumer_key") else [])
        if not keys:
            raise BadState("%s: needs consumer_key and consumer_secret" % what)
        for k in keys:
            if not (isinstance(k, dict) and isinstance(k.get("consumer_key"), str) and
                    isinstance(k.get("consumer_secret"), str) and k["consumer_key"] and k["consumer_secret"]):
                raise BadState("%s: each key needs consumer_key and consumer_secret" % what)
            if k.get("permissions", "read_write") not in ("read", "write", "read_write"):
                raise BadState("%s: permissions must be read, write or read_write" % what)
        site = {"name": name, "keys": [dict(k, permissions=k.get("permissions", "read_write")) for k in keys],
                "manage_stock": bool(s.get("manage_stock", True)), "products": OrderedDict(), "index": {}}
        for j, p in enumerate(s.get("products") or []):
            pw = "%s.products[%d]" % (what, j)
            prod = _woo_obj(p, pw, None)
            if prod["id"] in site["index"]:
                raise BadState("%s: duplicate id %d" % (pw, prod["id"]))
            site["products"][prod["id"]] = prod
            site["index"][prod["id"]] = (prod, None)
            for k, v in enumerate(p.get("variations") or []):
                vw = "%s.variations[%d]" % (pw, k)
                if prod["type"] != "variable":
                    raise BadState("%s: only variable products have variations" % vw)
                var = _woo_obj(v, vw, prod)
                if var["id"] in site["index"]:
                    raise BadState("%s: duplicate id %d" % (vw, var["id"]))
                prod["variations"].append(var)
                site["index"][var["id"]] = (var, prod)
        st["woocommerce"][name] = site
    return st


def _woo_obj(p, what, parent):
    if not isinstance(p, dict):
        raise BadState(what + " must be an object")
    pid = _int(p.get("id"), what + ".id")
    if pid <= 0:
        raise BadState(what + ".id must be positive")
    typ = "variation" if parent is not None else p.get("type", "simple")
    if typ not in ("simple", "variable", "grouped", "external", "variation"):
        raise BadState("%s.type must be simple, variable, grouped or external" % what)
    ms = p.get("manage_stock", True if typ in ("simple", "variation") else False)
    if not isinstance(ms, bool):
        raise BadState("%s.manage_stock must be true or false" % what)
    qty = _int(p.get("stock_quantity"), what + ".stock_quantity", allow_none=True)
    if ms and qty is None:
        qty = 0
    if not ms:
        qty = None
    sku = p.get("sku", "")
    if sku is None:
        sku = ""
    if not isinstance(sku, str):
        raise BadState(what + ".sku must be a string")
    created = p.get("date_created") or "2026-01-01T00:00:00"
    o = {"id": pid, "type": typ, "sku": sku,
         "name": str(p.get("name") or (sku or "Product %d" % pid)),
         "status": p.get("status", "publish"), "manage_stock": ms, "stock_quantity": qty,
         "stock_status": p.get("stock_status", "instock"), "backorders": p.get("backorders", "no"),
         "regular_price": str(p.get("regular_price", "")), "date_created": created,
         "date_modified": p.get("date_modified") or created, "menu_order": _int(p.get("menu_order", 0), what)}
    if o["stock_status"] not in ("instock", "outofstock", "onbackorder"):
        raise BadState(what + ".stock_status must be instock, outofstock or onbackorder")
    if o["backorders"] not in ("no", "notify", "yes"):
        raise BadState(what + ".backorders must be no, notify or yes")
    if parent is None:
        o["variations"] = []
    if typ == "variation":
        o["attributes"] = p.get("attributes") or []
    return o


def dump_state(st):
    """The internal model back in the state-file shape (round-trips through load_state)."""
    out = {"shopify": OrderedDict(), "woocommerce": OrderedDict()}
    for name, sh in st["shopify"].items():
        d = OrderedDict()
        d["tokens"] = list(sh["tokens"])
        if sh["bucket"]:
            d["bucket"] = dict(sh["bucket"])
        d["locations"] = [{"id": l["id"], "name": l["name"], "active": l["isActive"]} for l in sh["loc_list"]]
        items = []
        for it in sh["item_list"]:
            e = OrderedDict([("id", it["id"]), ("sku", it["sku"]), ("levels", dict(it["levels"]))])
            if it["committed"]:
                e["committed"] = dict(it["committed"])
            if not it["tracked"]:
                e["tracked"] = False
            e["variant_id"] = int(it["variant"]["id"].rsplit("/", 1)[1])
            e["title"] = it["variant"]["title"]
            e["created_at"] = it["createdAt"]
            e["updated_at"] = it["updatedAt"]
            items.append(e)
        d["items"] = items
        out["shopify"][name] = d
    for name, site in st["woocommerce"].items():
        d = OrderedDict()
        d["keys"] = [dict(k) for k in site["keys"]]
        d["manage_stock"] = site["manage_stock"]
        prods = []
        for p in site["products"].values():
            e = _woo_dump_obj(p)
            if p["type"] == "variable":
                e["variations"] = [_woo_dump_obj(v) for v in p["variations"]]
            prods.append(e)
        d["products"] = prods
        out["woocommerce"][name] = d
    for pname, mod in PLATFORMS.items():
        out[pname] = mod.dump(st[pname])
    return out


def _woo_dump_obj(p):
    e = OrderedDict()
    for k in ("id", "type", "sku", "name", "status", "manage_stock", "stock_quantity", "stock_status",
              "backorders", "regular_price", "date_created", "date_modified", "menu_order"):
        if k == "type" and p["type"] == "variation":
            continue
        e[k] = p[k]
    if p["type"] == "variation" and p.get("attributes"):
        e["attributes"] = p["attributes"]
    return e


def sample_state(n, seed):
    """A deterministic sample: Shopify shop "demo" and WooCommerce site "demo", n items each."""
    rng = random.Random("invkit-sim-sample-%s" % seed)
    qtys = [0, 0, 1, 2, 3, 5, 8, 10, 12, 20, 35, 50]
    items = []
    for i in range(1, n + 1):
        levels = {"1": rng.choice(qtys)}
        if i % 5:
            levels["2"] = rng.choice(qtys)
        items.append({"id": 1000 + i, "sku": "SKU-%05d" % i, "levels": levels, "title": "Item %d" % i,
                      "created_at": "2026-01-01T00:%02d:%02dZ" % ((i // 60) % 60, i % 60)})
    shop = {"token": "shpat_sim_demo", "locations": [{"id": 1, "name": "Main warehouse"},
                                                     {"id": 2, "name": "Shop floor"}], "items": items}
    prods = []
    pid = 100
    for i in range(1, n + 1):
        sku = "WOO-%05d" % i
        if i % 5 == 0:
            parent = {"id": pid, "type": "variable", "sku": sku, "name": "Variable %d" % i,
                      "manage_stock": False, "variations": []}
            pid += 1
            for size in ("S", "M", "L"):
                parent["variations"].append({"id": pid, "sku": "%s-%s" % (sku, size), "manage_stock": True,
                                             "stock_quantity": rng.choice(qtys),
                                             "attributes": [{"id": 0, "name": "Size", "option": size}]})
                pid += 1
            prods.append(parent)
        elif i % 7 == 0:
            prods.append({"id": pid, "type": "simple", "sku": sku, "name": "Unmanaged %d" % i,
                          "manage_stock": False})
            pid += 1
        else:
            prods.append({"id": pid, "type": "simple", "sku": sku, "name": "Simple %d" % i,
                          "manage_stock": True, "stock_quantity": rng.choice(qtys)})
            pid += 1
    site = {"consumer_key": "ck_sim_demo", "consumer_secret": "cs_sim_demo", "products": prods}
    doc = {"shopify": {"demo": shop}, "woocommerce": {"demo": site}}
    for pname, mod in PLATFORMS.items():
        doc[pname] = mod.sample(n, seed)
    return doc


# --------------------------------------------------------------------------
# Shopify cost bucket
# --------------------------------------------------------------------------
# Source: https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits
# (leaky bucket per app+store; 100 points/s Standard, 200 Advanced, 1000 Plus, 2000
# Enterprise; every response carries extensions.cost {requestedQueryCost, actualQueryCost,
# throttleStatus {maximumAvailable, currentlyAvailable, restoreRate}}).  The default bucket
# size 2000 (20 s of restore) is UNVERIFIED.  Throttled answer shape: errors[{message:
# "Throttled", extensions:{code:"THROTTLED", documentation}}] with cost and actualQueryCost
# null, as recorded in public example responses; HTTP 200 vs 429 is UNVERIFIED (knob).

class Bucket:
    def __init__(self, size, rate):
        self.size = float(size)
        self.rate = float(rate)
        self.avail = float(size)
        self.t = time.monotonic()

    def refill(self):
        now = time.monotonic()
        self.avail = min(self.size, self.avail + (now - self.t) * self.rate)
        self.t = now

    def take(self, cost):
        self.refill()
        if self.avail < cost:
            return False
        self.avail -= cost
        return True

    def refund(self, n):
        self.refill()
        self.avail = min(self.size, self.avail + n)

    def status(self):
        self.refill()
        return OrderedDict([("maximumAvailable", float(self.size)),
                            ("currentlyAvailable", int(self.avail)),
                            ("restoreRate", float(self.rate))])

    def wait_for(self, cost):
        self.refill()
        if self.rate <= 0:
            return 3600
        return max(0.0, (cost - self.avail) / self.rate)


# --------------------------------------------------------------------------
# The simulator: state, knobs, logs, faults, sales, platform semantics
# --------------------------------------------------------------------------

DEFAULT_CONFIG = OrderedDict([
    ("bucket_size", 2000.0),       # Shopify maximumAvailable (UNVERIFIED default, see Bucket)
    ("restore_rate", 100.0),       # Shopify Standard plan: 100 points/s (documented)
    ("scale", 1.0),                # multiplies restore_rate so tests run fast
    ("max_query_cost", 1000),      # single-query maximum (UNVERIFIED, commonly documented as 1000)
    ("throttle_status", 200),      # HTTP status of a THROTTLED answer: 200 or 429
    ("stale_mode", "call"),        # CHANGE_FROM_QUANTITY_STALE fails the whole "call" or one "entry"
    ("idempotency_ttl", 86400.0),  # seconds an idempotency key is remembered (UNVERIFIED window)
    ("woo_batch_limit", 100),      # woocommerce_rest_batch_items_limit filter default (documented)
    ("woo_per_page_max", 100),     # WordPress REST per_page maximum (documented)
])

FAULT_KINDS = ("429", "500", "502", "503", "slow", "drop", "lost_answer", "fail_key", "huge", "deep")
RULE_KEYS = {"kind", "next", "skip", "every", "probability", "phase", "ms", "retry_after", "rst", "match",
             "body", "content_type", "bytes", "depth"}
MATCH_KEYS = {"platform", "shop", "method", "path", "op", "write"}


class SimError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def _num(v, what, lo=None, hi=None, integer=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise SimError(400, "%s must be a number" % what)
    if integer and not float(v).is_integer():
        raise SimError(400, "%s must be an integer" % what)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise SimError(400, "%s must be between %s and %s" % (what, lo, hi))
    return int(v) if integer else float(v)


def normalize_rule(r):
    if not isinstance(r, dict):
        raise SimError(400, "a fault rule must be an object")
    bad = set(r) - RULE_KEYS
    if bad:
        raise SimError(400, "unknown fault rule key(s): %s" % ", ".join(sorted(bad)))
    kind = str(r.get("kind", ""))
    if kind not in FAULT_KINDS:
        raise SimError(400, "fault kind must be one of %s" % ", ".join(FAULT_KINDS))
    out = {"kind": kind, "next": None, "skip": 0, "every": None, "probability": None,
           "phase": "after" if kind == "lost_answer" else "before", "ms": 0, "retry_after": None,
           "rst": False, "match": {}, "body": None, "content_type": None, "seen": 0, "fired": 0}
    if r.get("next") is not None:
        out["next"] = _num(r["next"], "next", 1, 10 ** 9, True)
    if r.get("skip") is not None:
        out["skip"] = _num(r["skip"], "skip", 0, 10 ** 9, True)
    if r.get("every") is not None:
        out["every"] = _num(r["every"], "every", 1, 10 ** 9, True)
    if r.get("probability") is not None:
        out["probability"] = _num(r["probability"], "probability", 0, 1)
    if r.get("phase") is not None:
        if r["phase"] not in ("before", "after"):
            raise SimError(400, "phase must be before or after")
        if kind in ("lost_answer", "fail_key") and r["phase"] != out["phase"]:
            raise SimError(400, "%s has a fixed phase" % kind)
        out["phase"] = r["phase"]
    if kind == "slow":
        out["ms"] = _num(r.get("ms", 1000), "ms", 0, 600000, True)
    # hostile answers (not platform behaviour): a body of `bytes` bytes, or JSON nested `depth` deep
    if kind == "huge":
        out["bytes"] = _num(r.get("bytes", (64 << 20) + 1), "bytes", 16, 1 << 30, True)
    if kind == "deep":
        out["depth"] = _num(r.get("depth", 100000), "depth", 1, 10 ** 7, True)
    if r.get("retry_after") is not None:
        out["retry_after"] = _num(r["retry_after"], "retry_after", 0, 86400, True)
    elif kind == "429":
        out["retry_after"] = 1
    out["rst"] = bool(r.get("rst", False))
    m = r.get("match") or {}
    if not isinstance(m, dict) or set(m) - MATCH_KEYS:
        raise SimError(400, "match keys: %s" % ", ".join(sorted(MATCH_KEYS)))
    if "platform" in m and m["platform"] == "woocommerce":
        m = dict(m, platform="woo")
    if "platform" in m and m["platform"] not in ("shopify", "woo") + tuple(PLATFORMS):
        raise SimError(400, "match.platform must be one of %s" % ", ".join(("shopify", "woo") + tuple(PLATFORMS)))
    out["match"] = dict(m)
    if r.get("body") is not None:
        out["body"] = r["body"] if isinstance(r["body"], str) else json.dumps(r["body"])
        out["content_type"] = r.get("content_type") or ("application/json" if not isinstance(r["body"], str)
                                                        else "text/plain")
    return out


def normalize_sales(s):
    if s is None:
        return None
    if not isinstance(s, dict):
        raise SimError(400, "sales must be an object or null")
    bad = set(s) - {"every", "probability", "qty", "platform", "shop", "max", "allow_negative"}
    if bad:
        raise SimError(400, "unknown sales key(s): %s" % ", ".join(sorted(bad)))
    out = {"every": None, "probability": None, "qty": 1, "platform": None, "shop": None, "max": None,
           "allow_negative": bool(s.get("allow_negative", False)), "made": 0, "seen": 0}
    if s.get("every") is not None:
        out["every"] = _num(s["every"], "sales.every", 1, 10 ** 9, True)
    if s.get("probability") is not None:
        out["probability"] = _num(s["probability"], "sales.probability", 0, 1)
    if out["every"] is None and out["probability"] is None:
        raise SimError(400, "sales needs every or probability")
    out["qty"] = _num(s.get("qty", 1), "sales.qty", 1, 10 ** 6, True)
    if s.get("max") is not None:
        out["max"] = _num(s["max"], "sales.max", 0, 10 ** 9, True)
    p = s.get("platform")
    if p == "woocommerce":
        p = "woo"
    if p not in (None, "shopify", "woo") + tuple(PLATFORMS):
        raise SimError(400, "sales.platform must be one of %s" % ", ".join(("shopify", "woo") + tuple(PLATFORMS)))
    out["platform"] = p
    out["shop"] = s.get("shop")
    return out


class Req:
    """One platform API request as seen by the simulator."""

    def __init__(self, method, path, query, headers, body, host):
        self.method, self.path, self.query, self.headers, self.body, self.host = \
            method, path, query, headers, body, host
        self.rid = None
        self.platform = None
        self.shop = None
        self.version = None
        self.rest = None
        self.route = None
        self.ops = []
        self.is_write = False
        self.gql = None
        self.gql_error = None
        self.gql_body = None
        self.idem_keys = []
        self.inflight = []
        self.notes = []
        self.cost = None
        self.replayed = False
        self.sale = None
        self.logged = False
        self.fault = None
        self.t0 = time.monotonic()
        self.logpath = path


def _settle_heap():
    """Move the (large, long-lived) state out of the cyclic GC's sight: without this a
    20,000-item state makes every full collection pause a request for ~0.3 s."""
    gc.collect()
    gc.freeze()


class Sim:
    def __init__(self, state, seed, config, verbose=False):
        self.lock = threading.RLock()
        self.seed = seed
        self.verbose = verbose
        self.base_config = OrderedDict(config)
        self.initial = state
        self.stop_event = threading.Event()
        self.req_counter = 0
        self.started = time.time()
        self.reset()

    # -- state & knobs -----------------------------------------------------------
    def reset(self):
        with self.lock:
            self.state = copy.deepcopy(self.initial)
            self.config = OrderedDict(self.base_config)
            self.rng = random.Random(self.seed)
            self.rules = []
            self.sales = None
            self.api_count = 0
            self.log_seq = 0
            self.requests = []
            self.writes = []
            self.idem = {}
            self.inflight = set()
            self.buckets = {}
            self.woo_gen = {}
            self.woo_cache = {}
            self.woo_ids = {}
            self.plugin_rt = {}
            _settle_heap()

    def replace_state(self, st, initial=False):
        with self.lock:
            self.state = st
            if initial:
                self.initial = copy.deepcopy(st)
            self.idem = {}
            self.buckets = {}
            self.woo_gen = {}
            self.woo_cache = {}
            self.woo_ids = {}
            self.plugin_rt = {}
            _settle_heap()

    def woo_touch(self, site):
        """A WooCommerce site changed: listing caches for it are stale."""
        self.woo_gen[site["name"]] = self.woo_gen.get(site["name"], 0) + 1

    def set_config(self, changes):
        if not isinstance(changes, dict):
            raise SimError(400, "config must be an object")
        new = OrderedDict(self.config)
        for k, v in changes.items():
            if k not in DEFAULT_CONFIG:
                raise SimError(400, "unknown config key %s (known: %s)" % (k, ", ".join(DEFAULT_CONFIG)))
            if k == "stale_mode":
                if v not in ("call", "entry"):
                    raise SimError(400, "stale_mode must be call or entry")
            elif k == "throttle_status":
                if v not in (200, 429):
                    raise SimError(400, "throttle_status must be 200 or 429")
            elif k in ("max_query_cost", "woo_batch_limit", "woo_per_page_max"):
                v = _num(v, k, 1, 10 ** 9, True)
            elif k in PLUGIN_KNOBS:  # a plugin's knob: a number, whole when its default is
                v = _num(v, k, 0, 10 ** 9, isinstance(DEFAULT_CONFIG[k], int))
            else:
                v = _num(v, k, 0.0001 if k == "scale" else 0, 10 ** 9)
            new[k] = v
        with self.lock:
            self.config = new
            self.buckets = {}
            self.plugin_rt = {}
        return self.config

    def bucket(self, shop):
        b = self.buckets.get(shop["name"])
        if b is None:
            over = shop.get("bucket") or {}
            size = float(over.get("size", self.config["bucket_size"]))
            rate = float(over.get("restore_rate", self.config["restore_rate"])) * float(self.config["scale"])
            b = self.buckets[shop["name"]] = Bucket(size, rate)
        return b

    # -- logs --------------------------------------------------------------------
    def _seq(self):
        self.log_seq += 1
        return self.log_seq

    def log_write(self, **e):
        d = OrderedDict([("seq", self._seq()), ("ts", now_iso())])
        d.update(e)
        self.writes.append(d)

    def log_request(self, e):
        with self.lock:
            d = OrderedDict([("seq", self._seq()), ("ts", now_iso())])
            d.update(e)
            self.requests.append(d)

    # -- per request: counting, random sales, fault selection ------------------------
    def begin(self, req):
        with self.lock:
            self.req_counter += 1
            req.rid = "sim-%06d" % self.req_counter
            self.api_count += 1
            s = self.sales
            if s and (s["platform"] in (None, req.platform)) and (s["shop"] in (None, req.shop)):
                s["seen"] += 1
                fire = False
                if s["every"] is not None:
                    fire = s["seen"] % s["every"] == 0
                if s["probability"] is not None:
                    fire = self.rng.random() < s["probability"] if s["every"] is None else \
                        fire and self.rng.random() < s["probability"]
                if fire and (s["max"] is None or s["made"] < s["max"]):
                    sale = self.random_sale(s, req.rid)
                    if sale:
                        s["made"] += 1
                        req.sale = sale
            return self.choose_fault(req)

    def _matches(self, rule, req):
        m = rule["match"]
        if "platform" in m and m["platform"] != req.platform:
            return False
        if "shop" in m and m["shop"] != req.shop:
            return False
        if "method" in m and str(m["method"]).upper() != req.method:
            return False
        if "path" in m and str(m["path"]) not in req.path:
            return False
        if "op" in m and m["op"] not in req.ops:
            return False
        if "write" in m and bool(m["write"]) != req.is_write:
            return False
        if rule["kind"] == "fail_key":
            # only an authenticated Shopify mutation that carries an idempotency key
            shop = self.state["shopify"].get(req.shop) if req.platform == "shopify" else None
            token = (req.headers.get("X-Shopify-Access-Token") or "").encode()
            if not req.idem_keys or shop is None or \
                    not any(hmac.compare_digest(t.encode(), token) for t in shop["tokens"]):
                return False
        return True

    def choose_fault(self, req):
        for rule in self.rules:
            if not self._matches(rule, req):
                continue
            if rule["next"] is not None and rule["fired"] >= rule["next"]:
                continue
            if rule["skip"] > 0:
                rule["skip"] -= 1
                continue
            rule["seen"] += 1
            if rule["every"] is not None and rule["seen"] % rule["every"] != 0:
                continue
            if rule["probability"] is not None and self.rng.random() >= rule["probability"]:
                continue
            rule["fired"] += 1
            return dict(rule)
        return None

    def set_faults(self, body):
        if isinstance(body, list):
            body = {"rules": body}
        if not isinstance(body, dict):
            raise SimError(400, "faults body must be an object or a list of rules")
        bad = set(body) - {"rules", "sales", "append", "seed", "config"}
        if bad:
            raise SimError(400, "unknown faults key(s): %s" % ", ".join(sorted(bad)))
        rules = [normalize_rule(r) for r in (body.get("rules") or [])]
        sales = normalize_sales(body["sales"]) if "sales" in body else _MISSING
        if "seed" in body and not isinstance(body["seed"], (int, str)):
            raise SimError(400, "seed must be an integer or a string")
        if body.get("config") is not None:
            self.set_config(body["config"])
        with self.lock:
            if "seed" in body:
                self.rng = random.Random(body["seed"])
            self.rules = (self.rules + rules) if body.get("append") else rules
            if sales is not _MISSING:
                self.sales = sales
        return self.faults_view()

    def faults_view(self):
        with self.lock:
            rules = []
            for r in self.rules:
                d = {k: v for k, v in r.items() if v is not None}
                if r["next"] is not None:
                    d["remaining"] = max(0, r["next"] - r["fired"])
                rules.append(d)
            return {"rules": rules, "sales": self.sales, "requests_seen": self.api_count}

    # -- Shopify mutations ------------------------------------------------------------
    # Idempotency. Source: https://shopify.dev/docs/api/usage/implementing-idempotency and
    # https://shopify.dev/docs/api/usage/idempotent-requests : same key + same parameters ->
    # the original result, without repeating the operation; same key + other parameters ->
    # IDEMPOTENCY_KEY_PARAMETER_MISMATCH; in progress -> IDEMPOTENCY_CONCURRENT_REQUEST; an
    # earlier attempt that failed -> IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED (enum descriptions
    # in InventorySetQuantitiesUserErrorCode).  Keys are per shop here; the retention window
    # is a knob (idempotency_ttl, UNVERIFIED).  A result that carried userErrors is replayed
    # as it was, and idempotency userErrors carry "field": null (both UNVERIFIED).
    def sh_mutation(self, shop, fname, inp, key, req, strict):
        store = self.idem.setdefault(shop["name"], {})
        fp = json.dumps({"op": fname, "input": inp}, sort_keys=True)
        if key:
            ttl = float(self.config["idempotency_ttl"])
            now = time.time()
            for k in [k for k, r in store.items() if now - r["at"] > ttl]:
                del store[k]
            ik = (shop["name"], key)
            if ik in self.inflight and ik not in req.inflight:
                return {"inventoryAdjustmentGroup": None,
                        "userErrors": [user_error("IDEMPOTENCY_CONCURRENT_REQUEST", None)]}
            rec = store.get(key)
            if rec is not None:
                if rec["failed"]:
                    return {"inventoryAdjustmentGroup": None,
                            "userErrors": [user_error("IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED", None)]}
                if rec["fp"] != fp:
                    return {"inventoryAdjustmentGroup": None,
                            "userErrors": [user_error("IDEMPOTENCY_KEY_PARAMETER_MISMATCH", None)]}
                req.replayed = True
                req.notes.append("idempotent replay of %s" % key)
                return rec["result"]
            self.inflight.add(ik)
            req.inflight.append(ik)
        if fname == "inventorySetQuantities":
            result = self._sh_set(shop, inp, key, req, strict)
        else:
            result = self._sh_adjust(shop, inp, key, req)
        if key:
            store[key] = {"fp": fp, "result": result, "at": time.time(), "failed": False, "op": fname}
        return result

    def sh_fail_keys(self, shop_name, keys, req):
        """fail_key fault: remember the keys as failed attempts (nothing applied)."""
        store = self.idem.setdefault(shop_name, {})
        for key in keys:
            if key and key not in store:
                store[key] = {"fp": None, "result": None, "at": time.time(), "failed": True, "op": None}
                req.notes.append("idempotency key %s recorded as failed" % key)

    def _group(self, shop, reason, ref, changes):
        shop["adj_seq"] += 1
        return {"id": "gid://shopify/InventoryAdjustmentGroup/%d" % (shop["shop_num"] * 1000000 + shop["adj_seq"]),
                "createdAt": now_iso(), "reason": reason, "referenceDocumentUri": ref, "changes": changes}

    def _sh_common(self, inp):
        errors = []
        if inp["reason"] not in SHOPIFY_REASONS:
            errors.append(user_error("INVALID_REASON", ["input", "reason"]))
        ref = inp.get("referenceDocumentUri")
        if ref is not None and not _URI_RE.match(ref):
            errors.append(user_error("INVALID_REFERENCE_DOCUMENT", ["input", "referenceDocumentUri"]))
        return errors

    def _sh_apply(self, shop, item, loc, name, new_named, kind, key, req, reason, ref, delta_in=None):
        """Write one level; returns the InventoryChange entries."""
        lid = loc["id"]
        committed = item["committed"].get(lid, 0)
        before_av = item["levels"][lid]
        if name == "available":
            new_av = new_named
            before_named = before_av
        else:
            new_av = new_named - committed
            before_named = before_av + committed
        delta = new_av - before_av
        item["levels"][lid] = new_av
        item["updatedAt"] = now_iso()
        self.log_write(kind=kind, platform="shopify", shop=shop["name"], item=item["id"], sku=item["sku"],
                       location=lid, name=name, before=before_named, after=new_named, delta=delta,
                       idempotency_key=key, request_id=req.rid, reason=reason, reference=ref)
        if delta == 0:
            return []
        # Setting or adjusting "available" also moves "on_hand" (and vice versa); Shopify lists
        # both in inventoryAdjustmentGroup.changes (docs example responses).  Zero-delta entries
        # being omitted is UNVERIFIED.
        return [{"name": "available", "delta": delta, "quantityAfterChange": new_av, "ledgerDocumentUri": None,
                 "item": item, "location": loc},
                {"name": "on_hand", "delta": delta, "quantityAfterChange": new_av + committed,
                 "ledgerDocumentUri": None, "item": item, "location": loc}]

    def _sh_set(self, shop, inp, key, req, strict):
        # Source: https://shopify.dev/docs/api/admin-graphql/latest/mutations/inventorySetQuantities
        name = inp["name"]
        errors = self._sh_common(inp)
        if name not in ("available", "on_hand"):
            errors.insert(0, user_error("INVALID_NAME", ["input", "name"]))
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        plan, seen = [], set()
        for i, q in enumerate(inp["quantities"]):
            p = ["input", "quantities", str(i)]
            item = shop["items"].get(q["inventoryItemId"])
            loc = shop["locs"].get(q["locationId"])
            if item is None:
                errors.append(user_error("INVALID_INVENTORY_ITEM", p + ["inventoryItemId"]))
                continue
            if loc is None:
                errors.append(user_error("INVALID_LOCATION", p + ["locationId"]))
                continue
            if loc["id"] not in item["levels"]:
                errors.append(user_error("ITEM_NOT_STOCKED_AT_LOCATION", p + ["locationId"]))
                continue
            if (item["id"], loc["id"]) in seen:
                errors.append(user_error("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", p))
                continue
            seen.add((item["id"], loc["id"]))
            qty = q["quantity"]
            if qty > SET_MAX:
                errors.append(user_error("INVALID_QUANTITY_TOO_HIGH", p + ["quantity"],
                                         "The quantity can't be higher than 1,000,000,000."))
                continue
            if qty < -SET_MAX:
                errors.append(user_error("INVALID_QUANTITY_TOO_LOW", p + ["quantity"],
                                         "The quantity can't be lower than -1,000,000,000."))
                continue
            if name == "on_hand" and qty < 0:
                errors.append(user_error("INVALID_QUANTITY_NEGATIVE", p + ["quantity"]))
                continue
            current = sh_quantity(item, loc["id"], name)
            # Compare-and-set.  Source: InventoryQuantityInput.changeFromQuantity ("Explicitly passing
            # in null ... opts out of the quantity comparison check") and the 2026-04 rule that it
            # must be present; before 2026-04 compareQuantity/ignoreCompareQuantity applied.
            # Source: https://shopify.dev/docs/api/admin-graphql/latest/input-objects/InventoryQuantityInput
            # The error code for an omitted changeFromQuantity is UNVERIFIED (COMPARE_QUANTITY_REQUIRED).
            if "changeFromQuantity" in q:
                expect, code, fld = q["changeFromQuantity"], "CHANGE_FROM_QUANTITY_STALE", "changeFromQuantity"
            elif strict:
                errors.append(user_error("COMPARE_QUANTITY_REQUIRED", p + ["changeFromQuantity"],
                                         "changeFromQuantity must be given for each quantity (null opts out "
                                         "of the check)."))
                continue
            elif inp.get("ignoreCompareQuantity"):
                expect, code, fld = None, None, None
            elif q.get("compareQuantity") is not None:
                expect, code, fld = q["compareQuantity"], "COMPARE_QUANTITY_STALE", "compareQuantity"
            else:
                errors.append(user_error("COMPARE_QUANTITY_REQUIRED", p + ["compareQuantity"]))
                continue
            if expect is not None and expect != current:
                errors.append(user_error(code, p + [fld]))
                continue
            plan.append((item, loc, qty))
        # Whether one stale entry fails the whole call is UNVERIFIED: knob stale_mode
        # ("call": any userError -> nothing applied; "entry": the valid entries apply).
        if errors and self.config["stale_mode"] == "call":
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        if not plan and errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        changes = []
        for item, loc, qty in plan:
            changes.extend(self._sh_apply(shop, item, loc, name, qty, "set", key, req, inp["reason"],
                                          inp.get("referenceDocumentUri")))
        return {"inventoryAdjustmentGroup": self._group(shop, inp["reason"], inp.get("referenceDocumentUri"),
                                                        changes), "userErrors": errors}

    def _sh_adjust(self, shop, inp, key, req):
        # Source: https://shopify.dev/docs/api/admin-graphql/latest/mutations/inventoryAdjustQuantities
        name = inp["name"]
        errors = self._sh_common(inp)
        if name not in QUANTITY_NAMES:
            errors.insert(0, user_error("INVALID_QUANTITY_NAME", ["input", "name"]))
        elif name not in ("available", "on_hand"):
            errors.insert(0, user_error("INVALID_QUANTITY_NAME", ["input", "name"],
                                        "The simulator only models the available and on_hand quantities."))
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        plan = []
        pending = {}
        for i, c in enumerate(inp["changes"]):
            p = ["input", "changes", str(i)]
            item = shop["items"].get(c["inventoryItemId"])
            loc = shop["locs"].get(c["locationId"])
            if item is None:
                errors.append(user_error("INVALID_INVENTORY_ITEM", p + ["inventoryItemId"]))
                continue
            if loc is None:
                errors.append(user_error("INVALID_LOCATION", p + ["locationId"]))
                continue
            if loc["id"] not in item["levels"]:
                errors.append(user_error("ITEM_NOT_STOCKED_AT_LOCATION", p + ["locationId"]))
                continue
            ledger = c.get("ledgerDocumentUri")
            # Source: InventoryChangeInput.ledgerDocumentUri: "required for all quantity names
            # except available ... isn't supported for use with an available quantity name."
            if name == "available" and ledger is not None:
                errors.append(user_error("INVALID_AVAILABLE_DOCUMENT", p + ["ledgerDocumentUri"]))
                continue
            if name != "available":
                if ledger is None:
                    errors.append(user_error("INVALID_QUANTITY_DOCUMENT", p + ["ledgerDocumentUri"]))
                    continue
                if ledger.startswith("gid://shopify/") or not _URI_RE.match(ledger):
                    errors.append(user_error("INVALID_LEDGER_DOCUMENT", p + ["ledgerDocumentUri"]))
                    continue
            pk = (item["id"], loc["id"])
            current = pending.get(pk, sh_quantity(item, loc["id"], name))
            cfq = c.get("changeFromQuantity")
            if cfq is not None and cfq != current:
                errors.append(user_error("CHANGE_FROM_QUANTITY_STALE", p + ["changeFromQuantity"],
                                         "The changeFromQuantity argument no longer matches the persisted quantity."))
                continue
            new = current + c["delta"]
            if new > ADJUST_MAX:
                errors.append(user_error("INVALID_QUANTITY_TOO_HIGH", p + ["delta"],
                                         "The quantity can't be higher than 2,000,000,000."))
                continue
            if new < -ADJUST_MAX:
                errors.append(user_error("INVALID_QUANTITY_TOO_LOW", p + ["delta"],
                                         "The quantity can't be lower than -2,000,000,000."))
                continue
            pending[pk] = new
            plan.append((item, loc, c["delta"], ledger))
        if errors and self.config["stale_mode"] == "call":
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        if not plan and errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        changes = []
        for item, loc, delta, ledger in plan:
            cur = sh_quantity(item, loc["id"], name)
            ch = self._sh_apply(shop, item, loc, name, cur + delta, "adjust", key, req, inp["reason"],
                                inp.get("referenceDocumentUri"))
            for e in ch:
                if e["name"] == name and name != "available":
                    e["ledgerDocumentUri"] = ledger
            changes.extend(ch)
        return {"inventoryAdjustmentGroup": self._group(shop, inp["reason"], inp.get("referenceDocumentUri"),
                                                        changes), "userErrors": errors}

    # -- sales ---------------------------------------------------------------------------
    def _sale_candidates(self, platform, shop_name, qty, allow_negative):
        out = []
        if platform in (None, "shopify"):
            for sname, sh in self.state["shopify"].items():
                if shop_name not in (None, sname):
                    continue
                for it in sh["item_list"]:
                    for lid, q in it["levels"].items():
                        if q >= qty or (allow_negative and q > 0):
                            out.append(("shopify", sname, it["id"], lid))
        if platform in (None, "woo"):
            for sname, site in self.state["woocommerce"].items():
                if shop_name not in (None, sname) or not site["manage_stock"]:
                    continue
                for oid in sorted(site["index"]):
                    o, parent = site["index"][oid]
                    if o["type"] in ("grouped", "external") or not o["manage_stock"]:
                        continue
                    q = o["stock_quantity"] or 0
                    if q >= qty or (allow_negative and q > 0):
                        out.append(("woo", sname, oid, ""))
        for pname, mod in PLATFORMS.items():
            if platform in (None, pname):
                for sname in self.state[pname]:
                    if shop_name in (None, sname):
                        out.extend((pname, sname) + tuple(t) for t in
                                   mod.sale_targets(self, self.state[pname], sname, qty, allow_negative))
        return out

    def _sale_sample(self, cfg):
        """Pick a random in-stock target quickly (a few random probes, then a full scan)."""
        qty, neg = cfg["qty"], cfg["allow_negative"]
        pools = []
        if cfg["platform"] in (None, "shopify"):
            for sname, sh in self.state["shopify"].items():
                if cfg["shop"] in (None, sname) and sh["item_list"]:
                    pools.append(("shopify", sname, sh["item_list"]))
        if cfg["platform"] in (None, "woo"):
            for sname, site in self.state["woocommerce"].items():
                if cfg["shop"] in (None, sname) and site["manage_stock"] and site["index"]:
                    ids = self.woo_ids.get(sname)
                    if ids is None or len(ids) != len(site["index"]):
                        ids = self.woo_ids[sname] = sorted(site["index"])
                    pools.append(("woo", sname, ids))
        for pname, mod in PLATFORMS.items():
            if cfg["platform"] in (None, pname):
                for sname in self.state[pname]:
                    if cfg["shop"] in (None, sname):
                        t = mod.sale_targets(self, self.state[pname], sname, qty, neg)
                        if t:
                            pools.append((pname, sname, t))
        total = sum(len(p[2]) for p in pools)
        for _ in range(64 if total else 0):
            k = self.rng.randrange(total)
            for platform, sname, pool in pools:
                if k < len(pool):
                    break
                k -= len(pool)
            if platform in PLATFORMS:
                return (platform, sname) + tuple(pool[k])
            if platform == "shopify":
                it = pool[k]
                lids = [l for l, q in it["levels"].items() if q >= qty or (neg and q > 0)]
                if lids:
                    return platform, sname, it["id"], self.rng.choice(lids)
            else:
                o, parent = self.state["woocommerce"][sname]["index"][pool[k]]
                if o["type"] not in ("grouped", "external") and o["manage_stock"]:
                    q = o["stock_quantity"] or 0
                    if q >= qty or (neg and q > 0):
                        return platform, sname, o["id"], ""
        cands = self._sale_candidates(cfg["platform"], cfg["shop"], qty, neg)
        return self.rng.choice(cands) if cands else None

    def random_sale(self, cfg, rid):
        pick = self._sale_sample(cfg)
        if pick is None:
            return None
        platform, shop, item, loc = pick
        try:
            return self.sale(platform, shop, item=item, location=loc or None, qty=cfg["qty"],
                             allow_negative=cfg["allow_negative"], request_id=rid, source="random")
        except SimError:
            return None

    def sale(self, platform, shop, sku=None, item=None, location=None, qty=1, allow_negative=False,
             request_id=None, source="control"):
        """Decrement stock as an order would.  Raises SimError."""
        with self.lock:
            if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
                raise SimError(400, "qty must be a positive integer")
            if platform is None:
                inshop = shop in self.state["shopify"]
                inwoo = shop in self.state["woocommerce"]
                inplug = [p for p in PLATFORMS if shop in self.state[p]]
                if inshop + inwoo + len(inplug) > 1:
                    raise SimError(400, "shop %s exists on several platforms: give \"platform\"" % shop)
                platform = "shopify" if inshop else "woo" if inwoo else inplug[0] if inplug else None
            if platform == "woocommerce":
                platform = "woo"
            if platform in PLATFORMS:
                if shop not in self.state[platform]:
                    raise SimError(404, "no %s store %s" % (platform, shop))
                rec = PLATFORMS[platform].sale(self, self.state[platform], shop, sku=sku, item=item,
                                               location=location, qty=qty, allow_negative=allow_negative)
            elif platform == "shopify":
                sh = self.state["shopify"].get(shop)
                if sh is None:
                    raise SimError(404, "no Shopify shop %s" % shop)
                it = None
                if item is not None:
                    try:
                        it = sh["items"].get(_gid("InventoryItem", item, "item")[0])
                    except BadState:
                        it = None
                elif sku is not None:
                    it = next((x for x in sh["item_list"] if x["sku"] == sku), None)
                if it is None:
                    raise SimError(404, "no such item in shop %s" % shop)
                if location is not None:
                    try:
                        lid = _gid("Location", location, "location")[0]
                    except BadState:
                        raise SimError(404, "bad location %r" % (location,))
                    if lid not in it["levels"]:
                        raise SimError(409, "item not stocked at %s" % lid)
                else:
                    lids = sorted(it["levels"], key=lambda l: (-it["levels"][l], sh["locs"][l]["num"]))
                    if not lids:
                        raise SimError(409, "item is not stocked anywhere")
                    lid = lids[0]
                before = it["levels"][lid]
                if before < qty and not allow_negative:
                    raise SimError(409, "insufficient stock: %d available" % before)
                it["levels"][lid] = before - qty
                it["updatedAt"] = now_iso()
                rec = OrderedDict([("platform", "shopify"), ("shop", shop), ("item", it["id"]), ("sku", it["sku"]),
                                   ("location", lid), ("before", before), ("after", before - qty), ("delta", -qty)])
            elif platform == "woo":
                site = self.state["woocommerce"].get(shop)
                if site is None:
                    raise SimError(404, "no WooCommerce site %s" % shop)
                o = parent = None
                if item is not None:
                    try:
                        o, parent = site["index"].get(int(item), (None, None))
                    except (TypeError, ValueError):
                        o = None
                elif sku is not None:
                    for oid in sorted(site["index"]):
                        if site["index"][oid][0]["sku"] == sku:
                            o, parent = site["index"][oid]
                            break
                if o is None:
                    raise SimError(404, "no such product or variation in site %s" % shop)
                target = o
                if o["type"] == "variation" and not o["manage_stock"] and parent["manage_stock"]:
                    target = parent
                if not site["manage_stock"] or not target["manage_stock"] or target["type"] in ("grouped", "external"):
                    raise SimError(409, "stock is not managed for %d" % o["id"])
                before = target["stock_quantity"] or 0
                if before < qty and not allow_negative:
                    raise SimError(409, "insufficient stock: %d in stock" % before)
                target["stock_quantity"] = before - qty
                target["date_modified"] = woo_now()
                self.woo_touch(site)
                rec = OrderedDict([("platform", "woo"), ("shop", shop), ("item", target["id"]),
                                   ("sku", target["sku"]), ("location", ""), ("before", before),
                                   ("after", before - qty), ("delta", -qty)])
            else:
                raise SimError(404, "no shop %s" % shop)
            self.log_write(kind="sale", source=source, request_id=request_id, **rec)
            return rec


def woo_now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


# --------------------------------------------------------------------------
# WooCommerce REST API v3
# --------------------------------------------------------------------------
# Sources:
#   https://woocommerce.github.io/woocommerce-rest-api-docs/#products (list/get/update/batch,
#     parameters per_page/page/sku/type/status/include/orderby/order, X-WP-Total,
#     X-WP-TotalPages, Link; product and variation properties)
#   https://woocommerce.github.io/woocommerce-rest-api-docs/#batch-update-products and
#     #batch-update-product-variations (the 100-item default is confirmed in the source below)
#   https://woocommerce.github.io/woocommerce-rest-api-docs/#product-variations
#   https://woocommerce.github.io/woocommerce-rest-api-docs/#authentication (HTTP Basic with
#     consumer key/secret; "consumer_key"/"consumer_secret" query string fallback)
#   WooCommerce source, plugins/woocommerce/includes/rest-api/Controllers/Version3/:
#     class-wc-rest-controller.php   check_batch_limit(): more than
#       apply_filters('woocommerce_rest_batch_items_limit', 100) create+update+delete items
#       -> WP_Error woocommerce_rest_request_entity_too_large "Unable to accept more than %s
#       items for this request." status 413; batch_items(): per item either the object or
#       {"id": ..., "error": {"code","message","data"}} and HTTP 200.
#     class-wc-rest-crud-controller.php  get_item(): woocommerce_rest_{post_type}_invalid_id
#       "Invalid ID." 404; update_item(): the same code with status 400; get_items():
#       X-WP-Total, X-WP-TotalPages, Link rel="prev"/"next" built from the query params.
#     class-wc-rest-products-controller.php (prepare_object_for_database): stock fields only
#       when the woocommerce_manage_stock option is "yes"; with manage_stock false the sent
#       stock_quantity is dropped (set_stock_quantity('')) and the answer is still 200;
#       stock_quantity goes through wc_stock_amount() (intval); inventory_delta likewise;
#       with a "sku" filter the query includes product_variation posts.
#     class-wc-rest-product-variations-controller.php: variation stock_quantity only when
#       get_manage_stock() is truthy (true, or 'parent' when the parent manages stock).
#     class-wc-rest-authentication.php: an unknown consumer key leaves the request
#       unauthenticated (then the permission check answers 401 woocommerce_rest_cannot_*);
#       a known key with the wrong secret -> woocommerce_rest_authentication_error
#       "Consumer secret is invalid." 401; a read-only key writing -> "The API key provided
#       does not have write permissions." 401.
#   WordPress REST: rest_no_route (404), rest_invalid_param (400) with data.params,
#     rest_invalid_json (400); per_page 1..100, page >= 1.
# Deviations: Basic auth is accepted over plain http (WooCommerce requires HTTPS for it and
# OAuth 1.0a otherwise); only stock-related fields are modelled; create/delete answer 501.

WOO_ROUTES = [
    (re.compile(r"^/products/?$"), "products", ("GET", "POST")),
    (re.compile(r"^/products/batch/?$"), "products/batch", ("POST", "PUT", "PATCH")),
    (re.compile(r"^/products/(?P<id>\d+)/?$"), "products/{id}", ("GET", "POST", "PUT", "PATCH", "DELETE")),
    (re.compile(r"^/products/(?P<pid>\d+)/variations/?$"), "variations", ("GET", "POST")),
    (re.compile(r"^/products/(?P<pid>\d+)/variations/batch/?$"), "variations/batch", ("POST", "PUT", "PATCH")),
    (re.compile(r"^/products/(?P<pid>\d+)/variations/(?P<id>\d+)/?$"), "variations/{id}",
     ("GET", "POST", "PUT", "PATCH", "DELETE")),
]
PRODUCT_ORDERBY = ["date", "modified", "id", "include", "title", "slug", "price", "popularity", "rating",
                   "menu_order"]
VARIATION_ORDERBY = ["date", "modified", "id", "include", "title", "slug", "menu_order"]


class Resp:
    def __init__(self, status, body=b"", headers=None, ctype="application/json; charset=UTF-8"):
        self.status = status
        self.body = body if isinstance(body, bytes) else jdump(body)
        self.headers = list(headers or [])
        if ctype:
            self.headers.insert(0, ("Content-Type", ctype))


def woo_error(code, message, status, **data):
    d = OrderedDict([("status", status)])
    d.update(data)
    return OrderedDict([("code", code), ("message", message), ("data", d)])


def woo_eresp(code, message, status, **data):
    return Resp(status, woo_error(code, message, status, **data))


def woo_no_route():
    return woo_eresp("rest_no_route", "No route was found matching the URL and request method.", 404)


def woo_effective(site, o, parent):
    """(manage_stock as the API shows it, stock_quantity as shown, the object holding the stock)."""
    if not site["manage_stock"] or o["type"] in ("grouped", "external"):
        return False, None, None
    if o["type"] == "variation":
        if o["manage_stock"]:
            return True, o["stock_quantity"], o
        if parent is not None and parent["manage_stock"]:
            return "parent", parent["stock_quantity"], parent
        return False, None, None
    if o["manage_stock"]:
        return True, o["stock_quantity"], o
    return False, None, None


def woo_stock_status(site, o, parent):
    if o["type"] == "variable" and o.get("variations"):
        kids = [woo_stock_status(site, v, o) for v in o["variations"]]
        if "instock" in kids:
            return "instock"
        return "onbackorder" if "onbackorder" in kids else "outofstock"
    managed, qty, holder = woo_effective(site, o, parent)
    if managed:
        if (qty or 0) > 0:
            return "instock"
        return "onbackorder" if holder["backorders"] != "no" else "outofstock"
    return o["stock_status"]


def _slug(s):
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-") or "product"


def woo_base(req):
    return "http://%s/woo/%s/wp-json/wc/v3" % (req.host, req.shop)


def woo_product_json(site, o, parent, req):
    """A product as /products shows it (variations too, when found through ?sku=)."""
    managed, qty, holder = woo_effective(site, o, parent)
    bo = (holder or o)["backorders"]
    status = woo_stock_status(site, o, parent)
    slug = _slug(o["name"])
    base = woo_base(req)
    d = OrderedDict([
        ("id", o["id"]), ("name", o["name"]), ("slug", slug),
        ("permalink", "http://%s/woo/%s/product/%s/" % (req.host, req.shop, slug)),
        ("date_created", o["date_created"]), ("date_created_gmt", o["date_created"]),
        ("date_modified", o["date_modified"]), ("date_modified_gmt", o["date_modified"]),
        ("type", o["type"]), ("status", o["status"]), ("featured", False), ("catalog_visibility", "visible"),
        ("description", ""), ("short_description", ""), ("sku", o["sku"]),
        ("price", o["regular_price"]), ("regular_price", o["regular_price"]), ("sale_price", ""),
        ("on_sale", False), ("purchasable", bool(o["regular_price"])), ("total_sales", 0),
        ("virtual", False), ("downloadable", False), ("tax_status", "taxable"), ("tax_class", ""),
        ("manage_stock", managed), ("stock_quantity", qty), ("backorders", bo),
        ("backorders_allowed", bo != "no"), ("backordered", bool(managed) and (qty or 0) <= 0 and bo != "no"),
        ("low_stock_amount", None), ("sold_individually", False),
        ("parent_id", parent["id"] if parent is not None else 0),
        ("categories", []), ("tags", []), ("attributes", []),
        ("variations", [v["id"] for v in o.get("variations", [])]),
        ("menu_order", o["menu_order"]), ("stock_status", status), ("meta_data", []),
        ("_links", {"self": [{"href": "%s/products/%d" % (base, o["id"])}],
                    "collection": [{"href": "%s/products" % base}]}),
    ])
    return d


def woo_variation_json(site, v, parent, req):
    managed, qty, holder = woo_effective(site, v, parent)
    bo = (holder or v)["backorders"]
    base = woo_base(req)
    return OrderedDict([
        ("id", v["id"]), ("date_created", v["date_created"]), ("date_created_gmt", v["date_created"]),
        ("date_modified", v["date_modified"]), ("date_modified_gmt", v["date_modified"]),
        ("description", ""),
        ("permalink", "http://%s/woo/%s/product/%s/?variation=%d" % (req.host, req.shop, _slug(parent["name"]), v["id"])),
        ("sku", v["sku"]), ("price", v["regular_price"]), ("regular_price", v["regular_price"]),
        ("sale_price", ""), ("on_sale", False), ("status", v["status"]),
        ("purchasable", bool(v["regular_price"])), ("virtual", False), ("downloadable", False),
        ("tax_status", "taxable"), ("tax_class", ""),
        ("manage_stock", managed), ("stock_quantity", qty), ("stock_status", woo_stock_status(site, v, parent)),
        ("backorders", bo), ("backorders_allowed", bo != "no"),
        ("backordered", bool(managed) and (qty or 0) <= 0 and bo != "no"), ("low_stock_amount", None),
        ("attributes", v.get("attributes") or []), ("menu_order", v["menu_order"]), ("meta_data", []),
        ("_links", {"self": [{"href": "%s/products/%d/variations/%d" % (base, parent["id"], v["id"])}],
                    "collection": [{"href": "%s/products/%d/variations" % (base, parent["id"])}],
                    "up": [{"href": "%s/products/%d" % (base, parent["id"])}]}),
    ])


def woo_fields(d, fields):
    """WordPress _fields=a,b filter (top-level keys; "id" is always kept by WooCommerce)."""
    if not fields:
        return d
    want = [f.strip() for f in fields.split(",") if f.strip()]
    want_top = {f.split(".", 1)[0] for f in want}
    if "id" in d:
        want_top.add("id")
    return OrderedDict((k, v) for k, v in d.items() if k in want_top)


def woo_authenticate(site, req, query):
    """Returns (key or None, error Resp or None)."""
    ck = cs = None
    auth = req.headers.get("Authorization") or ""
    if auth[:6].lower() == "basic ":
        try:
            raw = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
            ck, _, cs = raw.partition(":")
        except Exception:
            ck = cs = None
    elif query.get("consumer_key") and query.get("consumer_secret"):
        ck, cs = query["consumer_key"], query["consumer_secret"]
    if not ck or not cs:
        return None, None
    key = None
    for k in site["keys"]:
        if hmac.compare_digest(k["consumer_key"].encode(), ck.encode()):
            key = k
    if key is None:
        return None, None
    if not hmac.compare_digest(key["consumer_secret"].encode(), cs.encode()):
        return None, woo_eresp("woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401)
    if req.method in ("GET", "HEAD") and key["permissions"] not in ("read", "read_write"):
        return None, woo_eresp("woocommerce_rest_authentication_error",
                               "The API key provided does not have read permissions.", 401)
    if req.method in ("POST", "PUT", "PATCH", "DELETE") and key["permissions"] not in ("write", "read_write"):
        return None, woo_eresp("woocommerce_rest_authentication_error",
                               "The API key provided does not have write permissions.", 401)
    return key, None


def woo_forbidden(route, method):
    if route in ("products/batch", "variations/batch"):
        return woo_eresp("woocommerce_rest_cannot_batch",
                         "Sorry, you are not allowed to batch manipulate this resource.", 401)
    if method in ("GET", "HEAD"):
        if route in ("products", "variations"):
            return woo_eresp("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401)
        return woo_eresp("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource.", 401)
    if method == "DELETE":
        return woo_eresp("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource.", 401)
    if route in ("products", "variations"):
        return woo_eresp("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.", 401)
    return woo_eresp("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource.", 401)


class WooParams:
    """WordPress REST argument validation for collection parameters."""

    def __init__(self, query):
        self.q = query
        self.errors = OrderedDict()
        self.details = OrderedDict()

    def bad(self, name, msg, code="rest_invalid_type"):
        self.errors[name] = msg
        self.details[name] = {"code": code, "message": msg, "data": None}

    def int(self, name, default, lo=None, hi=None):
        v = self.q.get(name)
        if v is None:
            return default
        if not rest_is_integer(v):
            self.bad(name, "%s is not of type integer." % name)
            return default
        v = int(float(v))
        if lo is not None and hi is not None and not (lo <= v <= hi):
            self.bad(name, "%s must be between %d (inclusive) and %d (inclusive)" % (name, lo, hi), "rest_out_of_bounds")
        elif lo is not None and hi is None and v < lo:
            self.bad(name, "%s must be greater than or equal to %d" % (name, lo), "rest_out_of_bounds")
        return v

    def enum(self, name, default, values):
        v = self.q.get(name)
        if v is None:
            return default
        if v not in values:
            self.bad(name, "%s is not one of %s." % (name, ", ".join(values)), "rest_not_in_enum")
            return default
        return v

    def ids(self, name):
        v = self.q.get(name)
        if v is None or v == "":
            return None
        out = []
        for part in v.split(","):
            part = part.strip()
            if not rest_is_integer(part):
                self.bad(name, "%s[%d] is not of type integer." % (name, len(out)))
                return None
            out.append(int(float(part)))
        return out

    def response(self):
        if not self.errors:
            return None
        return woo_eresp("rest_invalid_param", "Invalid parameter(s): %s" % ", ".join(self.errors), 400,
                         params=dict(self.errors), details=dict(self.details))


def _woo_sort(objs, orderby, order, include):
    if orderby == "include" and include:
        pos = {i: n for n, i in enumerate(include)}
        objs.sort(key=lambda o: pos.get(o["id"], 10 ** 9))
        return objs
    keyf = {
        "date": lambda o: (o["date_created"], o["id"]),
        "modified": lambda o: (o["date_modified"], o["id"]),
        "title": lambda o: (o["name"].lower(), o["id"]),
        "slug": lambda o: (_slug(o["name"]), o["id"]),
        "menu_order": lambda o: (o["menu_order"], o["id"]),
    }.get(orderby, lambda o: o["id"])
    objs.sort(key=keyf, reverse=(order == "desc"))
    return objs


def woo_list(sim, site, req, query, route, parent, per_page_max=100):
    """GET /products and GET /products/{pid}/variations."""
    P = WooParams(query)
    per_page = P.int("per_page", 10, 1, per_page_max)
    page = P.int("page", 1, 1, None)
    offset = P.int("offset", None, 0, None)
    orderby = P.enum("orderby", "date", PRODUCT_ORDERBY if parent is None else VARIATION_ORDERBY)
    order = P.enum("order", "desc", ["asc", "desc"])
    include = P.ids("include")
    status = P.enum("status", "any", ["any", "future", "trash", "draft", "pending", "private", "publish"])
    ptype = P.enum("type", None, ["simple", "grouped", "external", "variable"]) if parent is None else None
    sku = query.get("sku")
    err = P.response()
    if err:
        return err
    # The filtered, sorted list is cached until the next write to this site, so that
    # paging through a large catalogue does not re-sort it for every page.
    ckey = (site["name"], parent["id"] if parent is not None else None, sku,
            tuple(include) if include is not None else None, status, ptype, orderby, order)
    gen = sim.woo_gen.get(site["name"], 0)
    hit = sim.woo_cache.get(ckey)
    if hit is not None and hit[0] == gen and hit[1] is site:
        ordered, parents = hit[2], hit[3]
    else:
        ordered, parents = _woo_select(site, parent, sku, include, status, ptype, orderby, order)
        if len(sim.woo_cache) > 64:
            sim.woo_cache.clear()
        sim.woo_cache[ckey] = (gen, site, ordered, parents)
    total = len(ordered)
    pages = int(math.ceil(total / float(per_page))) if per_page else 0
    start = offset if offset is not None else (page - 1) * per_page
    chunk = ordered[start:start + per_page]
    fields = query.get("_fields")
    if parent is None:
        body = [woo_fields(woo_product_json(site, o, parents[o["id"]], req), fields) for o in chunk]
    else:
        body = [woo_fields(woo_variation_json(site, o, parent, req), fields) for o in chunk]
    headers = [("X-WP-Total", str(total)), ("X-WP-TotalPages", str(pages))]
    base = woo_base(req) + ("/products" if parent is None else "/products/%d/variations" % parent["id"])
    links = []
    qitems = [(k, v) for k, v in req.query_items if k != "page"]
    if page > 1:
        prev = min(page - 1, pages) if pages else page - 1
        links.append('<%s?%s>; rel="prev"' % (base, urllib.parse.urlencode(qitems + [("page", prev)])))
    if pages > page:
        links.append('<%s?%s>; rel="next"' % (base, urllib.parse.urlencode(qitems + [("page", page + 1)])))
    if links:
        headers.append(("Link", ", ".join(links)))
    return Resp(200, body, headers)


def _woo_select(site, parent, sku, include, status, ptype, orderby, order):
    if parent is None:
        objs = []
        skus = None
        if sku:
            parts = sku.split(",")
            if len(parts) > 1:
                parts.append(sku)
            skus = {s.lower() for s in parts}
        for oid, (o, par) in site["index"].items():
            if par is not None and skus is None:
                continue
            if skus is not None and o["sku"].lower() not in skus:
                continue
            objs.append((o, par))
    else:
        objs = [(v, parent) for v in parent["variations"]]
        if sku:
            objs = [(v, p) for v, p in objs if v["sku"].lower() in {s.lower() for s in sku.split(",")}]
    if include is not None:
        objs = [(o, p) for o, p in objs if o["id"] in include]
    if status == "any":
        objs = [(o, p) for o, p in objs if o["status"] != "trash"]
    else:
        objs = [(o, p) for o, p in objs if o["status"] == status]
    if ptype:
        objs = [(o, p) for o, p in objs if o["type"] == ptype]
    parents = {o["id"]: p for o, p in objs}
    return _woo_sort([o for o, p in objs], orderby, order, include), parents


def woo_validate_update(params):
    """Schema validation WordPress applies to a single PUT (not to batch items)."""
    errors = OrderedDict()
    if "stock_quantity" in params and not rest_is_integer(params["stock_quantity"]):
        errors["stock_quantity"] = "stock_quantity is not of type integer."
    if "manage_stock" in params and not rest_is_boolean(params["manage_stock"]):
        errors["manage_stock"] = "manage_stock is not of type boolean."
    if "stock_status" in params and params["stock_status"] not in ("instock", "outofstock", "onbackorder"):
        errors["stock_status"] = "stock_status is not one of instock, outofstock, onbackorder."
    if "backorders" in params and params["backorders"] not in ("no", "notify", "yes"):
        errors["backorders"] = "backorders is not one of no, notify, yes."
    if errors:
        return woo_eresp("rest_invalid_param", "Invalid parameter(s): %s" % ", ".join(errors), 400,
                         params=dict(errors))
    out = dict(params)
    if "stock_quantity" in out:
        out["stock_quantity"] = int(float(out["stock_quantity"]))
    if "manage_stock" in out:
        out["manage_stock"] = rest_sanitize_boolean(out["manage_stock"])
    return out


def woo_apply(sim, site, o, parent, params, req, route):
    """Apply one update (single PUT or one batch item).  Mirrors prepare_object_for_database."""
    sim.woo_touch(site)
    def setq(target, new):
        before = target["stock_quantity"]
        target["stock_quantity"] = new
        sim.log_write(kind="update", platform="woo", shop=site["name"], item=target["id"], sku=target["sku"],
                      location="", before=before, after=new, delta=None if before is None else new - before,
                      idempotency_key=None, request_id=req.rid, route=route)

    if site["manage_stock"] or o["type"] == "variation":
        if params.get("manage_stock") is not None:
            o["manage_stock"] = wc_string_to_bool(params["manage_stock"])
        if params.get("backorders") in ("no", "notify", "yes"):
            o["backorders"] = params["backorders"]
        sq, idelta = params.get("stock_quantity"), params.get("inventory_delta")
        if o["type"] in ("grouped", "external"):
            o["manage_stock"] = False
            o["stock_quantity"] = None
            if sq is not None:
                req.notes.append("stock_quantity ignored for %s product %d" % (o["type"], o["id"]))
        elif o["type"] == "variation" and not o["manage_stock"] and parent["manage_stock"]:
            # get_manage_stock() is 'parent': WooCommerce stores the number on the variation, where
            # nothing reads it; the stock shown stays the parent's.
            if sq is not None or idelta is not None:
                req.notes.append("stock_quantity ignored: variation %d inherits stock from its parent" % o["id"])
        elif o["manage_stock"]:
            if sq is not None:
                setq(o, php_intval(sq))
            elif idelta is not None:
                setq(o, (o["stock_quantity"] or 0) + php_intval(idelta))
        else:
            if o["stock_quantity"] is not None:
                o["stock_quantity"] = None
            if sq is not None or idelta is not None:
                req.notes.append("stock_quantity ignored: manage_stock is false for %d" % o["id"])
            if o["type"] != "variable" and params.get("stock_status") in ("instock", "outofstock", "onbackorder"):
                o["stock_status"] = params["stock_status"]
    elif params.get("stock_quantity") is not None:
        req.notes.append("stock_quantity ignored: the site does not manage stock")
    for k in ("sku", "name", "status", "regular_price"):
        if isinstance(params.get(k), str):
            o[k] = params[k]
    o["date_modified"] = woo_now()


def woo_update_one(sim, site, oid, params, req, route, parent_id, batch):
    """Returns (object json, None) or (None, error dict with status)."""
    o, par = site["index"].get(oid, (None, None))
    if parent_id is None:
        if o is not None and par is not None:
            return None, woo_error("woocommerce_rest_invalid_product_id",
                                   "To manipulate product variations you should use the "
                                   "/products/<product_id>/variations/<id> endpoint.", 404)
        if o is None:
            return None, woo_error("woocommerce_rest_product_invalid_id", "Invalid ID.", 400)
    else:
        if o is None or par is None or par["id"] != parent_id:
            # A variation of another parent: UNVERIFIED (WooCommerce may accept it).
            return None, woo_error("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", 400)
    if not isinstance(params, dict):
        return None, woo_error("rest_invalid_param", "Invalid parameter(s): update", 400)
    woo_apply(sim, site, o, par, params, req, route)
    if parent_id is None:
        return woo_product_json(site, o, par, req), None
    return woo_variation_json(site, o, par, req), None


def woo_batch(sim, site, req, body, route, parent):
    if not isinstance(body, dict):
        return woo_eresp("rest_invalid_param", "Invalid parameter(s): create, update, delete", 400)
    errors = OrderedDict()
    for k in ("create", "update", "delete"):
        if k in body and body[k] is not None and not isinstance(body[k], list):
            errors[k] = "%s is not of type array." % k
    if errors:
        return woo_eresp("rest_invalid_param", "Invalid parameter(s): %s" % ", ".join(errors), 400,
                         params=dict(errors))
    total = sum(len(body.get(k) or []) for k in ("create", "update", "delete"))
    limit = int(sim.config["woo_batch_limit"])
    if total > limit:
        return woo_eresp("woocommerce_rest_request_entity_too_large",
                         "Unable to accept more than %d items for this request." % limit, 413)
    out = OrderedDict()
    unsupported = woo_error("woocommerce_rest_sim_not_implemented",
                            "The invkit simulator does not create or delete products.", 501)
    if body.get("create"):
        out["create"] = [OrderedDict([("id", 0), ("error", unsupported)]) for _ in body["create"]]
    if body.get("update"):
        res = []
        for item in body["update"]:
            iid = item.get("id") if isinstance(item, dict) else None
            try:
                oid = int(iid) if iid is not None and not isinstance(iid, bool) else 0
            except (TypeError, ValueError):
                oid = 0
            obj, err = woo_update_one(sim, site, oid, item if isinstance(item, dict) else None, req, route,
                                      parent["id"] if parent is not None else None, True)
            res.append(obj if err is None else OrderedDict([("id", iid), ("error", err)]))
        out["update"] = res
    if body.get("delete"):
        res = []
        for iid in body["delete"]:
            if php_intval(iid) == 0:
                continue
            res.append(OrderedDict([("id", php_intval(iid)), ("error", unsupported)]))
        out["delete"] = res
    # An empty PHP array encodes as [] (WooCommerce answers [] to an empty batch).
    return Resp(200, out if out else [])


def woo_json_body(req):
    if not req.body:
        return {}, None
    ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded":
        return dict(urllib.parse.parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True)), None
    try:
        return json.loads(req.body.decode("utf-8")), None
    except (ValueError, UnicodeDecodeError):
        return None, woo_eresp("rest_invalid_json", "Invalid JSON body passed.", 400, json_error_code=4,
                               json_error_message="Syntax error")


def woo_handle(sim, req):
    site = sim.state["woocommerce"].get(req.shop)
    rest = req.rest
    if site is None or rest is None:
        return Resp(404, b"<html><body><h1>Not Found</h1></body></html>", ctype="text/html; charset=UTF-8")
    if rest in ("", "/"):
        return Resp(200, {"name": site["name"], "namespaces": ["wc/v3"], "routes": {}})
    if not (rest == "/wc/v3" or rest.startswith("/wc/v3/")):
        return woo_no_route()
    sub = rest[len("/wc/v3"):]
    query = dict(req.query_items)
    if sub in ("", "/"):
        return Resp(200, {"namespace": "wc/v3", "routes": {"/wc/v3/" + r[1]: {"methods": list(r[2])}
                                                            for r in WOO_ROUTES}})
    for rx, route, methods in WOO_ROUTES:
        m = rx.match(sub)
        if m:
            break
    else:
        return woo_no_route()
    if req.method not in methods and not (req.method == "HEAD" and "GET" in methods):
        return woo_no_route()
    key, err = woo_authenticate(site, req, query)
    if err is not None:
        return err
    gd = m.groupdict()
    parent = None
    if "pid" in gd:
        parent_obj, par = site["index"].get(int(gd["pid"]), (None, None))
        if parent_obj is None or par is not None:
            if key is None:
                return woo_forbidden(route, req.method)
            # UNVERIFIED: WooCommerce's answer for a variation route under a missing parent.
            return woo_eresp("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
        parent = parent_obj
    if route in ("products", "variations") and req.method in ("GET", "HEAD"):
        if key is None:
            P = WooParams(query)
            P.int("per_page", 10, 1, int(sim.config["woo_per_page_max"]))
            P.int("page", 1, 1, None)
            err = P.response()
            return err or woo_forbidden(route, req.method)
        if route == "variations" and parent["type"] != "variable":
            return Resp(200, [], [("X-WP-Total", "0"), ("X-WP-TotalPages", "0")])
        return woo_list(sim, site, req, query, route, parent, int(sim.config["woo_per_page_max"]))
    if key is None:
        return woo_forbidden(route, req.method)
    if route in ("products", "variations") or req.method == "DELETE":
        return woo_eresp("woocommerce_rest_sim_not_implemented",
                         "The invkit simulator does not create or delete products.", 501)
    if route.endswith("/batch"):
        body, err = woo_json_body(req)
        if err is not None:
            return err
        return woo_batch(sim, site, req, body, route, parent)
    oid = int(gd["id"])
    if req.method in ("GET", "HEAD"):
        o, par = site["index"].get(oid, (None, None))
        if parent is None:
            if o is not None and par is not None:
                return woo_eresp("woocommerce_rest_invalid_product_id",
                                 "To manipulate product variations you should use the "
                                 "/products/<product_id>/variations/<id> endpoint.", 404)
            if o is None:
                return woo_eresp("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
            return Resp(200, woo_fields(woo_product_json(site, o, par, req), query.get("_fields")))
        if o is None or par is None or par["id"] != parent["id"]:
            return woo_eresp("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", 404)
        return Resp(200, woo_fields(woo_variation_json(site, o, par, req), query.get("_fields")))
    body, err = woo_json_body(req)
    if err is not None:
        return err
    if not isinstance(body, dict):
        return woo_eresp("rest_invalid_param", "Invalid parameter(s): body", 400)
    params = dict(query)
    params.update(body)
    for k in ("consumer_key", "consumer_secret"):
        params.pop(k, None)
    params = woo_validate_update(params)
    if isinstance(params, Resp):
        return params
    obj, e = woo_update_one(sim, site, oid, params, req, route, parent["id"] if parent is not None else None, False)
    if e is not None:
        return Resp(e["data"]["status"], e)
    return Resp(200, obj)


# --------------------------------------------------------------------------
# Shopify endpoint
# --------------------------------------------------------------------------

SHOPIFY_RE = re.compile(r"^/shopify/(?P<shop>[A-Za-z0-9][A-Za-z0-9._-]*)(?P<rest>/.*)?$")
SHOPIFY_API_RE = re.compile(r"^/admin/api/(?P<ver>\d{4}-\d{2}|unstable)/graphql\.json$")
WOO_RE = re.compile(r"^/(?:woo|woocommerce)/(?P<site>[A-Za-z0-9][A-Za-z0-9._-]*)(?P<rest>/.*)?$")
SHOPIFY_401 = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}


def shopify_preparse(req):
    """Parse the GraphQL body early, so faults can match writes and idempotency keys."""
    ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    try:
        if ctype == "application/graphql":
            query, variables, opname = req.body.decode("utf-8"), None, None
        else:
            obj = json.loads(req.body.decode("utf-8")) if req.body else None
            if not isinstance(obj, dict):
                req.gql_body = "bad"
                return
            query, variables, opname = obj.get("query"), obj.get("variables"), obj.get("operationName")
            if opname is not None and not isinstance(opname, str):
                req.gql_body = "bad"
                return
    except (ValueError, UnicodeDecodeError):
        req.gql_body = "bad"
        return
    if not isinstance(query, str):
        req.gql_body = "bad"
        return
    try:
        req.gql = gql_prepare(query, variables, opname)
    except GQLError as e:
        req.gql_error = e
        return
    op = req.gql.op
    req.is_write = op.kind == "mutation"
    for sel in op.selections:
        if isinstance(sel, Field):
            req.ops.append(sel.name)
            for d in sel.directives:
                if d.name == "idempotent" and "key" in d.args:
                    k = ast_value(d.args["key"], req.gql.raw_vars)
                    if isinstance(k, str) and k:
                        req.idem_keys.append(k)


def shopify_handle(sim, req):
    hdrs = [("X-Request-Id", req.rid)]
    with sim.lock:
        shop = sim.state["shopify"].get(req.shop)
        if shop is None or req.version is None:
            return Resp(404, {"errors": "Not Found"}, hdrs, "application/json; charset=utf-8")
        hdrs.append(("X-Shopify-API-Version", req.version))
        if req.method != "POST":
            return Resp(405, {"errors": "Method Not Allowed"}, hdrs + [("Allow", "POST")],
                        "application/json; charset=utf-8")
        token = req.headers.get("X-Shopify-Access-Token") or ""
        if not any(hmac.compare_digest(t.encode(), token.encode()) for t in shop["tokens"]):
            # Observed body and header of Shopify's 401 (e.g. github.com/frappe/ecommerce_integrations
            # issue 414 shows both).
            return Resp(401, SHOPIFY_401, hdrs + [("WWW-Authenticate", 'Basic Realm="Shopify API Authentication"')],
                        "application/json; charset=utf-8")
        if req.gql_body == "bad":
            # UNVERIFIED body for a request without a usable "query".
            return Resp(400, {"errors": {"query": "Required parameter missing or invalid"}}, hdrs,
                        "application/json; charset=utf-8")
        status, body, extra = shopify_graphql(sim, shop, req)
        return Resp(status, body, hdrs + extra, "application/json; charset=utf-8")


def shopify_graphql(sim, shop, req):
    b = sim.bucket(shop)

    def ext(requested, actual):
        return OrderedDict([("cost", OrderedDict([("requestedQueryCost", requested), ("actualQueryCost", actual),
                                                  ("throttleStatus", b.status())]))])

    if req.gql_error is not None:
        return 200, OrderedDict([("errors", [req.gql_error.to_dict()]), ("extensions", ext(0, 0))]), []
    ex = Executor(sim, shop, req.gql, api_version_strict(req.version), req)
    errs = ex.prepare()
    if errs:
        return 200, OrderedDict([("errors", [e.to_dict() for e in errs]), ("extensions", ext(0, 0))]), []
    requested = ex.requested_cost()
    req.cost = {"requested": requested}
    maxc = int(sim.config["max_query_cost"])
    if requested > maxc:
        # Observed Shopify answer for an over-limit query (code MAX_COST_EXCEEDED, cost, maxCost);
        # the exact wording is UNVERIFIED.
        msg = ("Query cost is %d, which exceeds the single query max cost limit (%d).\n\n"
               "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"
               "cost of a query is calculated.\n\n"
               "To query larger amounts of data with fewer limits, bulk operations should be used instead.\n"
               "See https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"
               % (requested, maxc))
        return 200, OrderedDict([("errors", [{"message": msg, "extensions": {"code": "MAX_COST_EXCEEDED",
                                                                             "cost": requested, "maxCost": maxc}}]),
                                 ("extensions", ext(requested, None))]), []
    if not b.take(requested):
        req.notes.append("throttled")
        req.cost["throttled"] = True
        status = int(sim.config["throttle_status"])
        extra = []
        if status == 429:
            extra.append(("Retry-After", str(max(1, int(math.ceil(b.wait_for(requested)))))))
        return status, OrderedDict([
            ("errors", [{"message": "Throttled",
                         "extensions": {"code": "THROTTLED",
                                        "documentation": "https://shopify.dev/api/usage/rate-limits"}}]),
            ("extensions", ext(requested, None))]), extra
    data = ex.execute()
    actual = ex.actual
    if actual < requested:
        b.refund(requested - actual)
    elif actual > requested:
        b.refill()
        b.avail = max(0.0, b.avail - (actual - requested))
    req.cost["actual"] = actual
    body = OrderedDict()
    if ex.errors:
        body["errors"] = [e.to_dict() for e in ex.errors]
    body["data"] = data
    e = ext(requested, actual)
    if ex.search:
        e["search"] = ex.search
    body["extensions"] = e
    return 200, body, []


# --------------------------------------------------------------------------
# HTTP server
# --------------------------------------------------------------------------

MAX_BODY = 32 * 1024 * 1024


class _BodyError(Exception):
    def __init__(self, status, msg):
        super().__init__(msg)
        self.status, self.msg = status, msg


# Query parameters that carry credentials on some platform (WooCommerce's
# keys; the access tokens and session keys of TikTok, Douyin, JD, Kuaishou,
# Youzan and WeChat): never written to the request log, which tests print.
SECRET_PARAMS = {"consumer_key", "consumer_secret", "access_token", "refresh_token", "token",
                 "session", "app_secret", "appsecret", "secret", "client_secret"}


def _fingerprint(v):
    """REDACTED-<8 hex of its SHA-256>: a test can tell which secret was sent
    (sha256sum of its own copy) without the log showing it."""
    return "REDACTED-" + hashlib.sha256(v.encode()).hexdigest()[:8]


def _redact(path, query):
    if not query:
        return path
    items = urllib.parse.parse_qsl(query, keep_blank_values=True)
    items = [(k, _fingerprint(v) if k.lower() in SECRET_PARAMS else v) for k, v in items]
    return path + "?" + urllib.parse.urlencode(items)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "invkit-sim/" + VERSION
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this many seconds

    def log_message(self, fmt, *args):
        if self.server.sim.verbose:
            sys.stderr.write("sim: %s %s\n" % (self.address_string(), fmt % args))

    def setup(self):
        super().setup()
        try:  # headers and body go out in one write; no Nagle delay on small answers
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    # -- plumbing ----------------------------------------------------------------
    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise _BodyError(400, "truncated chunked body")
                try:
                    n = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise _BodyError(400, "bad chunk size")
                if n == 0:
                    while True:
                        t = self.rfile.readline(8192)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    return bytes(out)
                if len(out) + n > MAX_BODY:
                    raise _BodyError(413, "request body too large")
                chunk = self.rfile.read(n)
                if len(chunk) != n:
                    raise _BodyError(400, "truncated chunked body")
                out += chunk
                self.rfile.readline(8)
        n = self.headers.get("Content-Length")
        if n is None:
            return b""
        try:
            n = int(n)
        except ValueError:
            raise _BodyError(400, "bad Content-Length")
        if n < 0:
            raise _BodyError(400, "bad Content-Length")
        if n > MAX_BODY:
            raise _BodyError(413, "request body too large")
        data = self.rfile.read(n)
        if len(data) != n:
            raise _BodyError(400, "truncated body")
        return data

    def send(self, resp):
        try:
            self.send_response(resp.status)
            for k, v in resp.headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(resp.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self._headers_buffer.append(b"\r\n")
            if self.command != "HEAD":
                self._headers_buffer.append(resp.body)
            self.flush_headers()
        except OSError:
            self.close_connection = True

    def send_json(self, status, obj, headers=None):
        self.send(Resp(status, obj, headers))

    def drop(self, rst=False):
        """Close the connection without an answer (FIN, or RST with rst=True)."""
        self.close_connection = True
        try:
            if rst:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def pause(self, ms):
        self.server.sim.stop_event.wait(ms / 1000.0)

    # -- dispatch ----------------------------------------------------------------------
    def dispatch(self):
        sim = self.server.sim
        t0 = time.monotonic()
        try:
            body = self.read_body()
        except _BodyError as e:
            self.close_connection = True
            self.send_json(e.status, {"error": e.msg})
            return
        except OSError:
            self.close_connection = True
            return
        split = urllib.parse.urlsplit(self.path)
        path = split.path
        if path == "/_sim" or path.startswith("/_sim/"):
            try:
                self.control(path, split.query, body)
            except Exception:
                traceback.print_exc()
                self.send_json(500, {"error": "internal simulator error (see its stderr)"})
            return
        host = self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_address[1]
        req = Req(self.command, path, split.query, self.headers, body, host)
        req.query_items = urllib.parse.parse_qsl(split.query, keep_blank_values=True)
        m = SHOPIFY_RE.match(path)
        w = WOO_RE.match(path)
        pm = PLUGIN_RE.match(path)
        if m:
            req.platform, req.shop = "shopify", m.group("shop")
            am = SHOPIFY_API_RE.match(m.group("rest") or "")
            if am:
                req.version = am.group("ver")
                if self.command == "POST":
                    shopify_preparse(req)
        elif w:
            req.platform, req.shop, req.rest = "woo", w.group("site"), w.group("rest") or ""
            req.is_write = self.command in ("POST", "PUT", "PATCH", "DELETE")
            sub = req.rest[len("/wp-json/wc/v3"):] if req.rest.startswith("/wp-json/wc/v3") else None
            req.rest = req.rest[len("/wp-json"):] if req.rest.startswith("/wp-json") else None
            if sub is not None:
                for rx, route, _ in WOO_ROUTES:
                    if rx.match(sub):
                        req.ops.append(route)
                        break
        elif pm and pm.group("platform") in PLATFORMS:
            req.platform, req.shop, req.rest = pm.group("platform"), pm.group("store"), pm.group("rest") or ""
            PLATFORMS[req.platform].classify(req)
        else:
            self.send_json(404, {"error": "no such endpoint; platform APIs live under /shopify/<shop>/, "
                                          "/woo/<site>/%s, the control API under /_sim/"
                                          % "".join(" and /%s/<store>/" % p for p in PLATFORMS)})
            return
        fault = sim.begin(req)
        req.fault, req.t0, req.logpath = fault, t0, _redact(path, split.query)
        try:
            self.run(req, fault)
        except Exception:
            traceback.print_exc()
            self.conclude(req, 500)
            self.send_json(500, {"error": "internal simulator error (see its stderr)"})
        finally:
            self.conclude(req, None)

    def conclude(self, req, status):
        """Release the request's idempotency keys and log it, once, before its answer is
        sent (so a client that has the answer also finds the request in the log)."""
        if req.logged:
            return
        req.logged = True
        sim = self.server.sim
        with sim.lock:
            for k in req.inflight:
                sim.inflight.discard(k)
            req.inflight = []
        entry = OrderedDict([
            ("request_id", req.rid), ("platform", req.platform), ("shop", req.shop),
            ("method", req.method), ("path", req.logpath), ("status", status),
            ("fault", req.fault["kind"] if req.fault else None),
            ("ms", int((time.monotonic() - req.t0) * 1000)), ("ops", req.ops), ("write", req.is_write)])
        if req.cost is not None:
            entry["cost"] = req.cost
        if req.replayed:
            entry["replayed"] = True
        if req.sale is not None:
            entry["sale"] = req.sale
        if req.notes:
            entry["notes"] = req.notes
        sim.log_request(entry)

    def platform(self, req):
        sim = self.server.sim
        if req.platform == "shopify":
            return shopify_handle(sim, req)
        with sim.lock:
            if req.platform in PLATFORMS:
                resp = PLATFORMS[req.platform].handle(sim, req)
            else:
                resp = woo_handle(sim, req)
        resp.headers.append(("X-Request-Id", req.rid))
        return resp

    def fault_response(self, fault, req):
        k = fault["kind"]
        code = int(k) if k.isdigit() else 500
        hdrs = [("X-Request-Id", req.rid)]
        if k == "huge":
            # 200 and one JSON object of exactly `bytes` bytes: {"pad":"xxx...x"}
            return Resp(200, b'{"pad":"' + b"x" * (fault["bytes"] - 10) + b'"}', hdrs,
                        "application/json; charset=utf-8")
        if k == "deep":
            # 200 and {"data":[[[...]]]} with `depth` nested arrays
            d = fault["depth"]
            return Resp(200, b'{"data":' + b"[" * d + b"]" * d + b"}", hdrs, "application/json; charset=utf-8")
        if fault["retry_after"] is not None and code in (429, 503):
            hdrs.append(("Retry-After", str(fault["retry_after"])))
        if fault["body"] is not None:
            return Resp(code, fault["body"].encode("utf-8"), hdrs, fault["content_type"])
        mod = PLATFORMS.get(req.platform)
        if mod is not None and hasattr(mod, "fault_response"):
            with self.server.sim.lock:
                resp = mod.fault_response(self.server.sim, req, code, hdrs)
            if resp is not None:
                return resp
        # 502/503 (and WooCommerce's 429, which comes from a host or WAF: WooCommerce has no
        # REST rate limit of its own) are generic proxy pages; their exact shape is invented.
        reason = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
                  503: "Service Unavailable"}[code]
        html = ("<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body></html>"
                % (code, reason, code, reason)).encode()
        if req.platform == "shopify":
            if code == 429:
                return Resp(429, {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}, hdrs,
                            "application/json; charset=utf-8")
            if code == 500:
                # Shape of Shopify's GraphQL internal error (INTERNAL_SERVER_ERROR with requestId, as
                # seen in public reports); that it comes with HTTP 500 rather than 200 is UNVERIFIED.
                return Resp(500, {"errors": [{
                    "message": "Internal error. Looks like something went wrong on our end.\nRequest ID: %s "
                               "(include this in support requests)." % req.rid,
                    "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": req.rid}}]}, hdrs,
                    "application/json; charset=utf-8")
            return Resp(code, html, hdrs, "text/html")
        if code == 500:
            # WordPress's fatal-error handler answer for REST requests.
            return Resp(500, OrderedDict([
                ("code", "internal_server_error"),
                ("message", "<p>There has been a critical error on this website.</p>"),
                ("data", {"status": 500}), ("additional_errors", [])]), hdrs)
        return Resp(code, html, hdrs, "text/html")

    def run(self, req, fault):
        sim = self.server.sim
        kind = fault["kind"] if fault else None
        if fault and fault["phase"] == "before":
            if kind == "slow":
                self.pause(fault["ms"])
            elif kind == "drop":
                self.conclude(req, None)
                self.drop(fault["rst"])
                return
            else:
                if kind == "fail_key":
                    with sim.lock:
                        sim.sh_fail_keys(req.shop, req.idem_keys, req)
                    fault = dict(fault, kind="500")
                resp = self.fault_response(fault, req)
                self.conclude(req, resp.status)
                self.send(resp)
                return
        resp = self.platform(req)
        if fault and fault["phase"] == "after":
            if kind == "slow":
                self.pause(fault["ms"])
            elif kind in ("drop", "lost_answer"):
                req.notes.append("applied, answer (%d) not sent" % resp.status)
                self.conclude(req, None)
                self.drop(fault["rst"])
                return
            else:
                req.notes.append("applied, answer (%d) replaced by the fault" % resp.status)
                resp = self.fault_response(fault, req)
        # The idempotency keys stop being "in progress" once the answer is on its way, so a
        # client that got the answer and retries at once never sees CONCURRENT_REQUEST.
        self.conclude(req, resp.status)
        self.send(resp)

    # -- control API -------------------------------------------------------------------
    def control(self, path, query, body):
        sim = self.server.sim
        host = self.client_address[0]
        if not (host.startswith("127.") or host == "::1"):
            self.send_json(403, {"error": "the control API answers loopback clients only"})
            return
        q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        method = self.command
        route = path.rstrip("/")
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else None
        except (ValueError, UnicodeDecodeError):
            self.send_json(400, {"error": "body is not JSON"})
            return
        try:
            out = self._control(sim, method, route, q, data)
        except SimError as e:
            self.send_json(e.status, {"error": e.message})
            return
        except BadState as e:
            self.send_json(400, {"error": str(e)})
            return
        if out is None:
            self.send_json(404, {"error": "no such control endpoint: %s %s" % (method, path)})
            return
        self.send_json(200, out)
        if route == "/_sim/shutdown":
            sim.stop_event.set()

    def _control(self, sim, method, route, q, data):
        if route == "/_sim/health" and method == "GET":
            return {"ok": True, "version": VERSION, "port": self.server.server_address[1],
                    "uptime_s": round(time.time() - sim.started, 3)}
        if route == "/_sim/state":
            if method == "GET":
                with sim.lock:
                    return dump_state(sim.state)
            if method in ("POST", "PUT"):
                st = load_state(data)
                sim.replace_state(st, initial=q.get("initial") in ("1", "true", "yes"))
                out = {"ok": True, "shopify": list(st["shopify"]), "woocommerce": list(st["woocommerce"])}
                for pname in PLATFORMS:
                    out[pname] = list(st[pname])
                return out
        if route == "/_sim/reset" and method == "POST":
            sim.reset()
            return {"ok": True}
        if route == "/_sim/log":
            if method == "GET":
                try:
                    since = int(q.get("since", "0"))
                except ValueError:
                    raise SimError(400, "since must be an integer")
                kind = q.get("kind")
                with sim.lock:
                    out = OrderedDict()
                    if kind in (None, "", "writes"):
                        out["writes"] = [w for w in sim.writes if w["seq"] > since]
                    if kind in (None, "", "requests"):
                        out["requests"] = [r for r in sim.requests if r["seq"] > since]
                    out["last_seq"] = sim.log_seq
                    return out
            if method == "DELETE":
                with sim.lock:
                    sim.writes, sim.requests = [], []
                return {"ok": True}
        if route == "/_sim/log/clear" and method == "POST":
            with sim.lock:
                sim.writes, sim.requests = [], []
            return {"ok": True}
        if route == "/_sim/faults":
            if method == "GET":
                return sim.faults_view()
            if method in ("POST", "PUT"):
                return sim.set_faults(data if data is not None else {})
            if method == "DELETE":
                return sim.set_faults({"rules": [], "sales": None})
        if route == "/_sim/config":
            if method == "GET":
                return dict(sim.config)
            if method in ("POST", "PUT", "PATCH"):
                return dict(sim.set_config(data if data is not None else {}))
        if route == "/_sim/sale" and method == "POST":
            if not isinstance(data, dict):
                raise SimError(400, "sale body must be an object")
            bad = set(data) - {"platform", "shop", "sku", "item", "location", "qty", "allow_negative"}
            if bad:
                raise SimError(400, "unknown sale key(s): %s" % ", ".join(sorted(bad)))
            if not data.get("shop") or ("sku" not in data and "item" not in data):
                raise SimError(400, "sale needs shop and sku or item")
            rec = sim.sale(data.get("platform"), data["shop"], sku=data.get("sku"), item=data.get("item"),
                           location=data.get("location"), qty=data.get("qty", 1),
                           allow_negative=bool(data.get("allow_negative")))
            return {"ok": True, "sale": rec}
        if route == "/_sim/bucket" and method in ("GET", "POST", "PUT"):
            if data is not None and not isinstance(data, dict):
                raise SimError(400, "bucket body must be an object")
            data = data or {}
            name = q.get("shop") or data.get("shop")
            with sim.lock:
                shop = sim.state["shopify"].get(name)
                if shop is None:
                    raise SimError(404, "no Shopify shop %r" % (name,))
                b = sim.bucket(shop)
                if method != "GET" and "restore_rate" in data:
                    b.refill()
                    b.rate = _num(data["restore_rate"], "restore_rate", 0, 1e6)
                if method != "GET" and "available" in data:
                    b.refill()
                    b.avail = _num(data["available"], "available", 0, b.size)
                return dict(b.status())
        if route == "/_sim/shutdown" and method == "POST":
            return {"ok": True}
        return None


class SimServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, sim):
        self.sim = sim
        self._conns = set()
        self._conns_lock = threading.Lock()
        super().__init__(addr, handler)

    def process_request(self, request, client_address):
        with self._conns_lock:
            self._conns.add(request)
        try:
            super().process_request(request, client_address)
        except Exception:
            with self._conns_lock:
                self._conns.discard(request)
            raise

    def shutdown_request(self, request):
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout)):
            return
        if self.sim.verbose or not isinstance(exc, OSError):
            super().handle_error(request, client_address)

    def close_connections(self, wait=2.0):
        """Shut every open client connection and wait for the handler threads to finish."""
        with self._conns_lock:
            conns = list(self._conns)
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with self._conns_lock:
                if not self._conns:
                    return True
            time.sleep(0.02)
        return False


# --------------------------------------------------------------------------
# platform plugins (tests/sim/platforms/<name>.py; see README.md, "Adding a platform")
# --------------------------------------------------------------------------

PLATFORMS = OrderedDict()   # name -> module, in file-name order
PLUGIN_KNOBS = set()        # config keys that plugins added to DEFAULT_CONFIG
STORE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
PLUGIN_RE = re.compile(r"^/(?P<platform>[a-z][a-z0-9_]*)/(?P<store>[A-Za-z0-9][A-Za-z0-9._-]*)(?P<rest>/.*)?$")
PLUGIN_API = ("NAME", "load", "dump", "sample", "classify", "handle", "sale_targets", "sale")
RESERVED = {"shopify", "woo", "woocommerce", "_sim"}


def load_platforms(folder=None):
    """Import every tests/sim/platforms/<name>.py (names starting with "_" are skipped) and
    register it.  A plugin that lacks part of the interface, reuses a name or a knob, is a
    programming error: the simulator refuses to start (RuntimeError)."""
    import importlib.util
    import os
    # plugins `import sim` for the shared helpers: let that be this module even when it runs
    # as a script (__main__), so there is one Resp, one BadState and one SimError
    sys.modules.setdefault("sim", sys.modules[__name__])
    folder = folder or os.path.join(os.path.dirname(os.path.abspath(__file__)), "platforms")
    names = sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".py") and not f.startswith("_")) \
        if os.path.isdir(folder) else []
    for fname in names:
        spec = importlib.util.spec_from_file_location("sim_platform_" + fname, os.path.join(folder, fname + ".py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        missing = [a for a in PLUGIN_API if not hasattr(mod, a)]
        if missing:
            raise RuntimeError("platforms/%s.py lacks %s" % (fname, ", ".join(missing)))
        if mod.NAME != fname or mod.NAME in RESERVED or mod.NAME in PLATFORMS or not PLUGIN_RE.match("/%s/x" % mod.NAME):
            raise RuntimeError("platforms/%s.py: NAME must be the file name, [a-z][a-z0-9_]*, and new" % fname)
        for k, v in getattr(mod, "CONFIG", {}).items():
            if k in DEFAULT_CONFIG or isinstance(v, bool) or not isinstance(v, (int, float)):
                raise RuntimeError("platforms/%s.py: knob %s must be new and a number" % (fname, k))
            DEFAULT_CONFIG[k] = v
            PLUGIN_KNOBS.add(k)
        PLATFORMS[mod.NAME] = mod


load_platforms()


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="sim.py", description="invkit platform simulator (Shopify GraphQL Admin + WooCommerce REST v3). "
                                   "Binds 127.0.0.1 only; prints 'port N' first on stdout.")
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: the OS chooses)")
    ap.add_argument("--seed", default="0", help="seed for sample data, fault probabilities and random sales")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--state", metavar="FILE.json", help="initial state (see README.md for the shape)")
    g.add_argument("--sample", type=int, metavar="N", help="generate shop/site \"demo\" with N items each "
                                                           "(default when no --state: 20)")
    ap.add_argument("--scale", type=float, default=None, help="multiply Shopify's restore rate (time compression)")
    ap.add_argument("--bucket", type=float, default=None, help="Shopify bucket size (maximumAvailable)")
    ap.add_argument("--restore-rate", type=float, default=None, help="Shopify restore rate, points/s before --scale")
    ap.add_argument("--max-query-cost", type=int, default=None, help="Shopify single-query cost limit")
    ap.add_argument("--throttle-status", type=int, choices=(200, 429), default=None,
                    help="HTTP status of a THROTTLED answer (default 200)")
    ap.add_argument("--stale-mode", choices=("call", "entry"), default=None,
                    help="a stale changeFromQuantity fails the whole call (default) or only that entry")
    ap.add_argument("--woo-batch-limit", type=int, default=None, help="WooCommerce batch item limit (100)")
    ap.add_argument("-v", "--verbose", action="store_true", help="log requests to stderr")
    ap.add_argument("--version", action="version", version="sim.py " + VERSION)
    a = ap.parse_args(argv)
    if not 0 <= a.port <= 65535:
        ap.error("--port must be 0..65535")
    seed = int(a.seed) if re.fullmatch(r"-?\d+", a.seed) else a.seed
    try:
        if a.state:
            with open(a.state, encoding="utf-8") as fh:
                doc = json.load(fh)
        else:
            n = 20 if a.sample is None else a.sample
            if n < 0:
                ap.error("--sample must be >= 0")
            doc = sample_state(n, seed)
        state = load_state(doc)
    except OSError as e:
        sys.stderr.write("sim.py: %s: %s\n" % (a.state, e.strerror))
        return 66
    except ValueError as e:
        sys.stderr.write("sim.py: %s: not valid JSON: %s\n" % (a.state, e))
        return 65
    except BadState as e:
        sys.stderr.write("sim.py: %s: %s\n" % (a.state or "sample", e))
        return 65
    config = OrderedDict(DEFAULT_CONFIG)
    for opt, key in (("scale", "scale"), ("bucket", "bucket_size"), ("restore_rate", "restore_rate"),
                     ("max_query_cost", "max_query_cost"), ("throttle_status", "throttle_status"),
                     ("stale_mode", "stale_mode"), ("woo_batch_limit", "woo_batch_limit")):
        v = getattr(a, opt)
        if v is not None:
            config[key] = v
    if config["scale"] <= 0:
        ap.error("--scale must be > 0")
    sim = Sim(state, seed, config, a.verbose)
    try:
        srv = SimServer(("127.0.0.1", a.port), Handler, sim)
    except OSError as e:
        sys.stderr.write("sim.py: cannot listen on 127.0.0.1:%d: %s\n" % (a.port, e.strerror))
        return 69

    def on_signal(signum, frame):
        sim.stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, name="sim-accept", daemon=True)
    t.start()
    try:
        sys.stdout.write("port %d\n" % srv.server_address[1])
        sys.stdout.flush()
    except OSError:
        pass
    try:
        while not sim.stop_event.wait(0.5):
            pass
    finally:
        sim.stop_event.set()
        srv.shutdown()
        srv.close_connections()
        srv.server_close()
        t.join(2.0)
    if a.verbose:
        sys.stderr.write("sim: stopped\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
