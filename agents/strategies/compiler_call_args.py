"""A planned tool call's argument text as plain data (pure): ``q="x", doc=$1``.

The text is parsed as Python call arguments (literals only, JSON's true/false/null too);
``$n`` / ``${n}`` references to earlier calls' results (LLMCompiler, Kim et al., 2023)
are kept as ``"$n"`` strings for ``compiler_plan.resolve_args``; ``$$`` is a literal ``$``.
"""

from __future__ import annotations

import ast
import re
from typing import Any

REFERENCE_RE = re.compile(r"\$\$|\$\{(\d+)\}|\$(\d+)(?!\d)")
_PLACEHOLDER = "__breadth_ref_{}__"
_PLACEHOLDER_RE = re.compile(r"^__breadth_ref_(\d+)__$")
_JSON_NAMES: dict[str, Any] = {"true": True, "false": False, "null": None, "none": None}


def _mask_references(text: str) -> str:
    """Replace ``$n`` / ``${n}`` outside string literals by identifiers Python can parse."""
    out: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        char = text[i]
        if quote is not None:
            out.append(char)
            if char == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
            out.append(char)
        elif char == "$":
            match = REFERENCE_RE.match(text, i)
            if match is not None and match.lastindex:
                out.append(_PLACEHOLDER.format(match.group(1) or match.group(2)))
                i = match.end()
                continue
            out.append(char)
        else:
            out.append(char)
        i += 1
    return "".join(out)


def _literal(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant) and (
        node.value is None or isinstance(node.value, str | int | float)
    ):
        return node.value
    if isinstance(node, ast.Name):
        placeholder = _PLACEHOLDER_RE.match(node.id)
        if placeholder is not None:
            return f"${placeholder.group(1)}"
        if node.id.lower() in _JSON_NAMES:
            return _JSON_NAMES[node.id.lower()]
        raise ValueError(f"bare name {node.id!r}; quote text arguments")
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return [_literal(item) for item in node.elts]
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise ValueError("'**' in a dict is not supported")
        return {
            str(_literal(k)): _literal(v) for k, v in zip(node.keys, node.values, strict=True) if k
        }
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _literal(node.operand)
        if isinstance(operand, int | float) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
    raise ValueError(f"unsupported argument {ast.unparse(node)!r}; use literals and $n references")


def parse_call_args(text: str) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments of a call's argument text, as plain data."""
    try:
        tree = ast.parse(f"f({_mask_references(text)})", mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"arguments {text!r} do not parse ({exc.msg})") from None
    call = tree.body
    if not isinstance(call, ast.Call):
        raise ValueError(f"arguments {text!r} do not parse")
    positional = []
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            raise ValueError("'*' arguments are not supported")
        positional.append(_literal(arg))
    keywords: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise ValueError("'**' arguments are not supported")
        keywords[keyword.arg] = _literal(keyword.value)
    return positional, keywords
