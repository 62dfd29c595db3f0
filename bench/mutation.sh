#!/usr/bin/env bash
# Mutation testing of the pure core: kill rate per module and the surviving mutants.
#   bash bench/mutation.sh                             # every module of [tool.mutmut] (~10 min)
#   bash bench/mutation.sh orchestrator/dag.py ...     # some modules only
#   bash bench/mutation.sh --report-only               # the table of the last run again
# Settings: [tool.mutmut] in pyproject.toml; equivalent mutants: bench/mutation_equivalents.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv/bin/python -c 'import mutmut' 2>/dev/null; then
  echo "installing mutmut (the 'mutation' extra) into .venv" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[mutation]"
fi
exec .venv/bin/python bench/mutation.py "$@"
