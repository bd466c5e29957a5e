#include "client/flag_parsing.h"

#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace attachd::client {
namespace {

constexpr uint64_t kMaxId = 4294967294;

constexpr char kWantUser[] = " (want USER[:GROUP])";

// The longest duration a google.protobuf.Duration holds.
constexpr absl::Duration kLongestTimeout = absl::Seconds(315576000000);

// The largest signal number on Linux (SIGRTMAX).
constexpr int kLargestSignal = 64;

struct SignalName {
  const char* name;
  int number;
};

// Through the macros, so that the numbers are right on every architecture.
constexpr SignalName kSignalNames[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},       {"QUIT", SIGQUIT},
    {"ILL", SIGILL},       {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},
    {"IOT", SIGIOT},       {"BUS", SIGBUS},       {"FPE", SIGFPE},
    {"KILL", SIGKILL},     {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},
    {"TERM", SIGTERM},
#ifdef SIGSTKFLT
    {"STKFLT", SIGSTKFLT},
#endif
    {"CHLD", SIGCHLD},     {"CLD", SIGCHLD},      {"CONT", SIGCONT},
    {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU},     {"URG", SIGURG},       {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},         {"POLL", SIGPOLL},
    {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

bool IsAllDigits(absl::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
}

bool IsNameCharacter(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '_' || c == '-';
}

// A user or group name as shadow's useradd and busybox's adduser accept
// one, without their length limits (the container's files decide).
bool IsName(absl::string_view text) {
  if (absl::ConsumeSuffix(&text, "$") && text.empty()) {
    return false;
  }
  return !text.empty() && text.front() != '-' &&
         std::all_of(text.begin(), text.end(), IsNameCharacter);
}

// Checks one part of --user; `part_name` is "user" or "group" and
// `id_name` "uid" or "gid".  Returns the number when the part is one.
absl::StatusOr<std::optional<uint32_t>> ParseUserPart(
    absl::string_view part, absl::string_view part_name,
    absl::string_view id_name, absl::string_view spec) {
  std::string flag = absl::StrCat("--user \"", spec, "\": ");
  if (part.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, part_name, " is empty", kWantUser));
  }
  if (IsAllDigits(part)) {
    absl::StatusOr<uint64_t> id =
        ParseDecimal(absl::StrCat(flag, id_name), part, kMaxId);
    if (!id.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(id.status().message(), kWantUser));
    }
    return std::optional<uint32_t>(static_cast<uint32_t>(*id));
  }
  if (!IsName(part)) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, part_name, " is neither a number nor a name of [A-Za-z0-9._-]",
        kWantUser));
  }
  return std::optional<uint32_t>();
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

absl::StatusOr<int32_t> ParseProcessId(absl::string_view what,
                                       absl::string_view text) {
  std::string flag = absl::StrCat(what, " \"", text, "\"");
  absl::StatusOr<uint64_t> pid = ParseDecimal(flag, text, INT32_MAX);
  if (pid.ok() && *pid == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " is not a process id"));
  }
  if (!pid.ok()) {
    return pid.status();
  }
  return static_cast<int32_t>(*pid);
}

absl::StatusOr<int32_t> ParsePid(absl::string_view text) {
  return ParseProcessId("--pid", text);
}

absl::StatusOr<uint64_t> ParseStartTime(absl::string_view text) {
  return ParseDecimal(absl::StrCat("--start-time \"", text, "\""), text,
                      UINT64_MAX);
}

absl::StatusOr<UserSpec> ParseUserSpec(absl::string_view spec) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(spec, absl::MaxSplits(':', 1));

  absl::StatusOr<std::optional<uint32_t>> uid =
      ParseUserPart(parts[0], "user", "uid", spec);
  if (!uid.ok()) {
    return uid.status();
  }
  absl::StatusOr<std::optional<uint32_t>> gid = std::optional<uint32_t>();
  if (parts.size() == 2) {
    gid = ParseUserPart(parts[1], "group", "gid", spec);
  }
  if (!gid.ok()) {
    return gid.status();
  }

  bool group_is_name = parts.size() == 2 && !gid->has_value();
  if (!uid->has_value() || group_is_name) {
    return NamedUser{std::string(spec)};
  }
  return NumericUser{**uid, *gid};
}

absl::StatusOr<absl::Duration> ParseTimeout(absl::string_view text) {
  std::string flag = absl::StrCat("--timeout \"", text, "\"");
  absl::Duration timeout;
  if (!absl::ParseDuration(text, &timeout)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag,
                     " is not a duration (want a number and a unit, as in "
                     "30s, 5m, 1.5s)"));
  }

  timeout = absl::Trunc(timeout, absl::Nanoseconds(1));
  if (timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " is not more than zero"));
  }
  if (timeout > kLongestTimeout) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " is longer than ", absl::FormatDuration(kLongestTimeout)));
  }
  return timeout;
}

absl::StatusOr<int> ParseSignal(absl::string_view flag,
                                absl::string_view text) {
  std::string what = absl::StrCat(flag, " \"", text, "\"");
  if (IsAllDigits(text)) {
    absl::StatusOr<uint64_t> number = ParseDecimal(what, text, kLargestSignal);
    if (number.ok() && *number == 0) {
      return absl::InvalidArgumentError(absl::StrCat(what, " is not a signal"));
    }
    if (!number.ok()) {
      return number.status();
    }
    return static_cast<int>(*number);
  }

  std::string name = absl::AsciiStrToUpper(text);
  absl::string_view bare = name;
  absl::ConsumePrefix(&bare, "SIG");
  for (const SignalName& signal : kSignalNames) {
    if (bare == signal.name) {
      return signal.number;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat(what,
                   " is not a signal name or number (as in KILL, SIGTERM, "
                   "term, 9)"));
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
