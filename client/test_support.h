// Test-only helpers for attachctl's tests: an in-process gRPC server on a
// Unix socket, and memfd-backed descriptors that stand in for stdin,
// stdout and stderr.  Not thread-safe unless a method says so.

#ifndef ATTACHD_CLIENT_TEST_SUPPORT_H_
#define ATTACHD_CLIENT_TEST_SUPPORT_H_

#include <memory>
#include <string>
#include <vector>

#include "attachd/v1/attachd.pb.h"
#include "common/unique_fd.h"
#include "grpcpp/grpcpp.h"

namespace attachd::client {

// Serves `services` (borrowed; they must outlive the server) on a Unix
// socket in a fresh directory under /tmp (a Unix socket path must fit in
// 108 bytes, which Bazel's TEST_TMPDIR may not).  The destructor shuts the
// server down, cancelling calls still running after one second, and
// removes the socket and its directory.  Dies (gtest assertion in the
// constructor) if the server cannot start.
class TestServer {
 public:
  explicit TestServer(const std::vector<grpc::Service*>& services);
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;
  ~TestServer();

  const std::string& socket_path() const { return socket_path_; }

  // A new channel to the server, as attachctl makes it.
  std::shared_ptr<grpc::Channel> Connect() const;

 private:
  std::string directory_;
  std::string socket_path_;
  std::unique_ptr<grpc::Server> server_;
};

// A fresh memfd (close-on-exec) holding `contents`, positioned at offset 0.
common::UniqueFd MemfdWithContents(const std::string& contents);

// Everything in the file behind `fd`, read with pread(2) from offset 0.
std::string FileContents(int fd);

// `size` bytes of a fixed pseudo-random pattern, every byte value included.
std::string PatternBytes(size_t size);

// Server messages for fake ExecServices.
attachd::v1::ExecResponse Stdout(const std::string& bytes);
attachd::v1::ExecResponse Stderr(const std::string& bytes);
attachd::v1::ExecResponse ExitCode(int code);
attachd::v1::ExecResponse KilledBy(int signal);

}  // namespace attachd::client

#endif  // ATTACHD_CLIENT_TEST_SUPPORT_H_
