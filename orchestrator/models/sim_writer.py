"""What the built-in simulator says when nobody scripted it: plausible, deterministic text.

Plain prompts get a few sentences woven from the prompt's own words; requests with a
JSON schema get an instance of that schema, so structured-output callers (planner,
judges) run end to end against the simulator. Same request, same seed, same sample
index: same reply. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from typing import Any

from orchestrator.models.protocol import GenerateRequest
from orchestrator.testing import ScriptedModel

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")
# fmt: off
_STOPWORDS = frozenset([
    "that", "this", "with", "from", "have", "what", "when", "where", "which", "will", "would",
    "could", "should", "about", "their", "there", "these", "those", "into", "your", "them",
    "then", "than", "they", "been", "were", "does", "more", "most", "some", "such", "only",
    "also", "very", "just", "over", "each", "answer", "question", "please", "write",
])
# fmt: on
_FILLER = ["the system", "the evidence", "this approach", "the result", "the design"]
_TEMPLATES = [
    "In short, {a} depends on {b}.",
    "The main point is that {a} shapes {b} more than it first appears.",
    "Looking at {a} first makes {b} easier to explain.",
    "One caveat: {a} and {b} interact, so neither should be read alone.",
    "Evidence on {a} suggests {b} matters most in practice.",
    "A second look at {b} confirms the role of {a}.",
    "Taken together, {a} and {b} give a consistent picture.",
]


def _rng(request: GenerateRequest, index: int) -> random.Random:
    last = request.messages[-1].content
    seed = "" if request.seed is None else str(request.seed)
    digest = hashlib.sha256(f"{last}\x1f{index}\x1f{seed}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def plausible_text(request: GenerateRequest, index: int, sentences: int = 4) -> str:
    """A few sentences about the last message's content words."""
    rng = _rng(request, index)
    words = [w.lower() for w in _WORD.findall(request.messages[-1].content)]
    topics = [w for w in dict.fromkeys(words) if w not in _STOPWORDS] or _FILLER
    picked = [
        rng.choice(_TEMPLATES).format(a=rng.choice(topics), b=rng.choice(topics))
        for _ in range(sentences)
    ]
    return " ".join(picked)


def example_from_schema(
    schema: dict[str, Any],
    rng: random.Random,
    *,
    root: dict[str, Any] | None = None,
    depth: int = 0,
) -> Any:
    """A value that follows ``schema`` (objects, arrays, enums, refs, anyOf; best effort)."""
    root = schema if root is None else root
    if depth > 8:
        return None
    if "$ref" in schema:
        target: Any = root
        for part in str(schema["$ref"]).removeprefix("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return example_from_schema(target, rng, root=root, depth=depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return rng.choice(schema["enum"])
    for combinator in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(combinator, []) if o.get("type") != "null"]
        if options:
            return example_from_schema(options[0], rng, root=root, depth=depth + 1)
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props: dict[str, Any] = schema.get("properties", {})
        return {
            key: example_from_schema(sub, rng, root=root, depth=depth + 1)
            for key, sub in props.items()
        }
    if kind == "array":
        low = int(schema.get("minItems", 1))
        high = max(low, min(int(schema.get("maxItems", 3)), 3))
        item = schema.get("items", {})
        return [
            example_from_schema(item, rng, root=root, depth=depth + 1)
            for _ in range(rng.randint(low, high))
        ]
    if kind == "integer":
        low = int(schema.get("minimum", 0))
        return rng.randint(low, int(schema.get("maximum", low + 9)))
    if kind == "number":
        floor = float(schema.get("minimum", 0.0))
        return round(rng.uniform(floor, float(schema.get("maximum", floor + 1.0))), 3)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    word = rng.choice(["alpha", "beta", "gamma", "delta", "summary", "finding"])
    text = f"{word} {rng.randint(1, 99)}"
    text = text.ljust(int(schema.get("minLength", 0)), "x")[: schema.get("maxLength")]
    pattern = schema.get("pattern")
    return text if pattern is None else _matching(str(pattern), text)


def _matching(pattern: str, text: str) -> str:
    """A string the ``pattern`` accepts, as guided decoding would give: common shapes tried."""
    shapes = [text, f"{text}?", f"What about {text}?", f"What is the role of {text}?"]
    shapes += [text.replace(" ", "-"), text.replace(" ", "_"), text.split()[0]]
    try:
        compiled = re.compile(pattern)
    except re.error:
        return text
    return next((shape for shape in shapes if compiled.search(shape)), text)


def write_reply(request: GenerateRequest, index: int) -> str:
    """The simulator's default reply: schema-following JSON, or plausible prose."""
    if request.json_schema is not None:
        return json.dumps(example_from_schema(request.json_schema, _rng(request, index)))
    return plausible_text(request, index)


def default_backend(name: str = "breadth-sim") -> ScriptedModel:
    """The backend ``breadth simulate`` serves: deterministic, plausible, instant."""
    return ScriptedModel(write_reply, name=name)
