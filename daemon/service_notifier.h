// Talks to the service manager (systemd, or anything that speaks the
// sd_notify(3) protocol on $NOTIFY_SOCKET): READY=1 once attachd serves,
// STATUS= with the number of registered containers whenever it changes,
// WATCHDOG=1 at half the configured WatchdogSec while the registry
// answers, STOPPING=1 on shutdown.  Without $NOTIFY_SOCKET every call does
// nothing.
//
// Threads: Start() spawns the thread that sends STATUS and WATCHDOG; the
// other members may be called from any thread.

#ifndef ATTACHD_DAEMON_SERVICE_NOTIFIER_H_
#define ATTACHD_DAEMON_SERVICE_NOTIFIER_H_

#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/registry.h"

namespace attachd::daemon {

class ServiceNotifier {
 public:
  // `registry` must outlive this object.
  explicit ServiceNotifier(const Registry* registry) : registry_(registry) {}
  // Stops the thread.
  ~ServiceNotifier();

  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  // Sends READY=1 with the first STATUS, then keeps STATUS and WATCHDOG
  // going.
  void Start();

  // Sends STOPPING=1 and stops the thread.
  void Stopping();

  // "serving 3 containers".
  static std::string StatusText(size_t containers);

 private:
  void Run(absl::Duration watchdog_interval);

  const Registry* const registry_;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_SERVICE_NOTIFIER_H_
