#include "daemon/container_service.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "daemon/grpc_status.h"
#include "daemon/logging.h"

namespace attachd::daemon {
namespace {

// Runs `body` for an authorized caller; logs a failure once, with who
// asked what.
template <typename Body>
grpc::Status Serve(const Authorizer& authorizer,
                   const grpc::ServerContext& context,
                   const std::string& operation, Body body) {
  absl::StatusOr<PeerCredentials> caller = authorizer.Authorize(context);
  absl::Status status = caller.ok() ? body() : caller.status();
  if (!status.ok()) {
    Log(LogLevel::kNotice, "%s by %s failed: %s: %s", operation,
        caller.ok() ? caller->ToString() : context.peer(),
        absl::StatusCodeToString(status.code()), status.message());
  }
  return ToGrpcStatus(status);
}

}  // namespace

grpc::Status ContainerServiceImpl::Register(grpc::ServerContext* context,
                                            const v1::RegisterRequest* request,
                                            v1::Container* response) {
  std::string operation =
      absl::StrCat("register ", request->name(), " pid ", request->pid());
  return Serve(*authorizer_, *context, operation, [&]() -> absl::Status {
    std::optional<uint64_t> start_time;
    if (request->has_start_time()) {
      start_time = request->start_time();
    }
    absl::StatusOr<v1::Container> container =
        registry_->Register(request->name(), request->pid(), start_time);
    if (!container.ok()) {
      return container.status();
    }
    *response = std::move(*container);
    Log(LogLevel::kInfo, "registered %s (pid %d)", response->name(),
        response->pid());
    return absl::OkStatus();
  });
}

grpc::Status ContainerServiceImpl::Get(grpc::ServerContext* context,
                                       const v1::GetRequest* request,
                                       v1::Container* response) {
  return Serve(*authorizer_, *context, "get " + request->name(),
               [&]() -> absl::Status {
                 absl::StatusOr<v1::Container> container =
                     registry_->Get(request->name());
                 if (!container.ok()) {
                   return container.status();
                 }
                 *response = std::move(*container);
                 return absl::OkStatus();
               });
}

grpc::Status ContainerServiceImpl::List(grpc::ServerContext* context,
                                        const v1::ListRequest* request,
                                        v1::ListResponse* response) {
  return Serve(*authorizer_, *context, "list", [&]() -> absl::Status {
    for (v1::Container& container : registry_->List()) {
      *response->add_containers() = std::move(container);
    }
    return absl::OkStatus();
  });
}

grpc::Status ContainerServiceImpl::Unregister(
    grpc::ServerContext* context, const v1::UnregisterRequest* request,
    v1::UnregisterResponse* response) {
  return Serve(*authorizer_, *context, "unregister " + request->name(),
               [&]() -> absl::Status {
                 absl::Status status = registry_->Unregister(request->name());
                 if (status.ok()) {
                   Log(LogLevel::kInfo, "unregistered %s", request->name());
                 }
                 return status;
               });
}

grpc::Status ContainerServiceImpl::Watch(
    grpc::ServerContext* context, const v1::WatchRequest* request,
    grpc::ServerWriter<v1::Event>* writer) {
  return Serve(*authorizer_, *context, "watch", [&]() -> absl::Status {
    std::shared_ptr<Subscription> subscription =
        registry_->Subscribe(request->include_existing());

    // The synchronous API has no cancellation callback: wake up now and
    // then to check whether the client is still there.
    absl::Status status;
    while (!context->IsCancelled()) {
      absl::StatusOr<v1::Event> event =
          subscription->Next(absl::Milliseconds(200));
      if (absl::IsDeadlineExceeded(event.status())) {
        continue;
      }
      if (!event.ok()) {
        status = event.status();
        break;
      }
      if (!writer->Write(*event)) {
        break;
      }
    }
    registry_->Unsubscribe(subscription);
    return status;
  });
}

}  // namespace attachd::daemon
