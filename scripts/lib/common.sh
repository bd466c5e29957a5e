# Shell functions shared by scripts/*.sh.  Source it; it sets nothing else.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# The repository's root: the directory above scripts/.
ATTACHD_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
  _attachd_bold=$'\e[1m' _attachd_red=$'\e[31m' _attachd_reset=$'\e[0m'
else
  _attachd_bold='' _attachd_red='' _attachd_reset=''
fi

# A headline before each step.
step() {
  printf '\n%s==> %s%s\n' "$_attachd_bold" "$*" "$_attachd_reset"
}

# A plain informational line.
info() {
  printf '    %s\n' "$*"
}

# An error on stderr.
error() {
  printf '%serror:%s %s\n' "$_attachd_red" "$_attachd_reset" "$*" >&2
}

die() {
  error "$*"
  exit 1
}

require_root() {
  if [[ $EUID -ne 0 ]]; then
    die "$1 must run as root (try: sudo bash $1)"
  fi
}

# Prints each line of stdin indented, so that a command's output stands
# apart from the script's own lines.
indent() {
  sed 's/^/    | /'
}

# The Python interpreter for small JSON edits: Debian's, else any on PATH.
python3_path() {
  if [[ -x /usr/bin/python3 ]]; then
    echo /usr/bin/python3
  else
    command -v python3
  fi
}
