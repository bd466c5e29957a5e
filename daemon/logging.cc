#include "daemon/logging.h"

#include <unistd.h>

#include <atomic>

#include "absl/strings/str_cat.h"

namespace attachd::daemon {
namespace {

std::atomic<int> g_max_level{static_cast<int>(LogLevel::kInfo)};

}  // namespace

void SetLogLevel(LogLevel level) {
  g_max_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

void LogLine(LogLevel level, absl::string_view message) {
  int priority = static_cast<int>(level);
  if (priority > g_max_level.load(std::memory_order_relaxed)) {
    return;
  }

  // One write per line keeps concurrent messages whole.  A short or failed
  // write to stderr has nowhere better to be reported.
  std::string line = absl::StrCat("<", priority, ">", message, "\n");
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace attachd::daemon
