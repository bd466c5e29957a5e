#include "daemon/service_notifier.h"

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace attachd::daemon {

ServiceNotifier::~ServiceNotifier() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

std::string ServiceNotifier::StatusText(size_t containers) {
  return absl::StrCat("serving ", containers,
                      containers == 1 ? " container" : " containers");
}

void ServiceNotifier::Start() {
  std::string ready =
      absl::StrCat("READY=1\nSTATUS=", StatusText(registry_->size()));
  sd_notify(0, ready.c_str());

  // sd_watchdog_enabled() reports WatchdogSec in microseconds, 0 if off.
  uint64_t watchdog_usec = 0;
  absl::Duration interval = absl::InfiniteDuration();
  if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0) {
    interval = absl::Microseconds(watchdog_usec) / 2;
  }
  thread_ = std::thread([this, interval] { Run(interval); });
}

void ServiceNotifier::Stopping() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  sd_notify(0, "STOPPING=1");
}

void ServiceNotifier::Run(absl::Duration watchdog_interval) {
  // STATUS follows the registry within a second; the watchdog is fed at
  // its own pace.  Reading the registry's size takes its lock, so a
  // deadlocked registry starves the watchdog, as it should.
  absl::Duration tick = std::min(watchdog_interval, absl::Seconds(1));
  size_t reported = registry_->size();
  absl::Time next_watchdog = absl::Now();
  absl::MutexLock lock(&mutex_);
  auto stopping = [this]()
                      ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return stopping_; };
  while (!mutex_.AwaitWithTimeout(absl::Condition(&stopping), tick)) {
    size_t containers = registry_->size();
    if (containers != reported) {
      reported = containers;
      sd_notify(0, absl::StrCat("STATUS=", StatusText(containers)).c_str());
    }
    if (watchdog_interval != absl::InfiniteDuration() &&
        absl::Now() >= next_watchdog) {
      sd_notify(0, "WATCHDOG=1");
      next_watchdog = absl::Now() + watchdog_interval;
    }
  }
}

}  // namespace attachd::daemon
