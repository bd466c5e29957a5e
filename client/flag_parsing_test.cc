#include "client/flag_parsing.h"

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace attachd::client {
namespace {

TEST(ParseUserSpec, AcceptsUidAndUidColonGid) {
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
    EXPECT_EQ(user->uid, c.uid);
    EXPECT_EQ(user->gid, c.gid);
  }
}

TEST(ParseUserSpec, RejectsAnythingElseWithAMessage) {
  struct Case {
    std::string spec;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"x", "--user \"x\": uid is not a decimal number (want UID[:GID])"},
           {"1:", "--user \"1:\": gid is empty (want UID[:GID])"},
           {":1", "--user \":1\": uid is empty (want UID[:GID])"},
           {"", "--user \"\": uid is empty (want UID[:GID])"},
           {"-1",
            "--user \"-1\": uid is not a decimal number (want UID[:GID])"},
           {"+1",
            "--user \"+1\": uid is not a decimal number (want UID[:GID])"},
           {" 1",
            "--user \" 1\": uid is not a decimal number (want UID[:GID])"},
           {"1:2:3",
            "--user \"1:2:3\": gid is not a decimal number (want UID[:GID])"},
           {"root",
            "--user \"root\": uid is not a decimal number (want "
            "UID[:GID])"},
           {"4294967295",
            "--user \"4294967295\": uid is larger than 4294967294 (want "
            "UID[:GID])"},
           {"4294967296",
            "--user \"4294967296\": uid is larger than 4294967294 (want "
            "UID[:GID])"},
           {"0:99999999999999999999999",
            "--user \"0:99999999999999999999999\": gid is larger than "
            "4294967294 (want UID[:GID])"},
       }) {
    SCOPED_TRACE(c.spec);
    absl::StatusOr<UserSpec> user = ParseUserSpec(c.spec);

    ASSERT_FALSE(user.ok());
    EXPECT_EQ(user.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(user.status().message(), c.message);
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
