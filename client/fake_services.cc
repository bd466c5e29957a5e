#include "client/fake_services.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace attachd::client {

using ::attachd::v1::Container;
using ::attachd::v1::Event;

bool WaitForHalfClose(grpc::ServerContext* context, ExecServerStream* stream,
                      absl::Duration limit,
                      std::vector<attachd::v1::ExecRequest>* read) {
  absl::Notification done;
  std::thread watchdog([&] {
    if (!done.WaitForNotificationWithTimeout(limit)) {
      context->TryCancel();
    }
  });

  attachd::v1::ExecRequest request;
  while (stream->Read(&request)) {
    if (read != nullptr) {
      read->push_back(request);
    }
  }

  done.Notify();
  watchdog.join();
  return !context->IsCancelled();
}

void ExecRequestLog::Add(const attachd::v1::ExecRequest& request) {
  absl::MutexLock lock(&mutex_);
  requests_.push_back(request);
}

std::vector<attachd::v1::ExecRequest> ExecRequestLog::WaitUntil(
    const Predicate& predicate, absl::Duration limit) {
  absl::MutexLock lock(&mutex_);
  auto holds = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return predicate(requests_);
  };
  mutex_.AwaitWithTimeout(absl::Condition(&holds), limit);
  return requests_;
}

std::vector<attachd::v1::ExecRequest> ExecRequestLog::requests() {
  absl::MutexLock lock(&mutex_);
  return requests_;
}

void FakeContainerService::Add(const Container& container) {
  absl::MutexLock lock(&mutex_);
  containers_[container.name()] = container;
}

std::vector<std::string> FakeContainerService::Names() {
  absl::MutexLock lock(&mutex_);
  std::vector<std::string> names;
  for (const auto& [name, container] : containers_) {
    names.push_back(name);
  }
  return names;
}

std::optional<attachd::v1::RegisterRequest>
FakeContainerService::last_register_request() {
  absl::MutexLock lock(&mutex_);
  return last_register_request_;
}

void FakeContainerService::SetWatchScript(std::vector<Event> events,
                                          std::optional<grpc::Status> end) {
  absl::MutexLock lock(&mutex_);
  watch_events_ = std::move(events);
  watch_end_ = std::move(end);
}

std::optional<attachd::v1::WatchRequest>
FakeContainerService::last_watch_request() {
  absl::MutexLock lock(&mutex_);
  return last_watch_request_;
}

grpc::Status FakeContainerService::Register(
    grpc::ServerContext*, const attachd::v1::RegisterRequest* request,
    Container* response) {
  absl::MutexLock lock(&mutex_);
  last_register_request_ = *request;
  if (containers_.count(request->name()) > 0) {
    return grpc::Status(
        grpc::StatusCode::ALREADY_EXISTS,
        absl::StrCat("container ", request->name(), " already exists"));
  }

  Container& container = containers_[request->name()];
  container.set_name(request->name());
  container.set_pid(request->pid());
  container.set_start_time(request->start_time());
  container.set_state(Container::STATE_RUNNING);
  *response = container;
  return grpc::Status::OK;
}

grpc::Status FakeContainerService::Get(grpc::ServerContext*,
                                       const attachd::v1::GetRequest* request,
                                       Container* response) {
  absl::MutexLock lock(&mutex_);
  auto it = containers_.find(request->name());
  if (it == containers_.end()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "no container named " + request->name());
  }
  *response = it->second;
  return grpc::Status::OK;
}

grpc::Status FakeContainerService::List(grpc::ServerContext*,
                                        const attachd::v1::ListRequest*,
                                        attachd::v1::ListResponse* response) {
  absl::MutexLock lock(&mutex_);
  for (const auto& [name, container] : containers_) {
    *response->add_containers() = container;
  }
  return grpc::Status::OK;
}

grpc::Status FakeContainerService::Unregister(
    grpc::ServerContext*, const attachd::v1::UnregisterRequest* request,
    attachd::v1::UnregisterResponse*) {
  absl::MutexLock lock(&mutex_);
  if (containers_.erase(request->name()) == 0) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "no container named " + request->name());
  }
  return grpc::Status::OK;
}

grpc::Status FakeContainerService::Watch(
    grpc::ServerContext* context, const attachd::v1::WatchRequest* request,
    grpc::ServerWriter<Event>* writer) {
  std::vector<Event> events;
  std::optional<grpc::Status> end;
  {
    absl::MutexLock lock(&mutex_);
    last_watch_request_ = *request;
    events = watch_events_;
    end = watch_end_;
  }

  for (const Event& event : events) {
    writer->Write(event);
  }
  watch_events_sent_.Notify();
  if (end.has_value()) {
    return *end;
  }

  while (!context->IsCancelled()) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  watch_cancelled_.Notify();
  return grpc::Status::CANCELLED;
}

}  // namespace attachd::client
