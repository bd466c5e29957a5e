#include "client/kill_command.h"

#include "absl/strings/str_cat.h"
#include "client/rpc_error.h"
#include "grpcpp/grpcpp.h"

namespace attachd::client {

int RunKill(attachd::v1::ExecService::StubInterface& stub, const KillArgs& args,
            const CommandEnv& env) {
  attachd::v1::SignalRequest request;
  request.set_container(args.container);
  request.set_pid(args.pid);
  request.set_signal(args.signal);

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kUnaryCallTimeout);
  attachd::v1::SignalResponse response;
  grpc::Status status = stub.Signal(&context, request, &response);
  if (!status.ok()) {
    *env.err << RpcErrorLine(
                    absl::StrCat("kill ", args.pid, " in ", args.container),
                    status, env.socket_path)
             << "\n";
    return 1;
  }
  return 0;
}

}  // namespace attachd::client
