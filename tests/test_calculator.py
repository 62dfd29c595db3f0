"""The calculator: exact arithmetic, no eval, bounded before computing."""

from __future__ import annotations

import pytest

from orchestrator.errors import ToolError
from tools.calculator import calculator, calculator_tool, evaluate


@pytest.mark.parametrize(
    ("expression", "shown"),
    [
        ("0.1 + 0.2", "3/10 ≈ 0.3"),
        ("(2**64 - 1) / 3", "6148914691236517205"),
        ("1/3", "1/3 ≈ 0.33333333333333333333"),
        ("2^10", "1024"),
        ("sqrt(16) + sqrt(1/4)", "9/2 ≈ 4.5"),
        ("factorial(20)", "2432902008176640000"),
        ("gcd(12, 18) * lcm(4, 6)", "72"),
        ("-3**2", "-9"),
        ("2**-3", "1/8 ≈ 0.125"),
        ("round(2/3, 3)", "667/1000 ≈ 0.667"),
        ("7 // 2 + 7 % 2", "4"),
    ],
)
def test_arithmetic_is_exact(expression: str, shown: str) -> None:
    assert calculator(expression) == shown


def test_irrational_functions_give_floats() -> None:
    assert float(calculator("sqrt(2) * pi")) == pytest.approx(4.442882938158366)
    assert float(calculator("log(e**2)")) == pytest.approx(2.0)


@pytest.mark.timeout(5)
@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("9**9**9", "too large to compute"),
        ("10**5000", "too large"),
        ("2**10000 * 2**10000", "too large"),
        ("factorial(100000)", "too large"),
        ("exp(100000)", "overflows"),
        ("__import__('os')", "not a function the calculator knows"),
        ("().__class__", "not arithmetic"),
        ("[x for x in range(10)]", "not arithmetic"),
        ("open('/etc/passwd')", "not a function"),
        ("x + 1", "unknown name 'x'"),
        ("'a' * 3", "not a number"),
        ("(" * 200 + "1" + ")" * 200, "nests brackets 200 deep"),
        ("1 +", "not a valid expression"),
        ("1/0", "division by zero"),
        ("(-8) ** 0.5", "not real"),
        ("", "empty"),
        ("1" * 3000, "limit is 2000"),
    ],
)
def test_bad_and_hostile_expressions_are_refused_clearly(expression: str, words: str) -> None:
    with pytest.raises(ToolError, match=words):
        evaluate(expression)


async def test_the_tool_reports_errors_as_tool_errors() -> None:
    tool = calculator_tool()
    assert await tool.call({"expression": "6 * 7"}) == "42"
    with pytest.raises(ToolError, match=r"calculator.*too large"):
        await tool.call({"expression": "9**9**9"})
