// Parsing of the attachctl flags whose syntax the client owns: numbers,
// --user and --env.  Pure functions; any thread.
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

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace attachd::client {

// Parses a decimal number from 0 to `max`: ASCII digits only, no sign, no
// space, no base prefix.  INVALID_ARGUMENT otherwise, with a message that
// starts with `flag` and the text ("--pid \"x\": not a decimal number").
absl::StatusOr<uint64_t> ParseDecimal(absl::string_view flag,
                                      absl::string_view text, uint64_t max);

// --pid: a process id, 1 to 2147483647.  INVALID_ARGUMENT otherwise.
absl::StatusOr<int32_t> ParsePid(absl::string_view text);

// --start-time: clock ticks after boot, 0 to 2^64-1.  INVALID_ARGUMENT
// otherwise.
absl::StatusOr<uint64_t> ParseStartTime(absl::string_view text);

// Numeric credentials inside the container's user namespace.
struct UserSpec {
  uint32_t uid = 0;
  // Unset when only a uid was given: the daemon then uses gid 0, as
  // `docker exec --user UID` does for a uid without a passwd entry.
  std::optional<uint32_t> gid;
};

// Parses "UID" or "UID:GID", each a decimal number from 0 to 4294967294
// (4294967295 is (uid_t)-1, which setresuid(2) reads as "leave unchanged").
// Names are not accepted: they would have to be looked up in the
// container's /etc/passwd, which the client cannot read.
//
// Returns INVALID_ARGUMENT, with a message naming the bad part, for
// anything else ("x", "1:", ":1", "-1", "+1", " 1", "4294967296").
absl::StatusOr<UserSpec> ParseUserSpec(absl::string_view spec);

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
