#!/usr/bin/env bash
# Runs every check attachd has: installs the dependencies, then
#   1. bazel test //...   (tests that need root are tagged no-sandbox);
#   2. clang-format       (every *.cc and *.h, against .clang-format);
#   3. the systemd unit   (systemd-analyze verify, then attachd started the
#                          way the unit starts it: same arguments, same
#                          capability bounding set and descriptor limit,
#                          Type=notify readiness and stop).
# Every check runs even if an earlier one failed.  Exits non-zero if any
# failed.  The last line is the test count, "N passed, N failed", where N
# counts bazel test targets.
#
# Usage: sudo bash scripts/test.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

UNIT=deploy/systemd/attachd.service

require_root scripts/test.sh
cd "$ATTACHD_REPO_ROOT"

work="$(mktemp -d /tmp/attachd-test.XXXXXX)"
smoke_pid=""
listener_pid=""
cleanup() {
  local status=$?
  set +e
  for pid in $smoke_pid $listener_pid; do
    kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

failed_checks=()
passed_tests=0
failed_tests=0

# --- 0. Dependencies ----------------------------------------------------------
step "Installing dependencies (scripts/install-deps.sh)"
bash scripts/install-deps.sh

# --- 1. bazel test -----------------------------------------------------------
step "bazel test //... --test_output=errors"
bazel_flags=(--test_output=errors --keep_going)
if [[ -n "${CI:-}" || ! -t 1 ]]; then
  bazel_flags+=(--curses=no --color=no --show_progress_rate_limit=30)
fi
set +e
bazel test //... "${bazel_flags[@]}" 2>&1 | tee "$work/bazel.log"
bazel_status=${PIPESTATUS[0]}
set -e

# Per-target result lines of bazel's summary, for example
#   //client:exec_session_test               (cached) PASSED in 0.4s
#   //tests:exec_test                                 FAILED in 3.1s
#   //tests:other_test                                NO STATUS
# FLAKY targets passed on a retry.
target_line='^(//|@)[^ ]+ +(\(cached\) +)?'
passed_tests=$(grep -Ec "${target_line}(PASSED|FLAKY)" "$work/bazel.log" ||
  true)
failed_tests=$(grep -Ec \
  "${target_line}(FAILED|TIMEOUT|NO STATUS|INCOMPLETE|REMOTE FAILURE)" \
  "$work/bazel.log" || true)
if ((passed_tests + failed_tests == 0)); then
  # No per-target lines: fall back to "Executed N out of M tests: ...".
  summary="$(grep -E '^Executed [0-9]+ out of [0-9]+ tests?:' "$work/bazel.log" |
    tail -1 || true)"
  if [[ "$summary" =~ :\ ([0-9]+)\ tests?\ pass ]]; then
    passed_tests=${BASH_REMATCH[1]}
  fi
  if [[ "$summary" =~ ([0-9]+)\ fails? ]]; then
    failed_tests=${BASH_REMATCH[1]}
  fi
fi
case "$bazel_status" in
  0) ;;
  4) info "bazel found no test targets" ;;
  *)
    failed_checks+=("bazel test (exit status $bazel_status)")
    if ((failed_tests == 0)); then
      error "bazel test failed (exit status $bazel_status) before any test" \
        "target reported a result; see the errors above"
    fi
    ;;
esac

# --- 2. clang-format ---------------------------------------------------------
step "clang-format --dry-run --Werror (style from .clang-format)"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Tracked files and new ones not ignored (bazel-* is ignored).
  mapfile -t sources < <(git ls-files --cached --others --exclude-standard \
    -- '*.cc' '*.h' | sort -u)
else
  mapfile -t sources < <(find . -path './bazel-*' -prune -o \
    \( -name '*.cc' -o -name '*.h' \) -type f -print | sed 's|^\./||' | sort)
fi
unformatted=()
checked=0
for source in "${sources[@]}"; do
  [[ -f "$source" ]] || continue # deleted but not yet committed
  checked=$((checked + 1))
  if ! clang-format --dry-run --Werror --style=file "$source" \
    >"$work/format.out" 2>&1; then
    unformatted+=("$source")
    head -12 "$work/format.out"
  fi
done
if ((${#unformatted[@]} > 0)); then
  error "${#unformatted[@]} of $checked files need clang-format:" \
    "${unformatted[*]}"
  info "fix with: clang-format -i --style=file ${unformatted[*]}"
  failed_checks+=("clang-format (${#unformatted[@]} files)")
else
  info "all $checked files are formatted"
fi

# --- 3. The systemd unit -----------------------------------------------------
step "systemd unit $UNIT"

# The value of the first `KEY=` line of the unit's [Service] section.
unit_value() {
  sed -n "/^\[Service\]/,/^\[/s/^$1=//p" "$UNIT" | head -1
}

# Asks the gRPC health service on the Unix socket $1 whether attachd is
# SERVING, with a raw call: the request is an empty HealthCheckRequest and
# the answer must be {status: SERVING}, encoded 08 01.
health_check() {
  "$(python3_path)" - "$1" <<'PYTHON'
import sys

import grpc

channel = grpc.insecure_channel("unix:" + sys.argv[1])
check = channel.unary_unary("/grpc.health.v1.Health/Check")
answer = check(b"", timeout=10)
if answer != b"\x08\x01":
    sys.exit("health check answered %r, not SERVING" % answer)
PYTHON
}

check_unit() {
  local bazel_bin attachd exec_start
  bazel_bin="$(bazel info bazel-bin 2>/dev/null)"
  attachd="$bazel_bin/daemon/attachd"
  if [[ ! -x "$attachd" ]]; then
    bazel build //daemon:attachd || {
      error "cannot build attachd to check the unit against"
      return 1
    }
  fi

  # attachd speaks sd_notify; the start below relies on it.
  if [[ "$(unit_value Type)" != notify ]]; then
    error "the unit must be Type=notify"
    return 1
  fi

  exec_start="$(unit_value ExecStart)"
  local -a args
  read -r -a args <<<"$exec_start"
  if [[ "${args[0]:-}" != /usr/local/bin/attachd ]]; then
    error "ExecStart runs '${args[0]:-}', not /usr/local/bin/attachd"
    return 1
  fi

  # systemd-analyze refuses a unit whose binary does not exist, and
  # /usr/local/bin/attachd is not installed here: verify a copy that differs
  # in the ExecStart binary only.
  mkdir -p "$work/unit"
  sed "s|^ExecStart=/usr/local/bin/attachd |ExecStart=$attachd |" "$UNIT" \
    >"$work/unit/attachd.service"
  local changed
  changed="$(diff "$UNIT" "$work/unit/attachd.service" | grep -c '^>' || true)"
  if [[ "$changed" != 1 ]]; then
    error "could not point the copy's ExecStart at $attachd"
    return 1
  fi
  # verify exits 0 on unknown keys and unparsable values, which it only
  # prints: any output at all is a failure.
  local verify_status=0
  systemd-analyze verify "$work/unit/attachd.service" \
    >"$work/verify.out" 2>&1 || verify_status=$?
  if [[ $verify_status -ne 0 || -s "$work/verify.out" ]]; then
    indent <"$work/verify.out"
    error "systemd-analyze verify complained (exit status $verify_status)"
    return 1
  fi
  info "systemd-analyze verify: clean"

  # The capabilities must be real names: systemd ignores unknown ones
  # without a word.
  local -a capabilities
  read -r -a capabilities <<<"$(unit_value CapabilityBoundingSet)"
  local capability bounding="-all"
  for capability in "${capabilities[@]}"; do
    if ! grep -Eq "^#define ${capability}[[:space:]]+[0-9]+" \
      /usr/include/linux/capability.h; then
      error "CapabilityBoundingSet: unknown capability $capability"
      return 1
    fi
    bounding+=",+$(tr '[:upper:]' '[:lower:]' <<<"${capability#CAP_}")"
  done
  info "CapabilityBoundingSet: ${#capabilities[@]} known capabilities"

  # Start attachd as the unit would: its ExecStart arguments (the socket
  # moved to a private directory), its capability bounding set and
  # descriptor limit, and a NOTIFY_SOCKET that plays systemd for
  # Type=notify.
  local socket="$work/run/attachd.sock" notify="$work/notify.sock"
  local -a daemon_args=("$attachd")
  local i
  for ((i = 1; i < ${#args[@]}; i++)); do
    if [[ "${args[i]}" == --socket ]]; then
      daemon_args+=(--socket "$socket")
      i=$((i + 1))
    else
      daemon_args+=("${args[i]}")
    fi
  done
  local nofile
  nofile="$(unit_value LimitNOFILE)"
  [[ "$nofile" == *:* ]] || nofile="$nofile:$nofile"

  "$(python3_path)" -u - "$notify" >"$work/notify.log" 2>&1 <<'PYTHON' &
import socket
import sys

listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
listener.bind(sys.argv[1])
print("listening", flush=True)
listener.settimeout(120)
while True:
    try:
        message = listener.recv(65536)
    except socket.timeout:
        break
    print(message.decode(errors="replace"), flush=True)
PYTHON
  listener_pid=$!
  for _ in $(seq 50); do
    grep -q listening "$work/notify.log" 2>/dev/null && break
    sleep 0.1
  done

  local -a limit=(prlimit --nofile="$nofile" --)
  if ! prlimit --nofile="$nofile" -- true 2>/dev/null; then
    info "note: this machine refuses LimitNOFILE=$nofile (hard limit" \
      "$(ulimit -Hn)); attachd starts with the current limit instead"
    limit=()
  fi
  NOTIFY_SOCKET="$notify" "${limit[@]}" \
    setpriv --bounding-set "$bounding" -- \
    "${daemon_args[@]}" </dev/null >"$work/smoke.log" 2>&1 &
  smoke_pid=$!
  local ready=false
  for _ in $(seq 100); do
    if grep -q '^READY=1' "$work/notify.log"; then
      ready=true
      break
    fi
    kill -0 "$smoke_pid" 2>/dev/null || break
    sleep 0.1
  done
  local problem=""
  if ! $ready; then
    problem="attachd sent no READY=1 within 10 s"
  elif [[ "$(stat -c %a "$socket" 2>/dev/null)" != 660 ]]; then
    problem="the socket $socket is not mode 0660"
  elif ! health_check "$socket" >"$work/health.out" 2>&1; then
    indent <"$work/health.out"
    problem="attachd's gRPC health service did not answer SERVING"
  elif [[ "$(awk '/^CapBnd/ {print $2}' "/proc/$smoke_pid/status")" == \
    "$(awk '/^CapBnd/ {print $2}' /proc/self/status)" ]]; then
    problem="attachd did not run with the unit's bounding set"
  fi
  kill -TERM "$smoke_pid" 2>/dev/null || true
  local stop_status=0 stopped=false
  for _ in $(seq 150); do
    if ! kill -0 "$smoke_pid" 2>/dev/null; then
      stopped=true
      break
    fi
    sleep 0.1
  done
  if ! $stopped; then
    kill -KILL "$smoke_pid" 2>/dev/null || true
  fi
  wait "$smoke_pid" || stop_status=$?
  smoke_pid=""
  sleep 0.2 # let the listener print the last datagram
  kill "$listener_pid" 2>/dev/null || true
  wait "$listener_pid" 2>/dev/null || true
  listener_pid=""
  if [[ -z "$problem" ]]; then
    if ! $stopped; then
      problem="attachd did not stop within 15 s of SIGTERM"
    elif [[ $stop_status -ne 0 ]]; then
      problem="attachd exited with status $stop_status after SIGTERM"
    elif ! grep -q '^STOPPING=1' "$work/notify.log"; then
      problem="attachd sent no STOPPING=1 on SIGTERM"
    fi
  fi
  if [[ -n "$problem" ]]; then
    echo "attachd's log:"
    indent <"$work/smoke.log"
    echo "notifications:"
    indent <"$work/notify.log"
    error "$problem"
    return 1
  fi
  info "started as the unit starts it: READY=1, socket 0660, health" \
    "check SERVING, STOPPING=1 and exit 0 on SIGTERM"
}

if ! check_unit; then
  failed_checks+=("systemd unit")
fi

# --- Summary -----------------------------------------------------------------
step "Summary"
info "bazel test targets: $passed_tests passed, $failed_tests failed"
if ((${#failed_checks[@]} > 0)); then
  for check in "${failed_checks[@]}"; do
    error "failed: $check"
  done
  status=1
else
  info "all checks passed"
  status=0
fi
echo "$passed_tests passed, $failed_tests failed"
exit "$status"
