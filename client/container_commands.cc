#include "client/container_commands.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "client/format.h"
#include "client/rpc_error.h"
#include "client/signal_watch.h"
#include "grpcpp/grpcpp.h"

namespace attachd::client {
namespace {

using ::attachd::v1::Container;
using ::attachd::v1::Event;

void SetUnaryDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + kUnaryCallTimeout);
}

int ReportRpcError(absl::string_view what, const grpc::Status& status,
                   const CommandEnv& env) {
  *env.err << RpcErrorLine(what, status, env.socket_path) << "\n";
  return 1;
}

// Writes JSON, or reports why protobuf could not make it.
int PrintJson(const google::protobuf::Message& message, absl::string_view what,
              const CommandEnv& env) {
  absl::StatusOr<std::string> json = ToJson(message, JsonLayout::kIndented);
  if (!json.ok()) {
    *env.err << ErrorLine(what, json.status().message()) << "\n";
    return 1;
  }
  *env.out << *json;
  return 0;
}

// Returns false once `env.out` has failed, typically because the reader of
// a pipe went away.
bool PrintEvent(const Event& event, EventFormat format, const CommandEnv& env) {
  if (format == EventFormat::kText) {
    *env.out << EventLine(event) << "\n";
  } else {
    absl::StatusOr<std::string> json = ToJson(event, JsonLayout::kOneLine);
    if (!json.ok()) {
      *env.err << ErrorLine("events", json.status().message()) << "\n";
      return true;
    }
    *env.out << *json << "\n";
  }
  env.out->flush();
  return env.out->good();
}

}  // namespace

int RunRegister(ContainerStub& stub, const RegisterArgs& args,
                const CommandEnv& env) {
  attachd::v1::RegisterRequest request;
  request.set_name(args.name);
  request.set_pid(args.pid);
  if (args.start_time.has_value()) {
    request.set_start_time(*args.start_time);
  }

  grpc::ClientContext context;
  SetUnaryDeadline(&context);
  Container container;
  grpc::Status status = stub.Register(&context, request, &container);
  if (!status.ok()) {
    return ReportRpcError(absl::StrCat("register ", args.name), status, env);
  }
  *env.out << container.name() << "\n";
  return 0;
}

int RunList(ContainerStub& stub, ListFormat format, absl::Time now,
            const CommandEnv& env) {
  grpc::ClientContext context;
  SetUnaryDeadline(&context);
  attachd::v1::ListResponse list;
  grpc::Status status = stub.List(&context, {}, &list);
  if (!status.ok()) {
    return ReportRpcError("list containers", status, env);
  }

  switch (format) {
    case ListFormat::kTable:
      *env.out << ContainerTable(list, now);
      return 0;
    case ListFormat::kNames:
      for (const Container& container : list.containers()) {
        *env.out << container.name() << "\n";
      }
      return 0;
    case ListFormat::kJson:
      return PrintJson(list, "list containers", env);
  }
  return 0;
}

int RunInspect(ContainerStub& stub, const std::string& name,
               const CommandEnv& env) {
  attachd::v1::GetRequest request;
  request.set_name(name);

  grpc::ClientContext context;
  SetUnaryDeadline(&context);
  Container container;
  grpc::Status status = stub.Get(&context, request, &container);
  if (!status.ok()) {
    return ReportRpcError(absl::StrCat("inspect ", name), status, env);
  }
  return PrintJson(container, absl::StrCat("inspect ", name), env);
}

int RunRemove(ContainerStub& stub, const std::vector<std::string>& names,
              const CommandEnv& env) {
  int exit_code = 0;
  for (const std::string& name : names) {
    attachd::v1::UnregisterRequest request;
    request.set_name(name);
    grpc::ClientContext context;
    SetUnaryDeadline(&context);
    attachd::v1::UnregisterResponse response;
    grpc::Status status = stub.Unregister(&context, request, &response);
    if (status.ok()) {
      *env.out << name << "\n";
      continue;
    }

    exit_code = ReportRpcError(absl::StrCat("rm ", name), status, env);
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      break;  // Every other name would fail the same way.
    }
  }
  return exit_code;
}

int RunEvents(ContainerStub& stub, bool include_existing, EventFormat format,
              const CommandEnv& env) {
  grpc::ClientContext context;
  absl::StatusOr<std::unique_ptr<SignalWatcher>> watcher =
      SignalWatcher::Start([&context](int) { context.TryCancel(); });
  if (!watcher.ok()) {
    *env.err << ErrorLine("events", watcher.status().message()) << "\n";
    return 1;
  }

  attachd::v1::WatchRequest request;
  request.set_include_existing(include_existing);
  std::unique_ptr<grpc::ClientReaderInterface<Event>> reader =
      stub.Watch(&context, request);
  Event event;
  bool answered = false;
  bool output_failed = false;
  while (reader->Read(&event)) {
    answered = true;
    if (!output_failed && !PrintEvent(event, format, env)) {
      output_failed = true;
      context.TryCancel();
    }
  }

  grpc::Status status = reader->Finish();
  if (status.ok() || output_failed ||
      (*watcher)->first_termination_signal() != 0) {
    return 0;
  }
  *env.err << RpcErrorLine("watch events", status, env.socket_path, answered)
           << "\n";
  return 1;
}

}  // namespace attachd::client
