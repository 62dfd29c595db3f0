"""Exact arithmetic without ``eval``: an expression parsed by ``ast`` and walked node by node.

Only numbers, the arithmetic operators and a fixed set of functions and constants are
allowed; names, attributes, calls of anything else, subscripts and comprehensions are
refused. Integers and decimals are exact (``0.1`` is the fraction 1/10); irrational
functions (``sqrt``, ``log``, ``sin`` ...) give floats. Every result is bounded before it
is computed (``9**9**9`` is refused at once, not after an hour), and so are the length
of the expression and the depth of its nesting. Pure: no I/O.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

from orchestrator.errors import ToolError
from tools.registry import Tool, make_tool

Number = int | Fraction | float

MAX_CHARS = 2_000
MAX_NESTING = 40
MAX_DEPTH = 400
# The largest integer part (in bits) of any intermediate or final value: about 3,000 digits.
MAX_BITS = 10_000
MAX_FACTORIAL = 1_000
SHOWN_DIGITS = 20
CALCULATOR_TIMEOUT_S = 5.0

_CONSTANTS: dict[str, Number] = {"pi": math.pi, "e": math.e, "tau": math.tau}


def _sqrt(x: Number) -> Number:
    if x < 0:
        raise ToolError(f"sqrt of a negative number ({_show(x)}) is not a real number")
    if isinstance(x, int):
        root = math.isqrt(x)
        if root * root == x:
            return root
    if isinstance(x, Fraction):
        num, den = math.isqrt(x.numerator), math.isqrt(x.denominator)
        if num * num == x.numerator and den * den == x.denominator:
            return Fraction(num, den)
    return math.sqrt(x)


def _log(x: Number, base: Number | None = None) -> float:
    if x <= 0 or (base is not None and (base <= 0 or base == 1)):
        raise ToolError("log needs a positive number (and a positive base other than 1)")
    return math.log(x) if base is None else math.log(x, base)


def _factorial(x: Number) -> int:
    if not isinstance(x, int) or x < 0:
        raise ToolError(f"factorial needs a non-negative integer, got {_show(x)}")
    if x > MAX_FACTORIAL:
        raise ToolError(f"factorial({x}) is too large (the limit is factorial({MAX_FACTORIAL}))")
    return math.factorial(x)


def _integers(name: str, fn: Callable[..., int]) -> Callable[..., int]:
    def checked(*args: Number) -> int:
        if not all(isinstance(a, int) for a in args):
            raise ToolError(f"{name} needs integers, got {', '.join(_show(a) for a in args)}")
        return fn(*args)

    return checked


def _round(x: Number, digits: int = 0) -> Number:
    if not isinstance(digits, int) or abs(digits) > 100:
        raise ToolError("round takes a whole number of digits between -100 and 100")
    if isinstance(x, float):
        return _normal(round(x, digits))
    return _normal(round(Fraction(x), digits))


_FUNCTIONS: dict[str, Callable[..., Number]] = {
    "abs": abs,
    "sqrt": _sqrt,
    "log": _log,
    "ln": _log,
    "log10": lambda x: _log(x, 10),
    "log2": lambda x: _log(x, 2),
    "exp": lambda x: math.exp(_check_exp(x)),
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "floor": math.floor,
    "ceil": math.ceil,
    "round": _round,
    "min": min,
    "max": max,
    "gcd": _integers("gcd", math.gcd),
    "lcm": _integers("lcm", math.lcm),
    "factorial": _factorial,
}

_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//"}


def _check_exp(x: Number) -> Number:
    if x > 700:
        raise ToolError(f"exp({_show(x)}) overflows; keep the exponent at most 700")
    return x


def _show(x: Number) -> str:
    if isinstance(x, Fraction):
        return f"{x.numerator}/{x.denominator}"
    return repr(x) if isinstance(x, float) else str(x)


def _bits(x: Number) -> int:
    if isinstance(x, int):
        return x.bit_length()
    if isinstance(x, Fraction):
        return max(x.numerator.bit_length() - x.denominator.bit_length(), 0)
    return 0 if not math.isfinite(x) else max(int(abs(x)).bit_length(), 0)


def _normal(x: Number) -> Number:
    """A fraction with denominator 1 becomes an int; an infinite or NaN float is refused."""
    if isinstance(x, Fraction) and x.denominator == 1:
        x = x.numerator
    if isinstance(x, float) and not math.isfinite(x):
        raise ToolError("the result is not a finite number (an overflow, or a division by zero)")
    if _bits(x) > MAX_BITS or (isinstance(x, Fraction) and x.denominator.bit_length() > MAX_BITS):
        raise ToolError(
            f"a value is too large: more than {MAX_BITS} bits (about 3,000 digits), the limit"
        )
    return x


def _power(base: Number, exponent: Number) -> Number:
    """``base ** exponent``, refused before computing when the result would be too large."""
    if isinstance(exponent, int) and isinstance(base, int | Fraction):
        fraction = Fraction(base)
        parts = (abs(fraction.numerator), fraction.denominator)
        magnitude = max(abs(math.log2(part)) for part in parts) if fraction.numerator else 0.0
        if magnitude * abs(exponent) > MAX_BITS:
            raise ToolError(
                f"{_show(base)} ** {exponent} is too large to compute exactly (more than "
                f"{MAX_BITS} bits, about 3,000 digits); use smaller numbers"
            )
        if exponent < 0 and base == 0:
            raise ToolError("0 cannot be raised to a negative power (division by zero)")
        return Fraction(base) ** exponent
    if abs(float(exponent)) * max(math.log2(abs(float(base))) if base else 0.0, 0.0) > 1023:
        raise ToolError(f"{_show(base)} ** {_show(exponent)} overflows a float")
    if base < 0:
        raise ToolError(f"a negative number ({_show(base)}) to a fractional power is not real")
    result: float = float(base) ** float(exponent)
    return result


def _nesting(expression: str) -> int:
    depth = deepest = 0
    for char in expression:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest


class _Evaluator:
    """Walks an expression's syntax tree, allowing only the whitelisted nodes."""

    def __init__(self, source: str) -> None:
        self.source = source

    def eval(self, node: ast.AST, depth: int = 0) -> Number:
        if depth > MAX_DEPTH:
            raise ToolError(f"the expression nests deeper than {MAX_DEPTH} levels; simplify it")
        if isinstance(node, ast.Expression):
            return self.eval(node.body, depth + 1)
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = self.eval(node.operand, depth + 1)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            return self._binary(node, depth)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        if isinstance(node, ast.Name):
            if node.id in _CONSTANTS:
                return _CONSTANTS[node.id]
            raise ToolError(
                f"unknown name {node.id!r}; the calculator knows the constants "
                f"{', '.join(_CONSTANTS)} and the functions {', '.join(_FUNCTIONS)}"
            )
        raise ToolError(
            f"{self._text(node)!r} is not arithmetic ({type(node).__name__} is not allowed); "
            f"use numbers, + - * / // % **, parentheses and the functions "
            f"{', '.join(_FUNCTIONS)}"
        )

    def _constant(self, node: ast.Constant) -> Number:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ToolError(f"{value!r} is not a number; the calculator takes numbers only")
        if isinstance(value, float):
            # The literal as written, exactly: 0.1 is 1/10, not the float nearest to it.
            literal = self._text(node).replace("_", "")
            try:
                return _normal(Fraction(Decimal(literal)))
            except ArithmeticError:
                return value
        return _normal(value)

    def _binary(self, node: ast.BinOp, depth: int) -> Number:
        left = self.eval(node.left, depth + 1)
        right = self.eval(node.right, depth + 1)
        if isinstance(node.op, ast.Pow):
            return _normal(_power(left, right))
        fn = _BINARY.get(type(node.op))
        if fn is None:
            raise ToolError(
                f"operator {type(node.op).__name__} is not allowed; use + - * / // % **"
            )
        if isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod) and right == 0:
            raise ToolError(f"division by zero in {self._text(node)!r}")
        if isinstance(node.op, ast.Mult) and _bits(left) + _bits(right) > MAX_BITS:
            raise ToolError(f"{self._text(node)!r} is too large (more than {MAX_BITS} bits)")
        exact = not isinstance(left, float) and not isinstance(right, float)
        if isinstance(node.op, ast.Div) and exact:
            return _normal(Fraction(left) / Fraction(right))
        return _normal(fn(left, right))

    def _call(self, node: ast.Call, depth: int) -> Number:
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            raise ToolError(
                f"{self._text(node.func)!r} is not a function the calculator knows; use one of "
                f"{', '.join(_FUNCTIONS)}"
            )
        if node.keywords:
            raise ToolError(f"{node.func.id}() takes positional arguments only")
        args = [self.eval(arg, depth + 1) for arg in node.args]
        try:
            return _normal(_FUNCTIONS[node.func.id](*args))
        except ToolError:
            raise
        except (TypeError, ValueError, OverflowError, ZeroDivisionError) as exc:
            raise ToolError(f"{self._text(node)!r} failed: {exc}") from None

    def _text(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or type(node).__name__


def evaluate(expression: str) -> Number:
    """The exact value of ``expression``; a ``ToolError`` says what is not allowed and why."""
    text = expression.strip()
    if not text:
        raise ToolError("the expression is empty; pass arithmetic such as '2 * (3 + 4)'")
    if len(text) > MAX_CHARS:
        raise ToolError(f"the expression has {len(text)} characters; the limit is {MAX_CHARS}")
    if _nesting(text) > MAX_NESTING:
        raise ToolError(
            f"the expression nests brackets {_nesting(text)} deep; the limit is {MAX_NESTING}, "
            f"so simplify it"
        )
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, SyntaxError) else type(exc).__name__
        raise ToolError(
            f"{text[:200]!r} is not a valid expression ({reason}); write arithmetic such as "
            f"'(1 + 2) / 3' or 'sqrt(2) * pi'"
        ) from None
    return _Evaluator(text.replace("^", "**")).eval(tree)


def format_number(value: Number) -> str:
    """A result as text: an int, ``p/q ≈ decimal`` for a fraction, or a float."""
    if isinstance(value, Fraction):
        approx = Decimal(value.numerator) / Decimal(value.denominator)
        return f"{value.numerator}/{value.denominator} ≈ {approx:.{SHOWN_DIGITS}g}"
    return repr(value) if isinstance(value, float) else str(value)


def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression exactly (integers, fractions, decimals, powers).

    Supports + - * / // % ** (or ^), parentheses, the constants pi, e and tau, and the
    functions abs, sqrt, log (ln), log10, log2, exp, sin, cos, tan, asin, acos, atan,
    floor, ceil, round, min, max, gcd, lcm and factorial. Decimals are exact: 0.1 + 0.2
    is 3/10.

    Args:
        expression: the arithmetic to evaluate, e.g. "(2**64 - 1) / 3" or "sqrt(2) * pi".
    """
    return format_number(evaluate(expression))


def calculator_tool() -> Tool:
    """The ``calculator`` tool (many calls may run at once; each takes milliseconds)."""
    return make_tool(calculator, concurrency=16, timeout_s=CALCULATOR_TIMEOUT_S)
