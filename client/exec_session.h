// ExecSession: one ExecService.Exec call, as `attachctl exec` runs it.
//
// Run() sends the ExecStart and then:
//   - with start.attach_stdin(), forwards `stdin_fd` from a thread of its own
//   as
//     `stdin` messages of at most kStdinChunkSize bytes; at end of file it
//     sends `stdin_close` and half-closes.  Without start.attach_stdin() it
//     half-closes right after the ExecStart.
//   - writes the bytes of `stdout` and `stderr` messages, fully and in the
//     order they arrive, to `stdout_fd` and `stderr_fd`.
//   - when `exit` arrives, stops forwarding stdin and half-closes if it has
//     not yet: the daemon ends the call only after the client half-closes.
// It returns once the call has ended.
//
// Output to a descriptor whose reader went away (EPIPE) is dropped from
// then on; the caller must ignore SIGPIPE.  Any other write error is
// reported once on `stderr_fd` and that stream is dropped likewise.  A read
// error on `stdin_fd` is reported on `stderr_fd` and treated as end of
// file.
//
// Descriptors: the three fds are borrowed and must stay open until Run()
// returns; the session owns only an internal eventfd (close-on-exec).
//
// Threads: Run() is called once, from one thread.  Cancel() may be called
// from any thread at any time, before, during or after Run().  Write() and
// WritesDone() on the stream never overlap: while the stdin thread runs it
// alone writes; the calling thread writes only after joining it.

#ifndef ATTACHD_CLIENT_EXEC_SESSION_H_
#define ATTACHD_CLIENT_EXEC_SESSION_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <thread>

#include "attachd/v1/attachd.grpc.pb.h"
#include "client/exit_code.h"
#include "common/unique_fd.h"
#include "grpcpp/grpcpp.h"

namespace attachd::client {

inline constexpr size_t kStdinChunkSize = 32 * 1024;

struct ExecIo {
  int stdin_fd = 0;
  int stdout_fd = 1;
  int stderr_fd = 2;
  // Report the `started` message (the command's pids) on `stderr_fd`.
  bool verbose = false;
};

class ExecSession {
 public:
  // `stub` must outlive the session.
  ExecSession(attachd::v1::ExecService::StubInterface* stub, ExecIo io);
  ExecSession(const ExecSession&) = delete;
  ExecSession& operator=(const ExecSession&) = delete;

  // Runs the call to its end and returns what it learned;
  // ExecResult::interrupt_signal is left 0 for the caller to fill in.
  ExecResult Run(const attachd::v1::ExecStart& start);

  // Cancels the call: the daemon kills the command.  Run() then returns
  // with status CANCELLED unless `exit` had already arrived.
  void Cancel() { context_.TryCancel(); }

 private:
  enum class StdinEvent { kData, kEndOfFile, kWoken };

  std::optional<attachd::v1::ExitStatus> ReadUntilExit(bool* daemon_answered);
  void WriteOutput(int fd, const std::string& bytes, bool* open);
  void ReportStarted(const attachd::v1::Started& started);
  void DrainAfterExit();

  void ForwardStdin();
  StdinEvent ReadStdin(std::string* chunk);
  void StopStdinAndHalfClose();
  void Warn(const std::string& message);

  attachd::v1::ExecService::StubInterface* stub_;
  ExecIo io_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriterInterface<attachd::v1::ExecRequest,
                                                    attachd::v1::ExecResponse>>
      stream_;

  // Wakes the stdin thread from poll(2) when `exit` arrives.
  common::UniqueFd wake_fd_;
  std::thread stdin_thread_;
  // Whether WritesDone() ran; written by the stdin thread before it ends,
  // read by the calling thread after joining it.
  bool half_closed_ = false;

  bool stdout_open_ = true;
  bool stderr_open_ = true;
};

}  // namespace attachd::client

#endif  // ATTACHD_CLIENT_EXEC_SESSION_H_
