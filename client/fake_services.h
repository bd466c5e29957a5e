// Test-only fakes of attachd's two services, to serve from a TestServer.
// Both are thread-safe: gRPC runs their handlers on its own threads while
// the test inspects them.

#ifndef ATTACHD_CLIENT_FAKE_SERVICES_H_
#define ATTACHD_CLIENT_FAKE_SERVICES_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "attachd/v1/attachd.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace attachd::client {

using ExecServerStream = grpc::ServerReaderWriter<attachd::v1::ExecResponse,
                                                  attachd::v1::ExecRequest>;

// An ExecService whose every Exec call runs `script` and whose every Signal
// call runs `signal_script`, or answers UNIMPLEMENTED without one (as an
// attachd that does not serve Signal).
class ScriptedExecService final : public attachd::v1::ExecService::Service {
 public:
  using Script =
      std::function<grpc::Status(grpc::ServerContext*, ExecServerStream*)>;
  using SignalScript =
      std::function<grpc::Status(const attachd::v1::SignalRequest&)>;

  explicit ScriptedExecService(Script script,
                               SignalScript signal_script = nullptr)
      : script_(std::move(script)), signal_script_(std::move(signal_script)) {}

  grpc::Status Exec(grpc::ServerContext* context,
                    ExecServerStream* stream) override {
    return script_(context, stream);
  }

  grpc::Status Signal(grpc::ServerContext*,
                      const attachd::v1::SignalRequest* request,
                      attachd::v1::SignalResponse*) override {
    if (signal_script_ == nullptr) {
      return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "");
    }
    return signal_script_(*request);
  }

 private:
  const Script script_;
  const SignalScript signal_script_;
};

// The requests of an Exec call as a script reads them, for the test's
// thread to wait on.  Thread-safe.
class ExecRequestLog {
 public:
  using Predicate =
      std::function<bool(const std::vector<attachd::v1::ExecRequest>&)>;

  void Add(const attachd::v1::ExecRequest& request);

  // Waits until `predicate` holds of the requests so far, or `limit`
  // passes; returns the requests either way.
  std::vector<attachd::v1::ExecRequest> WaitUntil(const Predicate& predicate,
                                                  absl::Duration limit);

  std::vector<attachd::v1::ExecRequest> requests();

 private:
  absl::Mutex mutex_;
  std::vector<attachd::v1::ExecRequest> requests_ ABSL_GUARDED_BY(mutex_);
};

// For Exec scripts: reads until the client half-closes (Read() returns
// false) and returns true; or, like attachd, cancels the call if that takes
// longer than `limit` and returns false.  Messages read on the way are
// appended to `read` unless it is null.
bool WaitForHalfClose(grpc::ServerContext* context, ExecServerStream* stream,
                      absl::Duration limit,
                      std::vector<attachd::v1::ExecRequest>* read);

// A ContainerService over an in-memory map, with attachd's status codes and
// messages.  Watch sends the events given to SetWatchScript() and then
// ends with the given status, or, without one, waits for the client to
// cancel.
class FakeContainerService final
    : public attachd::v1::ContainerService::Service {
 public:
  void Add(const attachd::v1::Container& container);
  std::vector<std::string> Names();
  std::optional<attachd::v1::RegisterRequest> last_register_request();

  void SetWatchScript(std::vector<attachd::v1::Event> events,
                      std::optional<grpc::Status> end);
  std::optional<attachd::v1::WatchRequest> last_watch_request();
  // Notified once a Watch call has sent all its events.
  absl::Notification& watch_events_sent() { return watch_events_sent_; }
  // Notified when a Watch call that waits for cancellation sees it.
  absl::Notification& watch_cancelled() { return watch_cancelled_; }

  grpc::Status Register(grpc::ServerContext* context,
                        const attachd::v1::RegisterRequest* request,
                        attachd::v1::Container* response) override;
  grpc::Status Get(grpc::ServerContext* context,
                   const attachd::v1::GetRequest* request,
                   attachd::v1::Container* response) override;
  grpc::Status List(grpc::ServerContext* context,
                    const attachd::v1::ListRequest* request,
                    attachd::v1::ListResponse* response) override;
  grpc::Status Unregister(grpc::ServerContext* context,
                          const attachd::v1::UnregisterRequest* request,
                          attachd::v1::UnregisterResponse* response) override;
  grpc::Status Watch(grpc::ServerContext* context,
                     const attachd::v1::WatchRequest* request,
                     grpc::ServerWriter<attachd::v1::Event>* writer) override;

 private:
  absl::Mutex mutex_;
  std::map<std::string, attachd::v1::Container> containers_
      ABSL_GUARDED_BY(mutex_);
  std::optional<attachd::v1::RegisterRequest> last_register_request_
      ABSL_GUARDED_BY(mutex_);
  std::vector<attachd::v1::Event> watch_events_ ABSL_GUARDED_BY(mutex_);
  std::optional<grpc::Status> watch_end_ ABSL_GUARDED_BY(mutex_) =
      grpc::Status::OK;
  std::optional<attachd::v1::WatchRequest> last_watch_request_
      ABSL_GUARDED_BY(mutex_);
  absl::Notification watch_events_sent_;
  absl::Notification watch_cancelled_;
};

}  // namespace attachd::client

#endif  // ATTACHD_CLIENT_FAKE_SERVICES_H_
