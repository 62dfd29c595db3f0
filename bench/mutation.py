"""Mutation testing of the pure core: mutmut, module by module, then a kill-rate table.

mutmut's settings live in ``pyproject.toml`` (``[tool.mutmut]``): which modules it mutates
(``only_mutate``) and which fast unit-test files may run against a mutant (each mutant runs
only those of their tests that execute the function it changes). This script copies the
tree to ``bench/results/mutation/tree`` (so mutmut's ``mutants/`` folder stays out of the
repository), runs ``mutmut run`` once per module with at most ``--max-children`` workers,
and prints, per module: mutants, killed, survived, equivalent, the kill rate, and the
boundary mutants killed (a comparison operator or a number changed), then every survivor
as ``file:line function [boundary] - original + mutant``.

A survivor that no test can kill because it does not change behaviour (an equivalent
mutant) is listed with its reason in ``bench/mutation_equivalents.toml`` and counted apart.

Output: the table and survivors on stdout, also ``bench/results/mutation.txt`` and
``bench/results/mutation.json``. Run: ``bash bench/mutation.sh [MODULE_PATH ...]``.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tokenize
import tomllib
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
WORK = RESULTS / "mutation"
TREE = WORK / "tree"
EQUIVALENTS = ROOT / "bench" / "mutation_equivalents.toml"
COPIED = ("orchestrator", "agents", "tools", "graphs", "tests", "pyproject.toml")

# mutmut's exit codes (mutmut/stats.py) grouped: a mutant is killed when a test failed on
# it, timed out, or crashed; anything else (survived, no test ran it, suspicious) is not.
KILLED_CODES = {1, 3, 24, -24, 36, 37, 152, 255, -9, -11}
STATUS_BY_CODE = {0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 35: "suspicious"}
BOUNDARY_TOKENS = {"<", "<=", ">", ">=", "==", "!="}


@dataclass
class Mutant:
    """One mutant of a module: where, what changed, and whether the tests killed it."""

    name: str
    module: str
    function: str
    line: int
    original: str
    mutated: str
    status: str
    boundary: bool
    reason: str = ""


@dataclass
class ModuleRow:
    """One line of the table."""

    module: str
    mutants: int = 0
    killed: int = 0
    survived: int = 0
    equivalent: int = 0
    boundary: int = 0
    boundary_killed: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def kill_rate(self) -> float:
        tested = self.mutants - self.equivalent
        return 100.0 * self.killed / tested if tested else 100.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="module paths (default: all in pyproject)")
    parser.add_argument("--max-children", type=int, default=2, help="mutmut workers (2)")
    parser.add_argument(
        "--report-only", action="store_true", help="print the table of the last run again"
    )
    args = parser.parse_args()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    modules: list[str] = args.modules or list(config["only_mutate"])
    unknown = [m for m in modules if m not in config["only_mutate"]]
    if unknown:
        parser.error(f"not in [tool.mutmut] only_mutate of pyproject.toml: {unknown}")
    if not args.report_only:
        copy_tree()
        for module in modules:
            run_module(module, args.max_children)
    equivalents = load_equivalents()
    rows, mutants = collect(modules, equivalents)
    text = render(rows, mutants, stale_equivalents(equivalents, modules, mutants))
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "mutation.txt").write_text(text + "\n")
    payload = {
        "modules": [{**asdict(row), "kill_rate": round(row.kill_rate, 1)} for row in rows],
        "mutants": [asdict(m) for m in mutants if m.status != "killed"],
    }
    (RESULTS / "mutation.json").write_text(json.dumps(payload, indent=1) + "\n")
    return 0


def copy_tree() -> None:
    """A fresh copy of the sources and tests: mutmut works in ``mutants/`` under it."""
    if TREE.exists():
        shutil.rmtree(TREE)
    TREE.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, TREE / name, ignore=ignore)
        else:
            shutil.copy2(source, TREE / name)


def run_module(module: str, max_children: int) -> None:
    """``mutmut run`` on one module's mutants; its output goes to ``<module>.log``."""
    log = WORK / (module.replace("/", ".") + ".log")
    pattern = dotted(module) + ".*"
    mutmut = Path(sys.executable).parent / "mutmut"
    started = time.monotonic()
    print(f"mutating {module} ...", end=" ", flush=True, file=sys.stderr)
    with log.open("w") as out:
        done = subprocess.run(
            [str(mutmut), "run", "--max-children", str(max_children), pattern],
            cwd=TREE,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    took = time.monotonic() - started
    print(f"{took:.0f} s (log: {log.relative_to(ROOT)})", file=sys.stderr)
    if done.returncode != 0:
        raise SystemExit(f"mutmut failed on {module} (exit {done.returncode}); see {log}")


def dotted(module: str) -> str:
    return module.removesuffix(".py").replace("/", ".")


def load_equivalents() -> dict[tuple[str, str, str, str], str]:
    """Equivalent mutants by (module, function, original line, mutated line) -> reason."""
    if not EQUIVALENTS.exists():
        return {}
    entries = tomllib.loads(EQUIVALENTS.read_text()).get("equivalent", [])
    return {
        (e["module"], e["function"], squash(e["original"]), squash(e["mutant"])): e["reason"]
        for e in entries
    }


def collect(
    modules: list[str], equivalents: dict[tuple[str, str, str, str], str]
) -> tuple[list[ModuleRow], list[Mutant]]:
    """Every mutant of ``modules`` from mutmut's results in the tree, and the table rows."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    os.chdir(TREE)  # mutmut reads its results from ./mutants

    rows: list[ModuleRow] = []
    mutants: list[Mutant] = []
    for module in modules:
        row = ModuleRow(module)
        rows.append(row)
        meta = TREE / "mutants" / (module + ".meta")
        if not meta.exists():
            continue
        codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        source = (TREE / module).read_text()
        spans = function_spans(source)
        statuses: Counter[str] = Counter()
        for name, code in sorted(codes.items(), key=lambda kv: natural_key(kv[0])):
            if code is None:
                status = "not run"
            elif code in KILLED_CODES:
                status = "killed"
            else:
                status = STATUS_BY_CODE.get(code, "suspicious")
            statuses[status] += 1
            diff = get_diff_for_mutant(name, path=module)
            function = function_name(name, module)
            removed, added, offset = changed_lines(diff)
            original, mutated = " ".join(removed), " ".join(added)
            line = locate(source, spans.get(function), removed[0] if removed else "", offset)
            boundary = is_boundary(original, mutated)
            mutant = Mutant(name, module, function, line, original, mutated, status, boundary)
            key = (module, function, squash(original), squash(mutated))
            if status != "killed" and key in equivalents:
                mutant.status, mutant.reason = "equivalent", equivalents[key]
            mutants.append(mutant)
            row.mutants += 1
            row.killed += mutant.status == "killed"
            row.equivalent += mutant.status == "equivalent"
            row.survived += mutant.status not in ("killed", "equivalent")
            row.boundary += boundary
            row.boundary_killed += boundary and mutant.status in ("killed", "equivalent")
        row.statuses = dict(statuses)
    return rows, mutants


def stale_equivalents(
    equivalents: dict[tuple[str, str, str, str], str], modules: list[str], mutants: list[Mutant]
) -> list[tuple[str, str, str, str]]:
    """Entries of the equivalents file (for ``modules``) that no surviving mutant matched:
    the code changed, or a test now kills the mutant; either way the entry should go.
    """
    used = {
        (m.module, m.function, squash(m.original), squash(m.mutated))
        for m in mutants
        if m.status == "equivalent"
    }
    return [key for key in equivalents if key[0] in modules and key not in used]


def natural_key(name: str) -> tuple[str, int]:
    base, _, number = name.rpartition("__mutmut_")
    return base, int(number) if number.isdigit() else 0


def function_name(mutant: str, module: str) -> str:
    """``orchestrator.dag.x_ready_tasks__mutmut_3`` -> ``ready_tasks``; methods ``Cls.m``."""
    local = mutant.removeprefix(dotted(module) + ".").rpartition("__mutmut_")[0]
    if local.startswith("xǁ"):
        cls, _, method = local.removeprefix("xǁ").partition("ǁ")
        return f"{cls}.{method}"
    return local.removeprefix("x_")


def function_spans(source: str) -> dict[str, tuple[int, int]]:
    """Each top-level function and method: its first and last line in the file."""
    spans: dict[str, tuple[int, int]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            spans[node.name] = (node.lineno, node.end_lineno or node.lineno)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    spans[f"{node.name}.{item.name}"] = (
                        item.lineno,
                        item.end_lineno or item.lineno,
                    )
    return spans


def changed_lines(diff: str) -> tuple[list[str], list[str], int]:
    """The removed and the added lines of a mutant's diff, and where the change starts."""
    removed: list[str] = []
    added: list[str] = []
    offset = 0
    position = 0
    for text in diff.splitlines():
        if text.startswith(("---", "+++")):
            continue
        hunk = re.match(r"@@ -(\d+)", text)
        if hunk:
            position = int(hunk.group(1))
            continue
        if text.startswith("-"):
            offset = offset or position
            removed.append(text[1:].strip())
        elif text.startswith("+"):
            added.append(text[1:].strip())
            continue
        position += 1
    return removed, added, offset


def locate(source: str, span: tuple[int, int] | None, first_removed: str, offset: int) -> int:
    """The file line of the mutated code: the line of the function that matches it, nearest
    to where the diff puts it (the diff numbers lines from the function's first line).
    """
    if span is None:
        return 0
    first, last = span
    lines = source.splitlines()
    guess = first + max(offset - 1, 0)
    matches = [
        number for number in range(first, last + 1) if lines[number - 1].strip() == first_removed
    ]
    return min(matches, key=lambda number: abs(number - guess)) if matches else guess


def tokens(code: str) -> list[str]:
    try:
        return [
            t.string
            for t in tokenize.generate_tokens(io.StringIO(code).readline)
            if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER)
        ]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return code.split()


def is_boundary(original: str, mutated: str) -> bool:
    """A boundary mutant: only comparison operators or number literals differ."""
    before, after = tokens(original), tokens(mutated)
    changed: list[str] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            changed += before[i1:i2] + after[j1:j2]
    return bool(changed) and all(
        token in BOUNDARY_TOKENS or re.fullmatch(r"[0-9][0-9_.eE+-]*j?", token) is not None
        for token in changed
    )


def squash(code: str) -> str:
    return " ".join(code.split())


def render(
    rows: list[ModuleRow], mutants: list[Mutant], stale: list[tuple[str, str, str, str]]
) -> str:
    header = (
        f"{'module':<42} {'mutants':>7} {'killed':>6} {'survived':>8} {'equiv':>5} "
        f"{'kill rate':>9} {'boundary killed':>15}"
    )
    out = [header, "-" * len(header)]
    for row in rows:
        out.append(
            f"{row.module:<42} {row.mutants:>7} {row.killed:>6} {row.survived:>8} "
            f"{row.equivalent:>5} {row.kill_rate:>8.1f}% "
            f"{row.boundary_killed:>7}/{row.boundary:<7}"
        )
    total = ModuleRow("total")
    for row in rows:
        for name in ("mutants", "killed", "survived", "equivalent", "boundary", "boundary_killed"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    out.append("-" * len(header))
    out.append(
        f"{'total':<42} {total.mutants:>7} {total.killed:>6} {total.survived:>8} "
        f"{total.equivalent:>5} {total.kill_rate:>8.1f}% "
        f"{total.boundary_killed:>7}/{total.boundary:<7}"
    )
    survivors = [m for m in mutants if m.status not in ("killed", "equivalent")]
    out += ["", f"survivors ({len(survivors)}):"]
    for m in survivors:
        flag = " [boundary]" if m.boundary else ""
        status = "" if m.status == "survived" else f" ({m.status})"
        out.append(f"{m.module}:{m.line} {m.function}{flag}{status}  {m.name.rpartition('.')[2]}")
        out.append(f"    - {m.original}")
        out.append(f"    + {m.mutated}")
    equivalent = [m for m in mutants if m.status == "equivalent"]
    if equivalent:
        out += ["", f"equivalent mutants ({len(equivalent)}), from {EQUIVALENTS.name}:"]
        for m in equivalent:
            out.append(f"{m.module}:{m.line} {m.function}: {m.reason}")
            out.append(f"    - {m.original}")
            out.append(f"    + {m.mutated}")
    if stale:
        out += ["", f"entries of {EQUIVALENTS.name} that matched no survivor ({len(stale)}):"]
        out += [
            f"{module} {function}: - {original}  + {mutated}"
            for module, function, original, mutated in stale
        ]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
