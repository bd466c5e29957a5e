// attachd's configuration: the file given with --config (text format of
// attachd.v1.DaemonConfig, see proto/attachd/v1/config.proto), completed
// with the documented defaults.
//
// Thread-safe; allocates.

#ifndef ATTACHD_DAEMON_CONFIG_H_
#define ATTACHD_DAEMON_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "attachd/v1/config.pb.h"

namespace attachd::daemon {

// Parses a configuration file.  INVALID_ARGUMENT naming the file, line and
// column of the first mistake (unknown field, wrong type, bad value);
// NOT_FOUND or PERMISSION_DENIED when it cannot be read.
absl::StatusOr<v1::DaemonConfig> ParseConfig(const std::string& path,
                                             const std::string& text);
absl::StatusOr<v1::DaemonConfig> LoadConfigFile(const std::string& path);

// `config` with every unset field set to its documented default.
v1::DaemonConfig WithDefaults(v1::DaemonConfig config);

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_CONFIG_H_
