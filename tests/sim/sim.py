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
import copy
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
