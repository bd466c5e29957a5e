#include "client/test_support.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "client/fd_io.h"
#include "gtest/gtest.h"

namespace attachd::client {

TestServer::TestServer(const std::vector<grpc::Service*>& services) {
  char directory[] = "/tmp/attachctl-test.XXXXXX";
  EXPECT_NE(mkdtemp(directory), nullptr) << strerror(errno);
  directory_ = directory;
  socket_path_ = directory_ + "/attachd.sock";

  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket_path_,
                           grpc::InsecureServerCredentials());
  // Sync-server pollers wait this long between checks for shutdown; at the
  // default (10 s) a finished test can sit in ~TestServer for 10 s.
  builder.SetSyncServerOption(
      grpc::ServerBuilder::SyncServerOption::CQ_TIMEOUT_MSEC, 100);
  for (grpc::Service* service : services) {
    builder.RegisterService(service);
  }
  server_ = builder.BuildAndStart();
  EXPECT_NE(server_, nullptr) << "cannot serve on " << socket_path_;
}

TestServer::~TestServer() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(1));
  }
  unlink(socket_path_.c_str());
  rmdir(directory_.c_str());
}

std::shared_ptr<grpc::Channel> TestServer::Connect() const {
  return grpc::CreateChannel("unix:" + socket_path_,
                             grpc::InsecureChannelCredentials());
}

common::UniqueFd MemfdWithContents(const std::string& contents) {
  common::UniqueFd fd(memfd_create("attachctl-test", MFD_CLOEXEC));
  EXPECT_TRUE(fd.valid()) << strerror(errno);
  EXPECT_TRUE(WriteAll(fd.get(), contents).ok());
  EXPECT_EQ(lseek(fd.get(), 0, SEEK_SET), 0);
  return fd;
}

std::string FileContents(int fd) {
  std::string contents;
  char buffer[65536];
  ssize_t count;
  while ((count = pread(fd, buffer, sizeof(buffer), contents.size())) > 0) {
    contents.append(buffer, static_cast<size_t>(count));
  }
  EXPECT_EQ(count, 0) << strerror(errno);
  return contents;
}

std::string PatternBytes(size_t size) {
  std::string bytes(size, '\0');
  uint32_t state = 2463534242;
  for (size_t i = 0; i < size; ++i) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    bytes[i] = static_cast<char>(i < 256 ? i : state & 0xff);
  }
  return bytes;
}

attachd::v1::ExecResponse Stdout(const std::string& bytes) {
  attachd::v1::ExecResponse response;
  response.set_stdout_data(bytes);
  return response;
}

attachd::v1::ExecResponse Stderr(const std::string& bytes) {
  attachd::v1::ExecResponse response;
  response.set_stderr_data(bytes);
  return response;
}

attachd::v1::ExecResponse ExitCode(int code) {
  attachd::v1::ExecResponse response;
  response.mutable_exit()->set_code(code);
  return response;
}

attachd::v1::ExecResponse KilledBy(int signal) {
  attachd::v1::ExecResponse response;
  response.mutable_exit()->set_signal(signal);
  return response;
}

}  // namespace attachd::client
