#!/usr/bin/env bash
# The whole test run on a fresh machine: tools, system packages, the locked environment, lint, types, tests.
# README's test command; .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
export PATH="$HOME/.local/bin:$PATH"

# libvirt-dev, PostgreSQL and Go (for VMware's vcsim) come from Debian; they need root (or sudo).
if [[ $(id -u) -eq 0 ]]; then
    bash .ci/install-system-deps.sh
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -E bash .ci/install-system-deps.sh
else
    echo "note: not root: libvirt, vcsim and PostgreSQL tests will be skipped unless installed (see README)" >&2
fi

extras=()
pkg-config --exists libvirt 2>/dev/null && extras=(--extra libvirt)
# Compile bytecode at install: the cloud SDKs are large, and where .pyc files may not be written at run time
# (PYTHONDONTWRITEBYTECODE) every process would recompile them (~25 s of CPU).
uv sync --locked --compile-bytecode "${extras[@]}"

uv run --no-sync ruff check .
uv run --no-sync ruff format --check .
uv run --no-sync mypy
uv run --no-sync python tests/lint_imports.py   # the layers of docs/architecture.md (import-linter)

set +e
uv run --no-sync pytest -n 2 --dist loadgroup -q -p no:cacheprovider "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then
    echo "pytest collected no tests" >&2
    exit 1
fi
exit $status
