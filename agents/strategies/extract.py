"""Final-answer extraction and normalization for voting (self-consistency, Wang et al., 2023).

Self-consistency votes over *final answers*, not whole reasoning traces, so each sampled
trace is reduced to a short canonical string: "1,000", "$1000" and "1000." all become
"1000", and "3.0" becomes "3". Pure functions, standard library only.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args

from orchestrator import ConfigError

ExtractMethod = Literal["last_number", "regex", "json_field", "boxed", "last_line"]
EXTRACT_METHODS: tuple[str, ...] = get_args(ExtractMethod)

# A number as written in prose: thousands separators, sign, decimals (".5" too).
_NUMBER = r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+]?\.\d+"
_NUMBER_RE = re.compile(rf"(?<![\w.])(?:{_NUMBER})(?![\w])")
_WHOLE_NUMBER_RE = re.compile(rf"^(?:{_NUMBER})\.?$")
_ANSWER_PREFIX_RE = re.compile(
    r"^(?:(?:the\s+)?final\s+answer|(?:the\s+)?answer)\s*(?:is|:|=)\s*", re.IGNORECASE
)
_BOXED_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
# Sentinel for "field not present" (a JSON null is a present value).
_MISSING: Any = object()
_WRAPPERS = (("**", "**"), ("__", "__"), ("`", "`"), ('"', '"'), ("'", "'"), ("$", "$"))


def normalize_answer(answer: str) -> str:
    """Canonical form of an answer so that equal answers vote together.

    Strips whitespace, markdown/quote/LaTeX-dollar wrappers, an "Answer:" prefix and
    trailing punctuation; numbers lose thousands separators, currency signs and
    trailing zeros ("1,000.50" -> "1000.5", "3.0" -> "3"); other text is case-folded
    with whitespace collapsed.
    """
    text = answer.strip()
    changed = True
    while changed and text:
        changed = False
        stripped = _ANSWER_PREFIX_RE.sub("", text).rstrip(".;,!?:").strip()
        if stripped != text:
            text, changed = stripped, True
        for left, right in _WRAPPERS:
            if (
                len(text) > len(left) + len(right)
                and text.startswith(left)
                and text.endswith(right)
            ):
                text, changed = text[len(left) : -len(right)].strip(), True
    number = _canonical_number(text.removeprefix("$").removeprefix("€").removeprefix("£"))
    if number is not None:
        return number
    return " ".join(text.split()).casefold()


def _canonical_number(text: str) -> str | None:
    """The shortest decimal spelling of ``text`` if it is one number, else None."""
    if not _WHOLE_NUMBER_RE.match(text):
        return None
    try:
        value = Decimal(text.rstrip(".").replace(",", ""))
    except InvalidOperation:
        return None
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def compile_answer_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a user's answer regex; it must compile and capture the answer in a group.

    The group named ``answer`` is used if present, else group 1.
    """
    try:
        compiled = re.compile(pattern, re.IGNORECASE | re.MULTILINE)
    except re.error as exc:
        raise ConfigError(
            f"answer pattern {pattern!r} is not a valid regular expression ({exc}); "
            "fix the regex, e.g. 'answer is\\s*(\\S+)'"
        ) from None
    if compiled.groups < 1:
        raise ConfigError(
            f"answer pattern {pattern!r} has no capturing group; wrap the answer part in "
            "parentheses, e.g. 'answer is\\s*(\\S+)', or name it (?P<answer>...)"
        )
    return compiled


def check_extraction(method: str, *, pattern: str | None = None, field: str | None = None) -> None:
    """Validate an extraction setting up front, so a bad one fails before any sampling."""
    if method not in EXTRACT_METHODS:
        raise ConfigError(
            f"answer extraction method {method!r} is unknown; use one of "
            f"{', '.join(EXTRACT_METHODS)}"
        )
    if method == "regex":
        if not pattern:
            raise ConfigError(
                "answer extraction 'regex' needs a pattern; set pattern, e.g. 'answer is\\s*(\\S+)'"
            )
        compile_answer_pattern(pattern)
    if method == "json_field" and not field:
        raise ConfigError(
            "answer extraction 'json_field' needs a field name; set field, e.g. 'answer' "
            "(dotted paths like 'result.value' reach nested objects)"
        )


def extract_answer(
    text: str,
    method: ExtractMethod,
    *,
    pattern: str | None = None,
    field: str | None = None,
    normalize: bool = True,
) -> str | None:
    """The final answer in a sampled trace, or None when it has none (the trace abstains).

    Methods: ``last_number`` (the last number in the text), ``regex`` (the last match of
    ``pattern``, its ``answer`` group or group 1), ``json_field`` (``field`` of the last
    JSON object that has it, dotted paths allowed), ``boxed`` (the last ``\\boxed{...}``,
    as in MATH-style outputs) and ``last_line`` (the last non-empty line).
    """
    check_extraction(method, pattern=pattern, field=field)
    raw: str | None
    if method == "last_number":
        raw = _last_number(text)
    elif method == "regex":
        raw = _regex(text, compile_answer_pattern(pattern or ""))
    elif method == "json_field":
        raw = _json_field(text, field or "")
    elif method == "boxed":
        raw = _last_boxed(text)
    else:
        raw = _last_line(text)
    if raw is None:
        return None
    answer = normalize_answer(raw) if normalize else raw.strip()
    return answer or None


def _last_number(text: str) -> str | None:
    matches = _NUMBER_RE.findall(text)
    return matches[-1] if matches else None


def _regex(text: str, compiled: re.Pattern[str]) -> str | None:
    found: str | None = None
    for match in compiled.finditer(text):
        group = match.group("answer") if "answer" in compiled.groupindex else match.group(1)
        if group is not None:
            found = group
    return found


def _json_field(text: str, field: str) -> str | None:
    path = field.split(".")
    found: Any = _MISSING
    for value in _json_values(text):
        picked = _dig(value, path)
        if picked is not _MISSING:
            found = picked
    if found is _MISSING or found is None:
        return None
    if isinstance(found, str):
        return found
    if isinstance(found, bool):
        return "true" if found else "false"
    if isinstance(found, int | float):
        return repr(found)
    return json.dumps(found, sort_keys=True)


def _json_values(text: str) -> list[Any]:
    """Every top-level JSON object or array embedded in ``text`` (fenced or not), in order."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    index = 0
    while True:
        starts = [i for i in (text.find("{", index), text.find("[", index)) if i >= 0]
        if not starts:
            return values
        start = min(starts)
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            index = start + 1
            continue
        values.append(value)
        index = end


def _dig(value: Any, path: list[str]) -> Any:
    for key in path:
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return _MISSING
    return value


def _last_boxed(text: str) -> str | None:
    """Contents of the last ``\\boxed{...}``, with nested braces balanced."""
    found: str | None = None
    for match in _BOXED_RE.finditer(text):
        depth = 1
        for i in range(match.end(), len(text)):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    found = text[match.end() : i]
                    break
    return found


def _last_line(text: str) -> str | None:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else None
