#include "daemon/config.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace attachd::daemon {
namespace {

TEST(Config, EmptyFileGivesTheDocumentedDefaults) {
  absl::StatusOr<v1::DaemonConfig> config = ParseConfig("empty.conf", "");
  ASSERT_TRUE(config.ok()) << config.status();
  v1::DaemonConfig full = WithDefaults(*config);
  EXPECT_EQ(full.socket(), "/run/attachd/attachd.sock");
  EXPECT_EQ(full.group(), "");
  EXPECT_EQ(full.attach_mode(), "auto");
  EXPECT_EQ(full.max_containers(), 100000u);
  EXPECT_EQ(full.max_concurrent_execs(), 1024u);
  EXPECT_FALSE(full.has_default_exec_timeout());
  EXPECT_EQ(full.drain_timeout().seconds(), 1);
  EXPECT_FALSE(full.debug());
}

TEST(Config, FileValuesWinOverDefaults) {
  absl::StatusOr<v1::DaemonConfig> config =
      ParseConfig("a.conf",
                  "# comment\n"
                  "socket: \"/tmp/x.sock\"\n"
                  "group: \"ops\"\n"
                  "max_containers: 0\n"
                  "max_concurrent_execs: 2\n"
                  "default_exec_timeout { seconds: 30 }\n");
  ASSERT_TRUE(config.ok()) << config.status();
  v1::DaemonConfig full = WithDefaults(*config);
  EXPECT_EQ(full.socket(), "/tmp/x.sock");
  EXPECT_EQ(full.group(), "ops");
  EXPECT_EQ(full.max_containers(), 0u) << "an explicit 0 is kept";
  EXPECT_EQ(full.max_concurrent_execs(), 2u);
  EXPECT_EQ(full.default_exec_timeout().seconds(), 30);
}

TEST(Config, MistakesNameTheFileLineAndColumn) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"sockett: \"/x\"\n",
       "config bad.conf:1:8: Message type \"attachd.v1.DaemonConfig\" has no "
       "field named \"sockett\"."},
      {"\nmax_containers: -1\n",
       "config bad.conf:2:17: Expected integer, got: -"},
      {"attach_mode: \"fast\"\n",
       "config bad.conf: attach_mode \"fast\" is not auto, pidfd or nsfd"},
      {"drain_timeout { seconds: -1 }\n",
       "config bad.conf: durations may not be negative"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<v1::DaemonConfig> config = ParseConfig("bad.conf", c.text);
    ASSERT_FALSE(config.ok());
    EXPECT_TRUE(absl::IsInvalidArgument(config.status()));
    EXPECT_EQ(config.status().message(), c.message);
  }
}

TEST(Config, MissingFileIsNotFound) {
  EXPECT_TRUE(
      absl::IsNotFound(LoadConfigFile("/nonexistent/attachd.conf").status()));
}

}  // namespace
}  // namespace attachd::daemon
