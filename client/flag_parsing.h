// Parsing of the attachctl flags whose syntax the client owns: numbers,
// --user, --env, --timeout and signals.  Pure functions; any thread.
//
// Numbers are parsed here rather than by CLI11, which accepts " 5" and
// "0x10", wraps "-1" to the largest value of an unsigned type and
// saturates on overflow.

#ifndef ATTACHD_CLIENT_FLAG_PARSING_H_
#define ATTACHD_CLIENT_FLAG_PARSING_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace attachd::client {

// Parses a decimal number from 0 to `max`: ASCII digits only, no sign, no
// space, no base prefix.  INVALID_ARGUMENT otherwise, with a message that
// starts with `flag` and the text ("--pid \"x\": not a decimal number").
absl::StatusOr<uint64_t> ParseDecimal(absl::string_view flag,
                                      absl::string_view text, uint64_t max);

// A process id, 1 to 2147483647.  INVALID_ARGUMENT otherwise, with a
// message that starts with `what` and the text ("PID \"0\" is not a
// process id").
absl::StatusOr<int32_t> ParseProcessId(absl::string_view what,
                                       absl::string_view text);

// --pid: ParseProcessId("--pid", text).
absl::StatusOr<int32_t> ParsePid(absl::string_view text);

// --start-time: clock ticks after boot, 0 to 2^64-1.  INVALID_ARGUMENT
// otherwise.
absl::StatusOr<uint64_t> ParseStartTime(absl::string_view text);

// --user given as numbers: credentials inside the container's user
// namespace, for ExecStart.uid and ExecStart.gid.
struct NumericUser {
  uint32_t uid = 0;
  // Unset when only a uid was given: the daemon then uses gid 0, as
  // `docker exec --user UID` does for a uid without a passwd entry.
  std::optional<uint32_t> gid;
};

// --user given with a name in it, for ExecStart.user: the text as given.
// The daemon resolves it in the container's own /etc/passwd and
// /etc/group; a part that is all digits stays a number there ("app:100",
// "1000:staff"), as with docker and runc.
struct NamedUser {
  std::string spec;
};

using UserSpec = std::variant<NumericUser, NamedUser>;

// Parses --user: "USER" or "USER:GROUP", each part either a decimal number
// from 0 to 4294967294 (4294967295 is (uid_t)-1, which setresuid(2) reads
// as "leave unchanged") or a name.  When both parts are numbers the result
// is a NumericUser, otherwise a NamedUser.  A name is made of
// [A-Za-z0-9._-], does not start with '-' and may end in '$' (as Samba's
// machine accounts do): what shadow's useradd and busybox's adduser accept.
//
// Returns INVALID_ARGUMENT, with a message naming the bad part, for
// anything else ("1:", ":1", "-1", " 1", "a b", "1:2:3", "4294967296").
absl::StatusOr<UserSpec> ParseUserSpec(absl::string_view spec);

// Parses --timeout with absl::ParseDuration(): decimal numbers each with a
// unit ("30s", "5m", "1.5s", "1h30m", "250ms"), truncated to whole
// nanoseconds.  INVALID_ARGUMENT for text that is not a duration ("30",
// "x"), for a duration not more than zero ("0", "-1s", "0.1ns") and for
// one longer than a protobuf Duration holds (10000 years; "inf").
absl::StatusOr<absl::Duration> ParseTimeout(absl::string_view text);

// Parses a signal for `attachctl kill -s`: a number from 1 to 64, or a
// name with or without "SIG" in any case ("TERM", "SIGTERM", "term",
// "sigterm").  Names are the standard Linux ones (HUP, INT, QUIT, ...,
// SYS, with IOT, CLD and POLL as aliases); real-time signals are given by
// number.  INVALID_ARGUMENT otherwise, naming `flag`.
absl::StatusOr<int> ParseSignal(absl::string_view flag, absl::string_view text);

// Looks up a variable of attachctl's own environment: its value, or nullopt
// when it is unset.
using EnvironmentLookup =
    std::function<std::optional<std::string>(const std::string& name)>;

// Resolves one --env argument into a "KEY=VALUE" entry for ExecStart.env,
// following `docker exec --env`:
//
//   "KEY=VALUE"  is passed on byte for byte (VALUE may be empty or contain
//                '=');
//   "KEY"        takes VALUE from attachctl's environment through `lookup`;
//                when KEY is unset there, the result is nullopt and the
//                variable is left out.
//
// Returns INVALID_ARGUMENT for an empty KEY ("", "=VALUE").
absl::StatusOr<std::optional<std::string>> ResolveEnvArgument(
    absl::string_view argument, const EnvironmentLookup& lookup);

// An EnvironmentLookup that reads attachctl's environment with getenv(3).
std::optional<std::string> LookupProcessEnvironment(const std::string& name);

}  // namespace attachd::client

#endif  // ATTACHD_CLIENT_FLAG_PARSING_H_
