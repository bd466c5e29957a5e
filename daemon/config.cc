#include "daemon/config.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "daemon/process.h"
#include "daemon/status_macros.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace attachd::daemon {
namespace {

// Keeps the first error the text format parser reports.
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (message_.empty()) {
      // The parser counts lines and columns from 0.
      message_ = absl::StrCat(line + 1, ":", column + 1, ": ", message);
    }
  }

  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

}  // namespace

absl::StatusOr<v1::DaemonConfig> ParseConfig(const std::string& path,
                                             const std::string& text) {
  v1::DaemonConfig config;
  FirstError error;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&error);
  if (!parser.ParseFromString(text, &config)) {
    return absl::InvalidArgumentError(
        absl::StrCat("config ", path, ":", error.message()));
  }
  if (config.attach_mode() != "" && config.attach_mode() != "auto" &&
      config.attach_mode() != "pidfd" && config.attach_mode() != "nsfd") {
    return absl::InvalidArgumentError(
        absl::StrCat("config ", path, ": attach_mode \"", config.attach_mode(),
                     "\" is not auto, pidfd or nsfd"));
  }
  if (config.default_exec_timeout().seconds() < 0 ||
      config.drain_timeout().seconds() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("config ", path, ": durations may not be negative"));
  }
  return config;
}

absl::StatusOr<v1::DaemonConfig> LoadConfigFile(const std::string& path) {
  ATTACHD_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParseConfig(path, text);
}

v1::DaemonConfig WithDefaults(v1::DaemonConfig config) {
  if (config.socket().empty()) {
    config.set_socket("/run/attachd/attachd.sock");
  }
  if (config.attach_mode().empty()) {
    config.set_attach_mode("auto");
  }
  if (!config.has_max_containers()) {
    config.set_max_containers(100000);
  }
  if (!config.has_max_concurrent_execs()) {
    config.set_max_concurrent_execs(1024);
  }
  if (!config.has_drain_timeout()) {
    config.mutable_drain_timeout()->set_seconds(1);
  }
  return config;
}

}  // namespace attachd::daemon
