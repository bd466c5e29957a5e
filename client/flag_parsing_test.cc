#include "client/flag_parsing.h"

#include <signal.h>

#include <map>
#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace attachd::client {
namespace {

TEST(ParseUserSpec, TakesTwoNumbersAsUidAndGid) {
  struct Case {
    std::string spec;
    uint32_t uid;
    std::optional<uint32_t> gid;
  };
  for (const Case& c : std::vector<Case>{
           {"1000", 1000, std::nullopt},
           {"1000:1000", 1000, 1000},
           {"0:0", 0, 0},
           {"0", 0, std::nullopt},
           {"65534:100", 65534, 100},
           {"4294967294:4294967294", 4294967294, 4294967294},
           {"007", 7, std::nullopt},
       }) {
    SCOPED_TRACE(c.spec);
    absl::StatusOr<UserSpec> user = ParseUserSpec(c.spec);

    ASSERT_TRUE(user.ok()) << user.status();
    ASSERT_TRUE(std::holds_alternative<NumericUser>(*user));
    EXPECT_EQ(std::get<NumericUser>(*user).uid, c.uid);
    EXPECT_EQ(std::get<NumericUser>(*user).gid, c.gid);
  }
}

TEST(ParseUserSpec, PassesASpecWithANameOnAsGiven) {
  for (std::string spec :
       {"root", "app", "app:staff", "app:100", "1000:staff", "www-data", "_apt",
        "Debian-exim", "a.b", "x", "host$", "1a", "nobody:nogroup"}) {
    SCOPED_TRACE(spec);
    absl::StatusOr<UserSpec> user = ParseUserSpec(spec);

    ASSERT_TRUE(user.ok()) << user.status();
    ASSERT_TRUE(std::holds_alternative<NamedUser>(*user));
    EXPECT_EQ(std::get<NamedUser>(*user).spec, spec);
  }
}

TEST(ParseUserSpec, RejectsAnythingElseWithAMessage) {
  struct Case {
    std::string spec;
    std::string message;
  };
  constexpr char kNotAName[] =
      " is neither a number nor a name of [A-Za-z0-9._-] (want "
      "USER[:GROUP])";
  for (const Case& c : std::vector<Case>{
           {"1:", "--user \"1:\": group is empty (want USER[:GROUP])"},
           {":1", "--user \":1\": user is empty (want USER[:GROUP])"},
           {"", "--user \"\": user is empty (want USER[:GROUP])"},
           {"app:", "--user \"app:\": group is empty (want USER[:GROUP])"},
           {"-1", std::string("--user \"-1\": user") + kNotAName},
           {"+1", std::string("--user \"+1\": user") + kNotAName},
           {" 1", std::string("--user \" 1\": user") + kNotAName},
           {"a b", std::string("--user \"a b\": user") + kNotAName},
           {"$", std::string("--user \"$\": user") + kNotAName},
           {"app:-x", std::string("--user \"app:-x\": group") + kNotAName},
           {"1:2:3", std::string("--user \"1:2:3\": group") + kNotAName},
           {"r\xc3\xa9my",
            std::string("--user \"r\xc3\xa9my\": user") + kNotAName},
           {"4294967295",
            "--user \"4294967295\": uid is larger than 4294967294 (want "
            "USER[:GROUP])"},
           {"4294967296:app",
            "--user \"4294967296:app\": uid is larger than 4294967294 "
            "(want USER[:GROUP])"},
           {"0:99999999999999999999999",
            "--user \"0:99999999999999999999999\": gid is larger than "
            "4294967294 (want USER[:GROUP])"},
       }) {
    SCOPED_TRACE(c.spec);
    absl::StatusOr<UserSpec> user = ParseUserSpec(c.spec);

    ASSERT_FALSE(user.ok());
    EXPECT_EQ(user.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(user.status().message(), c.message);
  }
}

TEST(ParseTimeout, ReadsGoStyleDurations) {
  struct Case {
    std::string text;
    absl::Duration timeout;
  };
  for (const Case& c : std::vector<Case>{
           {"30s", absl::Seconds(30)},
           {"5m", absl::Minutes(5)},
           {"1.5s", absl::Milliseconds(1500)},
           {"1h30m", absl::Minutes(90)},
           {"250ms", absl::Milliseconds(250)},
           {"1ns", absl::Nanoseconds(1)},
           {"1.9ns", absl::Nanoseconds(1)},
           {"87660000h", absl::Seconds(315576000000)},
       }) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<absl::Duration> timeout = ParseTimeout(c.text);

    ASSERT_TRUE(timeout.ok()) << timeout.status();
    EXPECT_EQ(*timeout, c.timeout);
  }
}

TEST(ParseTimeout, RejectsWhatIsNotAPositiveDuration) {
  struct Case {
    std::string text;
    std::string message;
  };
  constexpr char kNotADuration[] =
      " is not a duration (want a number and a unit, as in 30s, 5m, 1.5s)";
  for (const Case& c : std::vector<Case>{
           {"30", std::string("--timeout \"30\"") + kNotADuration},
           {"x", std::string("--timeout \"x\"") + kNotADuration},
           {"", std::string("--timeout \"\"") + kNotADuration},
           {"30 s", std::string("--timeout \"30 s\"") + kNotADuration},
           {"0", "--timeout \"0\" is not more than zero"},
           {"0s", "--timeout \"0s\" is not more than zero"},
           {"-1s", "--timeout \"-1s\" is not more than zero"},
           {"0.5ns", "--timeout \"0.5ns\" is not more than zero"},
           {"87660000h1ns",
            "--timeout \"87660000h1ns\" is longer than 87660000h"},
           {"inf", "--timeout \"inf\" is longer than 87660000h"},
       }) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<absl::Duration> timeout = ParseTimeout(c.text);

    ASSERT_FALSE(timeout.ok());
    EXPECT_EQ(timeout.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(timeout.status().message(), c.message);
  }
}

TEST(ParseSignal, AcceptsNumbersAndNamesInAnyCase) {
  struct Case {
    std::string text;
    int signal;
  };
  for (const Case& c : std::vector<Case>{
           {"9", SIGKILL},       {"15", SIGTERM},   {"1", 1},
           {"64", 64},           {"034", 34},       {"TERM", SIGTERM},
           {"SIGTERM", SIGTERM}, {"term", SIGTERM}, {"sigterm", SIGTERM},
           {"SigTerm", SIGTERM}, {"KILL", SIGKILL}, {"hup", SIGHUP},
           {"INT", SIGINT},      {"USR1", SIGUSR1}, {"sigusr2", SIGUSR2},
           {"WINCH", SIGWINCH},  {"STOP", SIGSTOP}, {"CONT", SIGCONT},
           {"CHLD", SIGCHLD},    {"CLD", SIGCHLD},  {"IOT", SIGABRT},
           {"POLL", SIGIO},      {"SYS", SIGSYS},   {"PWR", SIGPWR},
       }) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<int> signal = ParseSignal("--signal", c.text);

    ASSERT_TRUE(signal.ok()) << signal.status();
    EXPECT_EQ(*signal, c.signal);
  }
}

TEST(ParseSignal, RejectsWhatIsNotASignal) {
  struct Case {
    std::string text;
    std::string message;
  };
  constexpr char kNotASignal[] =
      " is not a signal name or number (as in KILL, SIGTERM, term, 9)";
  for (const Case& c : std::vector<Case>{
           {"0", "--signal \"0\" is not a signal"},
           {"65", "--signal \"65\" is larger than 64"},
           {"", std::string("--signal \"\"") + kNotASignal},
           {"-9", std::string("--signal \"-9\"") + kNotASignal},
           {"SIG", std::string("--signal \"SIG\"") + kNotASignal},
           {"SIGSIGTERM", std::string("--signal \"SIGSIGTERM\"") + kNotASignal},
           {"TERM ", std::string("--signal \"TERM \"") + kNotASignal},
           {"RTMIN", std::string("--signal \"RTMIN\"") + kNotASignal},
           {"0x9", std::string("--signal \"0x9\"") + kNotASignal},
       }) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<int> signal = ParseSignal("--signal", c.text);

    ASSERT_FALSE(signal.ok());
    EXPECT_EQ(signal.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(signal.status().message(), c.message);
  }
}

TEST(ParseDecimal, AcceptsPlainDecimalsUpToTheMaximum) {
  struct Case {
    std::string text;
    uint64_t max;
    uint64_t value;
  };
  for (const Case& c : std::vector<Case>{
           {"0", 0, 0},
           {"5", 5, 5},
           {"0042", 100, 42},
           {"18446744073709551615", UINT64_MAX, UINT64_MAX},
           {"2147483647", INT32_MAX, INT32_MAX},
       }) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<uint64_t> value = ParseDecimal("--n", c.text, c.max);

    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_EQ(*value, c.value);
  }
}

TEST(ParseDecimal, RejectsWhatCli11WouldBend) {
  struct Case {
    std::string text;
    uint64_t max;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"", 9, "--n is empty"},
           {"-1", UINT64_MAX, "--n is not a decimal number"},
           {"+1", 9, "--n is not a decimal number"},
           {" 5", 9, "--n is not a decimal number"},
           {"5 ", 9, "--n is not a decimal number"},
           {"0x10", 99, "--n is not a decimal number"},
           {"1e3", 9999, "--n is not a decimal number"},
           {"6", 5, "--n is larger than 5"},
           {"18446744073709551616", UINT64_MAX,
            "--n is larger than 18446744073709551615"},
           {"99999999999999999999999", UINT64_MAX,
            "--n is larger than 18446744073709551615"},
       }) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<uint64_t> value = ParseDecimal("--n", c.text, c.max);

    ASSERT_FALSE(value.ok());
    EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(value.status().message(), c.message);
  }
}

TEST(ParsePid, AcceptsOneToInt32Max) {
  EXPECT_EQ(*ParsePid("1"), 1);
  EXPECT_EQ(*ParsePid("2147483647"), 2147483647);
  EXPECT_EQ(ParsePid("0").status().message(),
            "--pid \"0\" is not a process id");
  EXPECT_EQ(ParsePid("2147483648").status().message(),
            "--pid \"2147483648\" is larger than 2147483647");
  EXPECT_EQ(ParsePid("-1").status().message(),
            "--pid \"-1\" is not a decimal number");
}

TEST(ParseProcessId, NamesWhatWasParsed) {
  EXPECT_EQ(*ParseProcessId("PID", "4242"), 4242);
  EXPECT_EQ(ParseProcessId("PID", "0").status().message(),
            "PID \"0\" is not a process id");
  EXPECT_EQ(ParseProcessId("PID", "x").status().message(),
            "PID \"x\" is not a decimal number");
}

TEST(ParseStartTime, AcceptsTheWholeUint64Range) {
  EXPECT_EQ(*ParseStartTime("0"), 0u);
  EXPECT_EQ(*ParseStartTime("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(ParseStartTime("-1").status().message(),
            "--start-time \"-1\" is not a decimal number");
}

std::optional<std::string> FakeEnvironment(const std::string& name) {
  static const auto* environment = new std::map<std::string, std::string>{
      {"HOME", "/home/ada"}, {"EMPTY", ""}, {"BYTES", "\xff="}};
  auto it = environment->find(name);
  if (it == environment->end()) {
    return std::nullopt;
  }
  return it->second;
}

TEST(ResolveEnvArgument, FollowsDockerExecEnv) {
  struct Case {
    std::string argument;
    std::optional<std::string> entry;
  };
  for (const Case& c : std::vector<Case>{
           {"A=1", "A=1"},
           {"A=", "A="},
           {"A==b=c", "A==b=c"},
           {"HOME=/root", "HOME=/root"},
           {"A=\xff\n", "A=\xff\n"},
           {"HOME", "HOME=/home/ada"},
           {"EMPTY", "EMPTY="},
           {"BYTES", "BYTES=\xff="},
           {"UNSET", std::nullopt},
       }) {
    SCOPED_TRACE(c.argument);
    absl::StatusOr<std::optional<std::string>> entry =
        ResolveEnvArgument(c.argument, FakeEnvironment);

    ASSERT_TRUE(entry.ok()) << entry.status();
    EXPECT_EQ(*entry, c.entry);
  }
}

TEST(ResolveEnvArgument, RejectsAnEmptyName) {
  for (std::string argument : {"", "=", "=value"}) {
    SCOPED_TRACE(argument);
    absl::StatusOr<std::optional<std::string>> entry =
        ResolveEnvArgument(argument, FakeEnvironment);

    ASSERT_FALSE(entry.ok());
    EXPECT_EQ(entry.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(entry.status().message(), "--env \"" + argument +
                                            "\": empty variable name (want "
                                            "KEY=VALUE)");
  }
}

}  // namespace
}  // namespace attachd::client
