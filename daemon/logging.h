// The daemon's log: one line per message on stderr, prefixed with the
// syslog priority in sd-daemon(3) form ("<3>" for errors and so on), which
// journald turns into the message's level.  Outside journald the prefix is
// still readable.
//
// Thread-safe: each message is written with one write(2), so lines from
// concurrent threads do not interleave.  Not async-signal-safe (formats
// into a heap buffer): never call between fork() and exec().

#ifndef ATTACHD_DAEMON_LOGGING_H_
#define ATTACHD_DAEMON_LOGGING_H_

#include <string>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace attachd::daemon {

enum class LogLevel {
  kError = 3,
  kWarning = 4,
  kNotice = 5,
  kInfo = 6,
  kDebug = 7,
};

// Messages less severe than `level` are dropped.  Default kInfo.
void SetLogLevel(LogLevel level);

void LogLine(LogLevel level, absl::string_view message);

template <typename... Args>
void Log(LogLevel level, const absl::FormatSpec<Args...>& format,
         const Args&... args) {
  LogLine(level, absl::StrFormat(format, args...));
}

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_LOGGING_H_
