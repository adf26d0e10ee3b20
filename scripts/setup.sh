#!/usr/bin/env bash
# Set-up used by `make demo` and `make test`.
# usage: py=$(scripts/setup.sh EXTRAS)    (EXTRAS e.g. "" or "test,text")
# Prints the Python to use on stdout; progress and pip's messages go to stderr.
#  - uses the active virtual/conda environment, else creates .venv;
#  - installs the CPU torch wheel (torch==2.13.0) first when torch is missing and no NVIDIA GPU is present,
#    because an unpinned torch pulls a multi-GB CUDA build; with a GPU it installs the default torch;
#  - installs l2vkit in editable mode with the extras, again only when pyproject.toml changed.
set -euo pipefail
exec 3>&1 1>&2  # everything below talks to stderr; fd 3 carries the answer
extras="${1:-}"
cd "$(dirname "$0")/.."

if [ -n "${VIRTUAL_ENV:-}" ]; then
  py="$VIRTUAL_ENV/bin/python"
elif [ -n "${CONDA_PREFIX:-}" ] && [ -x "${CONDA_PREFIX}/bin/python" ]; then
  py="$CONDA_PREFIX/bin/python"
else
  if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    python3 -m venv .venv
  fi
  py="$PWD/.venv/bin/python"
fi
# pip's output minus this machine's harmless "location is ignored" notes; pip's exit status is kept.
pip_install() {
  local log status=0
  log=$(mktemp)
  "$py" -m pip install -q --disable-pip-version-check "$@" >"$log" 2>&1 || status=$?
  grep -v "is ignored" "$log" || true
  rm -f "$log"
  return $status
}
importable() { (cd / && "$py" -c "import $1" >/dev/null 2>&1); }

if ! importable torch; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "setup: installing torch (GPU found)"
    pip_install "${L2VKIT_TORCH_SPEC:-torch}"
  else
    echo "setup: installing the CPU torch wheel"
    pip_install "${L2VKIT_TORCH_SPEC:-torch==2.13.0}"
  fi
  importable torch || { echo "setup: torch failed to install"; exit 1; }
fi

stamp="$(dirname "$py")/../.l2vkit-installed-${extras:-core}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || ! importable l2vkit; then
  echo "setup: installing l2vkit${extras:+[$extras]}"
  pip_install -e ".${extras:+[$extras]}"
  importable l2vkit || { echo "setup: l2vkit failed to install"; exit 1; }
  touch "$stamp"
fi
echo "$py" >&3
