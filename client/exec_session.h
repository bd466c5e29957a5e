// ExecSession: one ExecService.Exec call, as `attachctl exec` runs it.
//
// Run() sends the ExecStart and then:
//   - while the command runs, a writer thread of the session's own sends:
//     * with start.attach_stdin(), what it reads from `stdin_fd`, as
//       `stdin_data` messages of at most kStdinChunkSize bytes; at end of
//       file a `stdin_close`;
//     * with start.tty(), a `resize` message for each Resize() call, always
//       after the ExecStart, with the latest size when several calls came
//       before it could send (sizes are not queued).
//     Without start.tty() the session half-closes after `stdin_close`, or
//     right after the ExecStart when stdin is not attached either (there is
//     then no writer thread).  With start.tty() it keeps the call open for
//     resizes until `exit`.
//   - writes the bytes of `stdout_data` and `stderr_data` messages, fully
//     and in the order they arrive, to `stdout_fd` and `stderr_fd`.
//   - when `exit` arrives, stops the writer and half-closes if it has not
//     yet: the daemon ends the call only after the client half-closes.
// It returns once the call has ended.  With start.detach() the daemon ends
// the call after `started`; the session half-closes right after the
// ExecStart and returns what it got.
//
// Output to a descriptor whose reader went away (EPIPE) is dropped from
// then on; the caller must ignore SIGPIPE.  Any other write error is
// reported once on `stderr_fd` and that stream is dropped likewise.  A read
// error on `stdin_fd` is reported on `stderr_fd` and treated as end of
// file.
//
// Descriptors: the three fds are borrowed and must stay open until Run()
// returns; the session owns only two internal eventfds (close-on-exec).
//
// Threads: Run() is called once, from one thread.  Cancel() and Resize()
// may be called from any thread at any time, before, during or after
// Run(); neither blocks nor touches the stream, so a signal watcher's
// thread may call them.  Write() and WritesDone() on the stream never
// overlap: while the writer thread runs it alone writes; the calling thread
// writes only before starting it and after joining it.

#ifndef ATTACHD_CLIENT_EXEC_SESSION_H_
#define ATTACHD_CLIENT_EXEC_SESSION_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
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
  // End attachctl's own lines on `stderr_fd` with "\r\n": set while the
  // local terminal is in raw mode, which does not turn "\n" into one.
  bool raw_terminal = false;
};

class ExecSession {
 public:
  // `stub` must outlive the session.
  ExecSession(attachd::v1::ExecService::StubInterface* stub, ExecIo io);
  ExecSession(const ExecSession&) = delete;
  ExecSession& operator=(const ExecSession&) = delete;

  // Runs the call to its end and returns what it learned;
  // ExecResult::interrupt_signal is SIGPIPE if the output's reader went
  // away, else 0 for the caller to fill in.
  ExecResult Run(const attachd::v1::ExecStart& start);

  // Cancels the call: the daemon kills the command.  Run() then returns
  // with status CANCELLED unless `exit` had already arrived.
  void Cancel() { context_.TryCancel(); }

  // Asks for a `resize` message with `size` (see above).  Ignored unless
  // the ExecStart has tty set.
  void Resize(const attachd::v1::WindowSize& size);

 private:
  enum class InputEvent { kData, kEndOfFile, kResize, kWoken, kNothing };

  std::optional<attachd::v1::ExitStatus> ReadUntilExit(ExecResult* result);
  // Writes output to `fd`; a reader that went away (EPIPE) cancels the
  // call and records SIGPIPE in `result`, so attachctl exits 141.
  void WriteOutput(int fd, const std::string& bytes, bool* open,
                   ExecResult* result);
  void ReportStarted(const attachd::v1::Started& started);
  void DrainAfterExit();

  void ForwardInput(bool attach_stdin, bool tty);
  InputEvent WaitForInput(bool stdin_open, bool tty, std::string* chunk);
  InputEvent ReadStdin(std::string* chunk);
  bool SendResize();
  void StopWriterAndHalfClose();
  void Warn(const std::string& message);

  attachd::v1::ExecService::StubInterface* stub_;
  ExecIo io_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriterInterface<attachd::v1::ExecRequest,
                                                    attachd::v1::ExecResponse>>
      stream_;

  // Wakes the writer thread from poll(2) when `exit` arrives.
  common::UniqueFd wake_fd_;
  // Counts Resize() calls not yet sent (non-blocking).
  common::UniqueFd resize_fd_;
  absl::Mutex resize_mutex_;
  std::optional<attachd::v1::WindowSize> pending_resize_
      ABSL_GUARDED_BY(resize_mutex_);

  std::thread writer_thread_;
  // Whether WritesDone() ran; written by the writer thread before it ends,
  // read by the calling thread after joining it.
  bool half_closed_ = false;

  bool stdout_open_ = true;
  bool stderr_open_ = true;
};

}  // namespace attachd::client

#endif  // ATTACHD_CLIENT_EXEC_SESSION_H_
