#include "client/flag_parsing.h"

#include <cstdlib>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace attachd::client {
namespace {

constexpr uint64_t kMaxId = 4294967294;

absl::StatusOr<uint32_t> ParseId(absl::string_view text, absl::string_view what,
                                 absl::string_view spec) {
  absl::StatusOr<uint64_t> id =
      ParseDecimal(absl::StrCat("--user \"", spec, "\": ", what), text, kMaxId);
  if (!id.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(id.status().message(), " (want UID[:GID])"));
  }
  return static_cast<uint32_t>(*id);
}

}  // namespace

absl::StatusOr<uint64_t> ParseDecimal(absl::string_view flag,
                                      absl::string_view text, uint64_t max) {
  std::string problem;
  uint64_t value = 0;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      problem = "is not a decimal number";
      break;
    }
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (digit > max || value > (max - digit) / 10) {
      problem = absl::StrCat("is larger than ", max);
      break;
    }
    value = value * 10 + digit;
  }
  if (text.empty()) {
    problem = "is empty";
  }

  if (!problem.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " ", problem));
  }
  return value;
}

absl::StatusOr<int32_t> ParsePid(absl::string_view text) {
  absl::StatusOr<uint64_t> pid =
      ParseDecimal(absl::StrCat("--pid \"", text, "\""), text, INT32_MAX);
  if (pid.ok() && *pid == 0) {
    return absl::InvalidArgumentError("--pid \"0\" is not a process id");
  }
  if (!pid.ok()) {
    return pid.status();
  }
  return static_cast<int32_t>(*pid);
}

absl::StatusOr<uint64_t> ParseStartTime(absl::string_view text) {
  return ParseDecimal(absl::StrCat("--start-time \"", text, "\""), text,
                      UINT64_MAX);
}

absl::StatusOr<UserSpec> ParseUserSpec(absl::string_view spec) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(spec, absl::MaxSplits(':', 1));
  UserSpec user;

  absl::StatusOr<uint32_t> uid = ParseId(parts[0], "uid", spec);
  if (!uid.ok()) {
    return uid.status();
  }
  user.uid = *uid;

  if (parts.size() == 2) {
    absl::StatusOr<uint32_t> gid = ParseId(parts[1], "gid", spec);
    if (!gid.ok()) {
      return gid.status();
    }
    user.gid = *gid;
  }
  return user;
}

absl::StatusOr<std::optional<std::string>> ResolveEnvArgument(
    absl::string_view argument, const EnvironmentLookup& lookup) {
  size_t equals = argument.find('=');
  absl::string_view name = argument.substr(0, equals);
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--env \"", argument, "\": empty variable name (want KEY=VALUE)"));
  }

  if (equals != absl::string_view::npos) {
    return std::optional<std::string>(std::string(argument));
  }
  std::optional<std::string> value = lookup(std::string(name));
  if (!value.has_value()) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(absl::StrCat(name, "=", *value));
}

std::optional<std::string> LookupProcessEnvironment(const std::string& name) {
  const char* value = getenv(name.c_str());
  if (value == nullptr) {
    return std::nullopt;
  }
  return std::string(value);
}

}  // namespace attachd::client
