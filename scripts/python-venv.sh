#!/usr/bin/env bash
# Creates (or reuses) a project-local Python virtual environment and installs a requirements file
# into it: never the system Python. Usage: scripts/python-venv.sh NAME REQUIREMENTS_FILE
# Prints the environment's python path on its last line. Reinstalls only when the requirements
# file changed (its sha256 is kept beside the environment).
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: scripts/python-venv.sh NAME REQUIREMENTS_FILE}"
req="${2:?usage: scripts/python-venv.sh NAME REQUIREMENTS_FILE}"
[ -f "$req" ] || { echo "python-venv: requirements file $req not found" >&2; exit 2; }
python="${MLCYCLE_PYTHON:-python3}"
dir=".venv/$name"
stamp="$dir/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$dir/bin/python" ]; then
  "$python" -m venv "$dir" >&2
fi
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
  echo "$want" > "$stamp"
fi
echo "$PWD/$dir/bin/python"
