#include "client/rpc_error.h"

#include <errno.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace attachd::client {
namespace {

std::string CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED:
      return "call cancelled";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "attachd did not answer in time";
    case grpc::StatusCode::UNAVAILABLE:
      return "lost the connection to attachd";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "this attachd does not serve that call (is it older than "
             "attachctl?)";
    default:
      return absl::StrCat("call failed with gRPC status ",
                          static_cast<int>(code));
  }
}

}  // namespace

std::string ErrorLine(absl::string_view what, absl::string_view why) {
  return absl::StrCat("attachctl: ", what, ": ", why);
}

std::string ConnectErrorLine(absl::string_view socket_path) {
  std::string what = absl::StrCat("cannot connect to attachd at ", socket_path);

  // connect(2) on a Unix socket needs write permission on its file.
  std::string path(socket_path);
  if (access(path.c_str(), W_OK) != 0 && errno == EACCES) {
    return ErrorLine(what, "permission denied");
  }
  return ErrorLine(what, "is the daemon running?");
}

std::string RpcErrorLine(absl::string_view what, const grpc::Status& status,
                         absl::string_view socket_path, bool daemon_answered) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      !daemon_answered) {
    return ConnectErrorLine(socket_path);
  }

  if (status.error_message().empty()) {
    return ErrorLine(what, CodeName(status.error_code()));
  }
  // One line, whatever the daemon wrote.
  return ErrorLine(what, absl::StrReplaceAll(status.error_message(),
                                             {{"\r", " "}, {"\n", " "}}));
}

}  // namespace attachd::client
