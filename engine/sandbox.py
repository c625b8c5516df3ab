"""The restricted evaluator for designers' scripts and conditions.

Script-task bodies, sequence-flow conditions and DMN cells are written by process
designers, not by us, and they run inside the engine process on every transition.
Plain ``eval``/``exec`` (SpiffWorkflow's default ``TaskDataEnvironment``) would hand
them the whole interpreter: imports, files, ``().__class__.__base__.__subclasses__()``.

Rather than writing our own interpreter we compile with RestrictedPython, whose
AST policy is small, long-lived and reviewed: it rejects ``_``-prefixed names and
attributes at compile time and routes every attribute read, item read, iteration,
item write and augmented assignment through guard functions that we supply. On
top of that policy this module

* refuses imports, classes, ``with`` blocks, ``str.format``/``format_map``/``mro``
  and calls to introspection builtins (``open``, ``getattr``, ``type`` ...) at
  compile time, and offers only a short list of builtins at run time;
* caps the size of ``+``, ``*``, ``**``, ``<<``, ``pow`` and ``range`` results
  (string methods such as ``ljust``/``join``/``replace`` and format widths are
  bounded only by the time limit);
* bounds running time with a per-thread trace function that is installed only
  while sandboxed code runs. The timeout is raised as an exception scripts cannot
  catch; ``finally`` blocks and ``while`` bodies start with a deadline check,
  because CPython drops the trace function once it has raised and emits no line
  event for ``while True: pass``;
* turns every failure into :class:`ScriptFailed` and every refusal into
  :class:`ScriptRefused`.

Compiled code is cached by source text, so a condition that has been seen before
costs a dictionary copy and one guarded ``eval``.

Task data is expected to be JSON-like (dicts, lists, strings, numbers, booleans,
``None``, dates). Only dicts and lists may be changed in place. Values passed in
``environment_globals`` or ``external_context`` are trusted and exposed as they are.
"""

from __future__ import annotations

import ast
import functools
import io
import operator
import re
import sys
import textwrap
import threading
import time
import tokenize
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from types import CodeType, FrameType, ModuleType
from typing import Any, Final, NoReturn, TypeVar

from RestrictedPython.compile import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence, safe_builtins
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, RestrictingNodeTransformer
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.errors import ScriptFailed, ScriptRefused

__all__ = ["SandboxEnvironment", "camunda_to_python", "compile_problem", "data_size_over"]

_FILENAME: Final = "<cityflow-script>"

#: Largest sequence that ``*`` (repetition) or ``range`` may produce.
MAX_ITEMS: Final = 1_000_000
#: Largest integer, in bits, that ``*``, ``**``, ``<<`` or ``pow`` may produce.
MAX_INT_BITS: Final = 1_000_000

_Tracer = Callable[[FrameType, str, Any], Any]
_Node = TypeVar("_Node", bound=ast.AST)


# --------------------------------------------------------------------------- control flow
class _Timeout(BaseException):
    """Raised by the tracer at the deadline; scripts cannot name or catch it."""


class _Refusal(BaseException):
    """Raised by a guard; a BaseException so that ``except Exception`` cannot swallow it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _refuse(message: str) -> NoReturn:
    raise _Refusal(message)


# --------------------------------------------------------------------------- compile-time policy
#: Builtins whose only uses are introspection, I/O or code generation.
_REFUSED_NAMES: Final = frozenset(
    {
        "__import__",
        "breakpoint",
        "classmethod",
        "compile",
        "delattr",
        "dir",
        "eval",
        "exec",
        "exit",
        "getattr",
        "globals",
        "hasattr",
        "help",
        "input",
        "locals",
        "memoryview",
        "object",
        "open",
        "property",
        "quit",
        "setattr",
        "staticmethod",
        "super",
        "type",
        "vars",
    }
)
#: Attributes that reach object internals without a leading underscore.
_REFUSED_ATTRIBUTES: Final = frozenset({"format", "format_map", "mro"})

_BINOP_HOOKS: Final[dict[type[ast.operator], str]] = {
    ast.Add: "_add_",
    ast.Mult: "_mul_",
    ast.Pow: "_pow_",
    ast.LShift: "_lshift_",
}

_IOPERATOR: Final[dict[type[ast.operator], str]] = {
    ast.Add: "+=",
    ast.Sub: "-=",
    ast.Mult: "*=",
    ast.Div: "/=",
    ast.Mod: "%=",
    ast.Pow: "**=",
    ast.LShift: "<<=",
    ast.RShift: ">>=",
    ast.BitOr: "|=",
    ast.BitXor: "^=",
    ast.BitAnd: "&=",
    ast.FloorDiv: "//=",
    ast.MatMult: "@=",
}


def _located(new: _Node, old: ast.AST) -> _Node:
    """Give the generated node ``new`` the source position of ``old``."""
    return ast.copy_location(new, old)


def _call(hook: str, args: list[ast.expr], where: ast.AST) -> ast.Call:
    return _located(ast.Call(func=_located(ast.Name(hook, ast.Load()), where), args=args, keywords=[]), where)


def _names_exception(node: ast.expr | None) -> bool:
    """``except`` may name classes (``ValueError``, ``errors.Bad``, a tuple); nothing that runs code."""
    if node is None or isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Attribute):
        return _names_exception(node.value)
    if isinstance(node, ast.Tuple):
        return all(_names_exception(element) for element in node.elts)
    return False


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy, tightened for workflow scripts."""

    def _refuse_import(self, node: ast.Import | ast.ImportFrom) -> ast.AST:
        names = ", ".join(alias.name for alias in node.names)
        module = getattr(node, "module", None)
        self.error(node, f"import of '{module or names}' is not allowed")
        return node

    def visit_Import(self, node: ast.Import) -> ast.AST:
        return self._refuse_import(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        return self._refuse_import(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.error(node, "class definitions are not allowed")
        return node

    def visit_With(self, node: ast.With) -> ast.AST:
        self.error(node, "'with' statements are not allowed")
        return node

    def visit_Call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Name) and node.func.id in _REFUSED_NAMES:
            self.error(node, f"calling '{node.func.id}' is not allowed")
        return super().visit_Call(node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if node.attr in _REFUSED_ATTRIBUTES:
            self.error(node, f"attribute '{node.attr}' is not allowed (it can reach object internals)")
        return super().visit_Attribute(node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        hook = _BINOP_HOOKS.get(type(node.op))
        if hook is None:
            return node
        return _call(hook, [node.left, node.right], node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        target = node.target
        if not isinstance(target, ast.Subscript):
            return super().visit_AugAssign(node)
        # ``d['k'] += 1`` -> ``_augitem_(_write_(d), 'k', '+=', 1)``
        node = self.node_contents_visit(node)
        target = node.target
        assert isinstance(target, ast.Subscript)
        op = _located(ast.Constant(_IOPERATOR[type(node.op)]), node)
        statement = ast.Expr(_call("_augitem_", [target.value, target.slice, op, node.value], node))
        return _located(statement, node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        if not _names_exception(node.type):
            self.error(node, "'except' must name exception classes")
            return node
        node = self.node_contents_visit(node)
        self.check_name(node, node.name)
        node.type = _call("_except_", [node.type or _located(ast.Constant(None), node)], node)
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        # CPython 3.11 emits no line event for a loop that jumps to itself
        # (``while True: pass``), so every ``while`` body starts with a deadline check.
        node = self.node_contents_visit(node)
        check = ast.Expr(_call("_deadline_", [], node.body[0]))
        node.body.insert(0, _located(check, node.body[0]))
        return node

    def visit_Try(self, node: ast.Try) -> ast.AST:
        node = self.node_contents_visit(node)
        if node.finalbody:
            check = ast.Expr(_call("_deadline_", [], node.finalbody[0]))
            node.finalbody.insert(0, _located(check, node.finalbody[0]))
        return node


# --------------------------------------------------------------------------- compilation (cached)
@dataclass(frozen=True, slots=True)
class _Compiled:
    code: CodeType | None
    problem: str | None = None
    refused: bool = False
    bounded: bool = False  # cannot do unbounded work in one C call: may run in this process


#: Nodes that can hold the interpreter inside one C call, or for long: calls (``ljust``, 3-argument
#: ``pow``, ``join``), loops and comprehensions, functions. Code without them runs in a time bounded by
#: its length and the size of the case's data, so it need not cross to a script process.
_UNBOUNDED_NODES: Final = (
    ast.Call, ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
    ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.Try, ast.TryStar,
)
#: Operators that multiply sizes (``[[0] * 10**6] * 30``, ``'%*d' % (10**9, 1)``, ``2 ** n``, ``1 << n``).
_GROWING_OPERATORS: Final = (ast.Mult, ast.Pow, ast.LShift, ast.Mod, ast.MatMult)


def _counts(node: ast.AST) -> bool:
    """``len(x)``: the one call that costs nothing whatever ``x`` is (data holds lists, dicts and text)."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len"
            and len(node.args) == 1 and not isinstance(node.args[0], ast.Starred) and not node.keywords)


def _bounded(tree: ast.AST) -> bool:
    """Whether ``tree`` is straight-line code whose every step costs at most about the size of its data:
    a condition such as ``approved and amount < 1000`` or ``len(line_problems) == 0``, or a script of
    plain assignments. ``len`` counts only while nothing in the code names another thing ``len``."""
    nodes = list(ast.walk(tree))
    len_rebound = any(isinstance(node, ast.Name) and node.id == "len" and not isinstance(node.ctx, ast.Load)
                      for node in nodes)
    for node in nodes:
        if not len_rebound and _counts(node):
            continue
        if isinstance(node, _UNBOUNDED_NODES):
            return False
        if isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, _GROWING_OPERATORS):
            return False
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:  # f"{x:>{10**9}}"
            return False
    return True


_RP_LINE = re.compile(r"^Line (\d+): (.*?)\.?$", re.DOTALL)


def _policy_message(errors: Sequence[str]) -> str:
    match = _RP_LINE.match(errors[0])
    first = f"{match.group(2)} (line {match.group(1)})" if match else errors[0]
    first = " ".join(first.split())
    if len(errors) > 1:
        first += f" (and {len(errors) - 1} more)"
    return first


#: CPython 3.11 keeps the parser's recursion depth in one counter shared by all threads: two
#: threads parsing at once can fail with "AST constructor recursion depth mismatch". Compiling is
#: done once per text (the cache), so one at a time costs nothing.
_COMPILING = threading.Lock()


@functools.lru_cache(maxsize=4096)
def _compile(source: str, mode: str) -> _Compiled:
    with _COMPILING:
        return _compile_now(source, mode)


def parse_script(text: str) -> ast.Module:
    """``ast.parse`` for other readers of scripts (validation), one thread at a time as above."""
    with _COMPILING:
        return ast.parse(text)


def _compile_now(source: str, mode: str) -> _Compiled:
    if mode == "eval":
        text = camunda_to_python(source.strip()).strip()
    elif mode == "exec":
        text = textwrap.dedent(source)
    else:
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    try:
        tree: ast.Module | ast.Expression = (
            ast.parse(text, _FILENAME, "eval") if mode == "eval" else ast.parse(text, _FILENAME, "exec")
        )
    except SyntaxError as exc:
        where = f" (line {exc.lineno})" if exc.lineno else ""
        return _Compiled(None, f"{type(exc).__name__}: {exc.msg}{where}")
    except (ValueError, RecursionError, MemoryError) as exc:
        return _Compiled(None, f"{type(exc).__name__}: {exc}")
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    try:
        bounded = _bounded(tree)
        result = compiler(tree, _FILENAME, policy=_Policy)
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError) as exc:
        return _Compiled(None, f"{type(exc).__name__}: {exc}")
    if result.errors or result.code is None:
        return _Compiled(None, _policy_message(result.errors or ("refused",)), refused=True)
    return _Compiled(result.code, bounded=bounded)


def compile_problem(source: str, mode: str) -> str | None:
    """``None`` when ``source`` compiles under the sandbox, else a one-line reason.

    ``mode`` is ``'eval'`` (conditions, which may be Camunda ``${...}``) or ``'exec'``
    (scripts). Only what can be seen without running is reported.
    """
    if not isinstance(source, str):
        return f"expected text, got {type(source).__name__}"
    return _compile(source, mode).problem


# --------------------------------------------------------------------------- Camunda conditions
_JUEL_WORDS: Final = {
    "true": "True",
    "false": "False",
    "null": "None",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
    "div": "/",
    "mod": "%",
}
_NOT_OPERANDS: Final = frozenset(
    {
        "and",
        "or",
        "not",
        "in",
        "is",
        "if",
        "else",
        "eq",
        "ne",
        "lt",
        "gt",
        "le",
        "ge",
        "div",
        "mod",
        "instanceof",
        "lambda",
        "for",
    }
)
_SKIPPED_TOKENS: Final = frozenset(
    {tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT}
)


@dataclass(frozen=True, slots=True)
class _Token:
    type: int
    string: str
    start: int
    end: int


def _tokens(text: str) -> list[_Token] | None:
    line_starts = [0]
    line_starts.extend(index + 1 for index, char in enumerate(text) if char == "\n")
    found: list[_Token] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in _SKIPPED_TOKENS or (tok.type == tokenize.ERRORTOKEN and tok.string.isspace()):
                continue
            start = line_starts[tok.start[0] - 1] + tok.start[1]
            end = line_starts[tok.end[0] - 1] + tok.end[1]
            found.append(_Token(tok.type, tok.string, start, end))
    except (tokenize.TokenError, SyntaxError, IndexError):
        return None
    return found


class _Juel:
    """Rewrites the tokens of one JUEL condition into Python, leaving literals alone."""

    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self.toks = tokens

    def _is(self, k: int, string: str) -> bool:
        tok = self.toks[k]
        return tok.string == string and tok.type in (tokenize.OP, tokenize.ERRORTOKEN, tokenize.NAME)

    def _closing(self, k: int, stop: int) -> int | None:
        depth = 0
        for index in range(k, stop):
            tok = self.toks[index]
            if tok.type == tokenize.OP and tok.string in "([{":
                depth += 1
            elif tok.type == tokenize.OP and tok.string in ")]}":
                depth -= 1
                if depth == 0:
                    return index
        return None

    def _unary(self, k: int, stop: int) -> bool:
        tok = self.toks[k]
        if tok.string == "!" and tok.type in (tokenize.OP, tokenize.ERRORTOKEN):
            return True
        if tok.type != tokenize.NAME or tok.string not in ("not", "empty"):
            return False
        if tok.string == "not":  # Python's ``not in`` / ``is not`` stay as they are
            if k + 1 < stop and self._is(k + 1, "in"):
                return False
            if k > 0 and self._is(k - 1, "is"):
                return False
        return True

    def _operand_end(self, k: int, stop: int) -> int | None:
        """Index just past the unary operand starting at ``k`` (a primary with trailers)."""
        if k >= stop:
            return None
        tok = self.toks[k]
        if self._unary(k, stop) or (tok.type == tokenize.OP and tok.string in ("-", "+")):
            return self._operand_end(k + 1, stop)
        if tok.type == tokenize.NAME:
            if tok.string in _NOT_OPERANDS:
                return None
            k += 1
        elif tok.type == tokenize.NUMBER:
            k += 1
        elif tok.type == tokenize.STRING:
            while k < stop and self.toks[k].type == tokenize.STRING:
                k += 1
        elif tok.type == tokenize.OP and tok.string in ("(", "[", "{"):
            closing = self._closing(k, stop)
            if closing is None:
                return None
            k = closing + 1
        else:
            return None
        while k < stop:
            tok = self.toks[k]
            attribute = k + 1 < stop and self.toks[k + 1].type == tokenize.NAME
            if tok.type == tokenize.OP and tok.string == "." and attribute:
                k += 2
            elif tok.type == tokenize.OP and tok.string in ("(", "["):
                closing = self._closing(k, stop)
                if closing is None:
                    return None
                k = closing + 1
            else:
                break
        return k

    def _gap(self, k: int) -> str:
        gap = self.text[self.toks[k - 1].end : self.toks[k].start]
        return gap.replace("\r", " ").replace("\n", " ")

    def span(self, first: int, stop: int) -> str:
        parts: list[str] = []
        spaced = False  # the last piece was a word we put in; keep it apart from the next

        def word(piece: str) -> None:
            nonlocal spaced
            if parts and not parts[-1][-1:].isspace():
                parts.append(" ")
            parts.append(piece)
            spaced = True

        k = first
        while k < stop:
            tok = self.toks[k]
            if k > first:
                gap = self._gap(k)
                parts.append(gap if gap or not spaced else " ")
            spaced = False
            if self._unary(k, stop):
                end = self._operand_end(k + 1, stop)
                if end is not None:
                    operand = self.span(k + 1, end).strip()
                    if tok.string == "empty":
                        parts.append(f"({operand} in (None, '', [], {{}}))")
                    else:
                        parts.append(f"(not {operand})")
                    k = end
                    continue
                if tok.string == "!":
                    word("not")
                    k += 1
                    continue
            if (
                tok.type == tokenize.OP
                and tok.string in ("&", "|")
                and k + 1 < stop
                and self.toks[k + 1].string == tok.string
                and self.toks[k + 1].start == tok.end
            ):
                word("and" if tok.string == "&" else "or")
                k += 2
                continue
            if tok.type == tokenize.NAME:
                parts.append(_JUEL_WORDS.get(tok.string, tok.string))
            else:
                parts.append(tok.string)
            k += 1
        return "".join(parts)


_SHIFTS: Final = re.compile(r"^(plus|minus)(Years|Months|Weeks|Days|Hours|Minutes|Seconds)$")
_DATE_STARTS: Final = frozenset({"now", "dateTime"})


def _date_chain(text: str) -> tuple[str, str | None]:
    """The first date chain of a JUEL expression rewritten (``dateTime().plusDays(2).toDate()`` →
    ``shift_time(now(), "days", +(2))``), and the name of a date method outside the subset, if one follows."""
    tokens = _tokens(text) or []
    for k, tok in enumerate(tokens):
        if tok.type != tokenize.NAME or k + 3 > len(tokens):
            continue
        called = tok.string in _DATE_STARTS and tokens[k + 1].string == "(" and tokens[k + 2].string == ")"
        chained = (k + 2 < len(tokens) and tokens[k + 1].string == "." and _SHIFTS.match(tokens[k + 2].string)
                   and (k == 0 or tokens[k - 1].string != "."))
        if not (called or chained):
            continue
        base, j = ("now()", k + 3) if called else (tok.string, k + 1)
        while j + 2 < len(tokens) and tokens[j].string == "." and tokens[j + 2].string == "(":
            method, depth, close = tokens[j + 1].string, 0, None
            for c in range(j + 2, len(tokens)):
                depth += {"(": 1, ")": -1}.get(tokens[c].string, 0) if tokens[c].type == tokenize.OP else 0
                if depth == 0:
                    close = c
                    break
            if close is None:
                return text, None
            argument = text[tokens[j + 2].end:tokens[close].start].strip()
            shift = _SHIFTS.match(method)
            if method == "toDate" and not argument:
                pass
            elif shift and argument:
                sign = "+" if shift.group(1) == "plus" else "-"
                base = f'shift_time({base}, "{shift.group(2).lower()}", {sign}({argument}))'
            else:
                return text, method
            j = close + 1
        if base == text[tok.start:tokens[j - 1].end]:
            continue
        return text[:tok.start] + base + text[tokens[j - 1].end:], None
    return text, None


def date_arithmetic(text: str) -> tuple[str, str | None]:
    """JUEL's date arithmetic (Joda's ``plusDays`` … ``minusYears``, ``toDate()``, on ``now()``,
    ``dateTime()`` or a variable) as calls of ``shift_time``; and the first date method outside that
    subset, which validate refuses by name."""
    for _ in range(50):
        rewritten, outside = _date_chain(text)
        if outside is not None or rewritten == text:
            return rewritten, outside
        text = rewritten
    return text, None


def camunda_to_python(expression: str) -> str:
    """Translate a simple Camunda JUEL condition (``${...}`` or ``#{...}``) to Python.

    ``${approved}`` -> ``approved``; ``${!a && b}`` -> ``(not a) and b``; ``eq ne lt gt
    le ge`` become comparisons, ``true false null`` become ``True False None`` and
    ``empty x`` tests for None or an empty string, list or map. String literals are
    never rewritten. Anything not wrapped in ``${...}``/``#{...}`` is returned unchanged.
    """
    text = expression.strip()
    if len(text) < 3 or text[:2] not in ("${", "#{") or not text.endswith("}"):
        return expression
    inner, _ = date_arithmetic(text[2:-1].strip())
    tokens = _tokens(inner)
    if tokens is None:
        return inner
    depth = 0
    for tok in tokens:
        if tok.type == tokenize.OP and tok.string == "{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string == "}":
            depth -= 1
            if depth < 0:  # ``${a} and ${b}``: not one expression
                return expression
    try:
        return _Juel(inner, tokens).span(0, len(tokens)).strip()
    except RecursionError:  # absurdly nested operators: let the compiler report it
        return inner


# --------------------------------------------------------------------------- run-time guards
_SEQUENCES: Final = (str, bytes, bytearray, list, tuple)


def _too_big(what: str, size: int, limit: int, unit: str) -> NoReturn:
    _refuse(f"{what} would be too large (about {size:,} {unit}; the limit is {limit:,})")


def _check_product(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int):
        bits = a.bit_length() + b.bit_length()
        if bits > MAX_INT_BITS:
            _too_big("the product", bits, MAX_INT_BITS, "bits")
    elif isinstance(b, int) and isinstance(a, _SEQUENCES):
        _check_items("the repeated sequence", len(a) * b)
    elif isinstance(a, int) and isinstance(b, _SEQUENCES):
        _check_items("the repeated sequence", len(b) * a)


def _check_items(what: str, count: int) -> None:
    if count > MAX_ITEMS:
        _too_big(what, count, MAX_ITEMS, "items")


def _check_sum(a: Any, b: Any) -> None:
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        _check_items("the joined sequence", len(a) + len(b))


def _guarded_add(a: Any, b: Any) -> Any:
    _check_sum(a, b)
    return a + b


def _guarded_mul(a: Any, b: Any) -> Any:
    _check_product(a, b)
    return a * b


def _guarded_pow(base: Any, exponent: Any, modulus: Any = None) -> Any:
    if modulus is None and isinstance(base, int) and isinstance(exponent, int) and exponent > 1:
        bits = abs(base).bit_length()
        if bits > 1 and (bits - 1) * exponent > MAX_INT_BITS:
            _too_big("the power", (bits - 1) * exponent, MAX_INT_BITS, "bits")
    if modulus is None:
        return base**exponent
    return pow(base, exponent, modulus)


def _guarded_lshift(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and a and b > 0 and a.bit_length() + b > MAX_INT_BITS:
        _too_big("the shifted number", a.bit_length() + b, MAX_INT_BITS, "bits")
    return a << b


def _guarded_range(*args: int) -> range:
    result = range(*args)
    try:
        length = len(result)
    except OverflowError:
        length = MAX_ITEMS + 1
    if length > MAX_ITEMS:
        _too_big("the range", length, MAX_ITEMS, "items")
    return result


def _guarded_iadd(a: Any, b: Any) -> Any:
    _check_sum(a, b)
    a += b  # ``items += [x]`` extends the same list, as in plain Python
    return a


def _guarded_imul(a: Any, b: Any) -> Any:
    _check_product(a, b)
    a *= b
    return a


_INPLACE: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "+=": _guarded_iadd,
    "-=": operator.isub,
    "*=": _guarded_imul,
    "/=": operator.itruediv,
    "%=": operator.imod,
    "**=": _guarded_pow,
    "<<=": _guarded_lshift,
    ">>=": operator.irshift,
    "|=": operator.ior,
    "^=": operator.ixor,
    "&=": operator.iand,
    "//=": operator.ifloordiv,
    "@=": operator.imatmul,
}


def _guarded_inplace(op: str, target: Any, value: Any) -> Any:
    return _INPLACE[op](target, value)


def _guarded_write(obj: Any) -> Any:
    if isinstance(obj, (dict, list)):
        return obj
    _refuse(f"changing a {type(obj).__name__} is not allowed; only dicts and lists can be changed")


def _guarded_augitem(obj: Any, key: Any, op: str, value: Any) -> None:
    obj[key] = _guarded_inplace(op, obj[key], value)


def _guarded_getattr(obj: Any, name: str) -> Any:
    if name.startswith("_") or name in _REFUSED_ATTRIBUTES or name in INSPECT_ATTRIBUTES:
        _refuse(f"access to attribute '{name}' is not allowed")
    return getattr(obj, name)


def _guarded_except(spec: Any) -> Any:
    if spec is None:
        return Exception
    for cls in spec if isinstance(spec, tuple) else (spec,):
        if isinstance(cls, type) and issubclass(cls, BaseException) and not issubclass(cls, Exception):
            _refuse(f"catching {cls.__name__} is not allowed")
    return spec


def _apply(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return function(*args, **kwargs)


def _refused_builtin(name: str) -> Callable[..., NoReturn]:
    def refused(*args: Any, **kwargs: Any) -> NoReturn:
        _refuse(f"'{name}' is not available in scripts")

    return refused


_UNCATCHABLE: Final = frozenset({"BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit"})


def _base_builtins() -> dict[str, Any]:
    names: dict[str, Any] = {
        name: value
        for name, value in safe_builtins.items()
        if not name.startswith("_") and name not in _UNCATCHABLE and name not in ("setattr", "delattr")
    }
    names.update(
        len=len,
        min=min,
        max=max,
        sum=sum,
        sorted=sorted,
        reversed=reversed,
        enumerate=enumerate,
        zip=zip,
        any=any,
        all=all,
        range=_guarded_range,
        abs=abs,
        round=round,
        str=str,
        int=int,
        float=float,
        bool=bool,
        list=list,
        dict=dict,
        set=set,
        tuple=tuple,
        isinstance=isinstance,
        divmod=divmod,
        map=map,
        filter=filter,
        pow=_guarded_pow,
        datetime=datetime,
        date=date,
        timedelta=timedelta,
        timezone=timezone,
    )
    names.update({name: _refused_builtin(name) for name in _REFUSED_NAMES})
    return names


_BUILTINS: Final = _base_builtins()

_HOOKS: Final[dict[str, Any]] = {
    "_getattr_": _guarded_getattr,
    "_getitem_": operator.getitem,
    "_getiter_": iter,
    "_write_": _guarded_write,
    "_inplacevar_": _guarded_inplace,
    "_augitem_": _guarded_augitem,
    "_apply_": _apply,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_print_": PrintCollector,  # print() works but its output goes nowhere
    "_add_": _guarded_add,
    "_mul_": _guarded_mul,
    "_pow_": _guarded_pow,
    "_lshift_": _guarded_lshift,
    "_except_": _guarded_except,
}


def _deadline_guards(deadline: float) -> tuple[_Tracer, Callable[[], None]]:
    """The trace function for one run, and the check that starts every ``finally`` and ``while`` body."""
    now = time.monotonic

    def local(frame: FrameType, event: str, arg: Any) -> _Tracer:
        if now() > deadline:
            raise _Timeout
        return local

    def tracer(frame: FrameType, event: str, arg: Any) -> _Tracer | None:
        if frame.f_code.co_filename != _FILENAME:
            return None  # our guards and trusted helpers are not traced
        if now() > deadline:
            raise _Timeout
        return local

    def check() -> None:
        if now() > deadline:
            raise _Timeout

    return tracer, check


def _script_line(exc: BaseException) -> int | None:
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == _FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


# --------------------------------------------------------------------------- sizes
def data_size_over(value: Any, limit: int) -> bool:
    """Whether ``value`` takes more than ``limit`` bytes as JSON — counted without writing it, and
    stopping as soon as the count passes the limit (so ``[[0] * 10**6] * 30`` is judged at once).
    Strings count their UTF-8 length at most, other scalars a few bytes, containers their items."""
    size = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            size += len(item) + 2
        elif isinstance(item, bytes):
            size += len(item) * 2
        elif isinstance(item, dict):
            size += 2 + len(item)
            for key, inner in item.items():
                size += len(str(key)) + 3
                stack.append(inner)
        elif isinstance(item, list | tuple | set | frozenset):
            size += 2 + len(item)
            stack.extend(item)
        else:
            size += 8
        if size > limit:
            return True
    return False


# --------------------------------------------------------------------------- the environment
@dataclass(frozen=True, slots=True)
class _Ready:
    code: CodeType
    bounded: bool


class SandboxEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]  # untyped base
    """A SpiffWorkflow script environment that runs everything under the sandbox.

    Behaves like ``TaskDataEnvironment``: ``evaluate`` returns the value of an
    expression over the task data; ``execute`` runs a script and leaves the task
    data holding the variables it assigned, changed or deleted.

    Code that could spend long in one C call (any call, loop or size-multiplying operator: see
    ``_bounded``) runs in a process of the script pool (``engine.script_pool``), under limits the
    operating system enforces; ``isolate=False`` runs everything here (the pool's processes do).
    The helpers a script calls must then reach that process: ``helper_recipe`` gives, at each run,
    a module-level function and its arguments that build them there (``now()`` fixed at that
    moment); without one, ``environment_globals`` are sent as they are and must be picklable.
    """

    def __init__(
        self, time_limit: float = 1.0, environment_globals: dict[str, Any] | None = None, *,
        helper_recipe: Callable[[], tuple[Callable[..., dict[str, Any]], tuple[Any, ...]]] | None = None,
        result_limit: int = 1024 * 1024, isolate: bool = True,
    ) -> None:
        if not time_limit > 0:
            raise ValueError("time_limit must be positive")
        super().__init__(environment_globals)
        self.globals: dict[str, Any]
        self.time_limit = float(time_limit)
        self.helper_recipe = helper_recipe
        self.result_limit = result_limit
        self.isolate = isolate
        self._hooks: dict[str, Any] = {**_HOOKS, "__builtins__": {**_BUILTINS, **self.globals}}

    # ---- SpiffWorkflow interface
    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        compiled = self._compiled(expression, "eval")
        if self.isolate and not compiled.bounded:
            return self._elsewhere("eval", expression, context, external_context)
        namespace = {**external_context, **context} if external_context else context.copy()
        return self._run(compiled.code, namespace, expression, "eval")

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        external = external_context or {}
        overwrites = (self.globals.keys() | external.keys()) & context.keys()
        if overwrites:
            raise ScriptFailed(
                "task data overwrites predefined name(s); rename these variables or fields: "
                + ", ".join(sorted(overwrites))
            )
        compiled = self._compiled(script, "exec")
        if self.isolate and not compiled.bounded:
            left = self._elsewhere("exec", script, context, external_context)
            context.clear()
            context.update(left)
            return True
        namespace = {**external, **context}
        self._run(compiled.code, namespace, script, "exec")
        for name, value in namespace.items():
            if name.startswith("_") or name in external or name in self.globals:
                continue
            if callable(value) or isinstance(value, ModuleType):
                context.pop(name, None)
            else:
                context[name] = value
        for name in [name for name in context if name not in namespace and not name.startswith("_")]:
            del context[name]
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> NoReturn:
        raise ScriptRefused("service calls are not scripts")

    # ---- internals
    def _compiled(self, source: str, mode: str) -> _Ready:
        what = "expression" if mode == "eval" else "script"
        if not isinstance(source, str):
            raise ScriptFailed(f"the {what} must be text, not {type(source).__name__}")
        compiled = _compile(source, mode)
        if compiled.code is None:
            message = compiled.problem or "does not compile"
            if mode == "eval":
                message = f"{message} in expression {source.strip()!r}"
            raise (ScriptRefused if compiled.refused else ScriptFailed)(message)
        return _Ready(compiled.code, compiled.bounded)

    def _elsewhere(self, mode: str, source: str, context: dict[str, Any], external: dict[str, Any] | None) -> Any:
        """Run in a script process: the value of an expression, or the task data a script leaves."""
        from engine.script_pool import Job, pool

        helpers = self.helper_recipe() if self.helper_recipe is not None else self.globals
        job = Job(mode, source, context, external or None, helpers, self.time_limit, self.result_limit)
        return pool().run(job)

    def _run(self, code: CodeType, namespace: dict[str, Any], source: str, mode: str) -> Any:
        tracer, check = _deadline_guards(time.monotonic() + self.time_limit)
        namespace.update(self._hooks)
        namespace["_deadline_"] = check
        previous = sys.gettrace()
        try:
            try:
                sys.settrace(tracer)
                # ``code`` was compiled by RestrictedPython under _Policy; ``namespace`` holds the guards.
                if mode == "eval":
                    return eval(code, namespace)  # noqa: S307
                exec(code, namespace)  # noqa: S102
                return None
            finally:
                sys.settrace(previous)
        except _Timeout:
            what = "expression" if mode == "eval" else "script"
            raise ScriptFailed(f"{what} timed out after {self.time_limit}s") from None
        except _Refusal as refusal:
            raise ScriptRefused(self._where(refusal.message, refusal, source, mode)) from None
        except ScriptFailed:
            raise
        except MemoryError as exc:
            what = "expression" if mode == "eval" else "script"
            raise ScriptFailed(self._where(f"the {what} ran out of memory", exc, source, mode)) from None
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise ScriptFailed(self._where(detail, exc, source, mode)) from exc

    @staticmethod
    def _where(message: str, exc: BaseException, source: str, mode: str) -> str:
        if mode == "eval":
            return f"{message} in expression {source.strip()!r}"
        line = _script_line(exc)
        return f"{message} (line {line})" if line else message
