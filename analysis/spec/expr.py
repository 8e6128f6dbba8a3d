"""A small expression language for data specifications: derived columns, rules and exclusions.

Written in a specification as text, e.g. ``"coupon_used_in_last6_month - coupon_used_in_last_month"``
(a derived column), ``"coupon_used_in_last_month <= coupon_used_in_last6_month"`` (a rule every row
must satisfy) or ``"age > 60"`` (an exclusion). The grammar is a safe subset of Python expressions,
parsed with :mod:`ast` (never evaluated by Python):

- column names (identifiers that name a column of the specification), integer and decimal literals,
  and string literals (for comparisons with a categorical column);
- arithmetic ``+ - *`` and unary minus; comparisons ``< <= > >= == !=`` (chains allowed);
  ``and``, ``or``, ``not``; parentheses;
- the functions ``least(a, b, ...)``, ``greatest(a, b, ...)`` and ``abs(a)``.

Division is left out on purpose: integer division differs between SQL dialects, and a derived count
should stay a whole number. One expression compiles to SQL (the same text for DuckDB and Spark SQL:
both read these operators and functions alike) and to a function on a pandas DataFrame; the reader
evaluates the SQL form on rows (so rule violations are reported with their file lines), and the pattern
form is only used where a table already in memory needs the same value (tests compare both).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np
import pandas as pd

FUNCTIONS = {"least": (2, None), "greatest": (2, None), "abs": (1, 1)}
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}
_CMPOPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "=", ast.NotEq: "<>"}
_PYCMP = {ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater, ast.GtE: np.greater_equal,
          ast.Eq: np.equal, ast.NotEq: np.not_equal}


class ExpressionError(ValueError):
    """An expression of a specification is not in the language (the message says what is wrong)."""


@dataclass(frozen=True)
class Expression:
    """A parsed expression: its text, the columns it names, and whether it is a condition (bool)."""

    text: str
    tree: ast.AST
    columns: tuple[str, ...]
    is_condition: bool

    def sql(self, column_sql) -> str:
        """SQL text; ``column_sql(name)`` gives the SQL expression of a column's (parsed) value."""
        return _sql(self.tree, column_sql)

    def evaluate(self, frame: pd.DataFrame) -> np.ndarray:
        """The value for every row of ``frame`` (numpy array; comparisons give booleans)."""
        return np.asarray(_eval(self.tree, frame))


def parse(text: str, known_columns) -> Expression:
    """Parse ``text``; every name must be one of ``known_columns``. Raises ExpressionError."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("an expression must be a non-empty string")
    if len(text) > 2000:
        raise ExpressionError("expression longer than 2,000 characters")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as err:
        raise ExpressionError(f"cannot parse {text!r}: {err.msg}") from None
    known = set(known_columns)
    columns: list[str] = []
    _check(tree, known, columns, text)
    return Expression(text.strip(), tree, tuple(columns), _is_condition(tree))


def value_type(expression: Expression, kinds: dict) -> str:
    """The type of ``expression``'s value -- "number", "text" or "condition" -- given the type of every name
    it uses (``kinds``: name -> "number" or "text"). Raises ExpressionError when operands do not fit:
    arithmetic, ordering and the functions take numbers; ``==`` and ``!=`` compare two numbers or two texts;
    ``and``, ``or``, ``not`` take conditions. (The SQL engines would otherwise fail at run time, or
    compare text with text where numbers were meant.)"""
    return _type(expression.tree, kinds, expression.text)


def _type(node, kinds, text) -> str:
    def need(child, wanted, what):
        got = _type(child, kinds, text)
        if got != wanted:
            plural = {"number": "numbers", "text": "text", "condition": "conditions"}
            single = {"number": "a number", "text": "text", "condition": "a condition"}
            raise ExpressionError(f"{text!r}: {what} needs {plural[wanted]}, but {ast.unparse(child)!r} is "
                                  f"{single[got]}")
        return got

    if isinstance(node, ast.Name):
        return kinds.get(node.id, "number")
    if isinstance(node, ast.Constant):
        return "text" if isinstance(node.value, str) else "number"
    if isinstance(node, ast.BinOp):
        need(node.left, "number", f"'{_BINOPS[type(node.op)]}'")
        need(node.right, "number", f"'{_BINOPS[type(node.op)]}'")
        return "number"
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            need(node.operand, "condition", "'not'")
            return "condition"
        need(node.operand, "number", "'-'")
        return "number"
    if isinstance(node, ast.Compare):
        items = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, items, items[1:]):
            a = _type(left, kinds, text)
            if isinstance(op, (ast.Eq, ast.NotEq)):
                if a == "condition":
                    raise ExpressionError(f"{text!r}: compare numbers or texts, not conditions")
                need(right, a, f"comparing {ast.unparse(left)!r} ({'text' if a == 'text' else 'a number'})")
            else:
                need(left, "number", f"'{_CMPOPS[type(op)]}'")
                need(right, "number", f"'{_CMPOPS[type(op)]}'")
        return "condition"
    if isinstance(node, ast.BoolOp):
        word = "and" if isinstance(node.op, ast.And) else "or"
        for child in node.values:
            need(child, "condition", f"'{word}'")
        return "condition"
    if isinstance(node, ast.Call):
        for child in node.args:
            need(child, "number", f"{node.func.id}()")
        return "number"
    raise ExpressionError(f"{text!r}: {type(node).__name__} is not allowed in an expression")


def _is_condition(node) -> bool:
    return isinstance(node, (ast.Compare, ast.BoolOp)) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not))


def _check(node, known, columns, text) -> None:
    if isinstance(node, ast.Name):
        if node.id not in known:
            raise ExpressionError(f"{text!r} names {node.id!r}, which is not a column of the specification")
        if node.id not in columns:
            columns.append(node.id)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float, str)):
            raise ExpressionError(f"{text!r}: only numbers and quoted text are allowed as constants")
        if isinstance(node.value, float) and not np.isfinite(node.value):
            raise ExpressionError(f"{text!r}: constants must be finite")
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            raise ExpressionError(f"{text!r}: only + - * are allowed (no division or powers)")
        _check(node.left, known, columns, text)
        _check(node.right, known, columns, text)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.Not)):
            raise ExpressionError(f"{text!r}: only unary minus and 'not' are allowed")
        _check(node.operand, known, columns, text)
    elif isinstance(node, ast.Compare):
        if any(type(op) not in _CMPOPS for op in node.ops):
            raise ExpressionError(f"{text!r}: comparisons are < <= > >= == !=")
        for child in (node.left, *node.comparators):
            _check(child, known, columns, text)
    elif isinstance(node, ast.BoolOp):
        for child in node.values:
            _check(child, known, columns, text)
    elif isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS or node.keywords:
            raise ExpressionError(f"{text!r}: functions are {', '.join(FUNCTIONS)}")
        low, high = FUNCTIONS[name]
        if len(node.args) < low or (high is not None and len(node.args) > high):
            raise ExpressionError(f"{text!r}: wrong number of arguments to {name}")
        for child in node.args:
            _check(child, known, columns, text)
    else:
        raise ExpressionError(f"{text!r}: {type(node).__name__} is not allowed in an expression")


def _literal(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _sql(node, column_sql) -> str:
    if isinstance(node, ast.Name):
        return f"({column_sql(node.id)})"
    if isinstance(node, ast.Constant):
        return _literal(node.value)
    if isinstance(node, ast.BinOp):
        return f"({_sql(node.left, column_sql)} {_BINOPS[type(node.op)]} {_sql(node.right, column_sql)})"
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            return f"(NOT {_sql(node.operand, column_sql)})"
        return f"(- {_sql(node.operand, column_sql)})"
    if isinstance(node, ast.Compare):
        parts, left = [], _sql(node.left, column_sql)
        for op, right_node in zip(node.ops, node.comparators):
            right = _sql(right_node, column_sql)
            parts.append(f"({left} {_CMPOPS[type(op)]} {right})")
            left = right
        return "(" + " AND ".join(parts) + ")"
    if isinstance(node, ast.BoolOp):
        joiner = " AND " if isinstance(node.op, ast.And) else " OR "
        return "(" + joiner.join(_sql(v, column_sql) for v in node.values) + ")"
    if isinstance(node, ast.Call):
        args = ", ".join(_sql(a, column_sql) for a in node.args)
        return f"{node.func.id}({args})"
    raise ExpressionError(f"cannot compile {type(node).__name__}")  # unreachable after _check


def _eval(node, frame):
    if isinstance(node, ast.Name):
        return frame[node.id].to_numpy()
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, frame), _eval(node.right, frame)
        return {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply}[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, frame)
        return np.logical_not(value) if isinstance(node.op, ast.Not) else np.negative(value)
    if isinstance(node, ast.Compare):
        result, left = True, _eval(node.left, frame)
        for op, right_node in zip(node.ops, node.comparators):
            right = _eval(right_node, frame)
            result = np.logical_and(result, _PYCMP[type(op)](left, right))
            left = right
        return result
    if isinstance(node, ast.BoolOp):
        values = [_eval(v, frame) for v in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        out = values[0]
        for v in values[1:]:
            out = combine(out, v)
        return out
    if isinstance(node, ast.Call):
        args = [_eval(a, frame) for a in node.args]
        if node.func.id == "abs":
            return np.abs(args[0])
        fn = np.minimum if node.func.id == "least" else np.maximum
        out = args[0]
        for a in args[1:]:
            out = fn(out, a)
        return out
    raise ExpressionError(f"cannot evaluate {type(node).__name__}")
