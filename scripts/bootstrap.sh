# Sourced by scripts/serve and scripts/test: a venv with the project installed, and the system
# libraries WeasyPrint needs. Idempotent and quiet when everything is there already.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return
    fi
  done
  echo "Python 3.11 or newer is required" >&2; exit 1
}

apt_install() {  # apt_install PACKAGE... (only when missing; needs root or sudo)
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

if command -v dpkg >/dev/null 2>&1; then
  apt_install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core ${EXTRA_DEBIAN_PACKAGES:-}
fi

PY=$(find_python)
[ -x .venv/bin/python ] || "$PY" -m venv .venv
EXTRAS=${EXTRAS:-}
stamp=".venv/.installed${EXTRAS}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -m pip install -q -e ".${EXTRAS}" 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -c 'import flask, weasyprint, rq' && touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
