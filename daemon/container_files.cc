#include "daemon/container_files.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "daemon/syscalls.h"
#include "daemon/unique_fd.h"

namespace attachd::daemon {
namespace {

// The worker sends each file over its own pipe as records: kData headers
// followed by `value` bytes, then one kEnd, kError (`value` is an errno)
// or kRefused (`value` is a Refusal).
struct Record {
  enum Kind : int32_t { kData = 1, kEnd = 2, kError = 3, kRefused = 4 };
  int32_t kind;
  int32_t value;
};

enum Refusal : int32_t {
  kNotRegularFile = 1,
  kVirtualFile = 2,
};

constexpr size_t kCopyBufferSize = 4096;

// What the worker reads, prepared by the daemon.
struct CopyJob {
  const char* const* paths;
  const int* pipes;
  size_t count;
  size_t max_bytes;
};

// Async-signal-safe.
bool WriteAll(int fd, const void* data, size_t size) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = write(fd, bytes, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    bytes += n;
    size -= n;
  }
  return true;
}

// Async-signal-safe.  Opens `path` for reading if it is a regular file
// the container owns; returns the end record to send instead otherwise.
Record OpenForCopy(const char* path, int* fd) {
  struct open_how how = {};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  how.resolve = RESOLVE_NO_MAGICLINKS;
  *fd =
      static_cast<int>(syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how)));
  if (*fd < 0) {
    return {Record::kError, errno};
  }

  struct stat file;
  struct statfs filesystem;
  if (fstat(*fd, &file) < 0 || fstatfs(*fd, &filesystem) < 0) {
    return {Record::kError, errno};
  }
  if (!S_ISREG(file.st_mode)) {
    return {Record::kRefused, kNotRegularFile};
  }
  if (filesystem.f_type == PROC_SUPER_MAGIC ||
      filesystem.f_type == SYSFS_MAGIC) {
    return {Record::kRefused, kVirtualFile};
  }
  return {Record::kData, 0};
}

// Async-signal-safe.  Sends one file; stops once more than `max_bytes`
// went out, which the daemon reports as too large.
void CopyFile(const char* path, int pipe, size_t max_bytes) {
  int fd = -1;
  Record record = OpenForCopy(path, &fd);
  size_t copied = 0;
  char buffer[kCopyBufferSize];
  while (record.kind == Record::kData && copied <= max_bytes) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      record = n == 0 ? Record{Record::kEnd, 0} : Record{Record::kError, errno};
      break;
    }
    Record header = {Record::kData, static_cast<int32_t>(n)};
    if (!WriteAll(pipe, &header, sizeof(header)) ||
        !WriteAll(pipe, buffer, n)) {
      return;
    }
    copied += n;
  }
  if (record.kind == Record::kData) {
    record = {Record::kEnd, 0};
  }
  WriteAll(pipe, &record, sizeof(record));
  if (fd >= 0) {
    close(fd);
  }
}

// The WorkerFunction; `argument` is a CopyJob*.  Async-signal-safe.  It
// reports started at once, so that SpawnWorker() returns and the daemon
// drains the pipes while it writes.
int CopyFiles(const WorkerContext& context, void* argument) {
  const CopyJob& job = *static_cast<CopyJob*>(argument);
  context.ReportStarted();
  for (size_t i = 0; i < job.count; ++i) {
    CopyFile(job.paths[i], job.pipes[i], job.max_bytes);
    close(job.pipes[i]);
  }
  return 0;
}

// Reads exactly `size` bytes before `deadline`.  OUT_OF_RANGE at end of
// file, DEADLINE_EXCEEDED when the deadline passes.
absl::Status ReadExactly(int fd, void* data, size_t size, absl::Time deadline) {
  char* bytes = static_cast<char*>(data);
  while (size > 0) {
    int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    struct pollfd readable = {fd, POLLIN, 0};
    int ready = left > 0 ? poll(&readable, 1, static_cast<int>(left)) : 0;
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready < 0) {
      return absl::ErrnoToStatus(errno, "poll");
    }
    if (ready == 0) {
      return absl::DeadlineExceededError("timed out");
    }
    ssize_t n = read(fd, bytes, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return absl::ErrnoToStatus(errno, "read");
    }
    if (n == 0) {
      return absl::OutOfRangeError("end of file");
    }
    bytes += n;
    size -= n;
  }
  return absl::OkStatus();
}

// One file's status from its end record.
absl::Status EndStatus(const Record& record, const std::string& path) {
  switch (record.kind) {
    case Record::kEnd:
      return absl::OkStatus();
    case Record::kError:
      if (record.value == ENOENT) {
        return absl::NotFoundError(absl::StrCat(path, " does not exist"));
      }
      if (record.value == ELOOP) {
        return absl::FailedPreconditionError(absl::StrCat(
            path, " is a symlink loop or a magic link (/proc/PID/fd/N)"));
      }
      return absl::ErrnoToStatus(record.value, absl::StrCat("open ", path));
    case Record::kRefused:
      return absl::FailedPreconditionError(absl::StrCat(
          path, record.value == kVirtualFile ? " is a procfs or sysfs file"
                                             : " is not a regular file"));
  }
  return absl::InternalError(absl::StrCat("bad record reading ", path));
}

// Receives one file from its pipe into `file`.  An error ends the whole
// read (the pipe is then out of step, or the deadline passed).
absl::Status ReceiveFile(int pipe, const std::string& path, size_t max_bytes,
                         absl::Time deadline,
                         absl::StatusOr<std::string>* file) {
  std::string contents;
  for (;;) {
    Record record;
    absl::Status status = ReadExactly(pipe, &record, sizeof(record), deadline);
    if (status.ok() && record.kind == Record::kData &&
        (record.value <= 0 || record.value > int32_t{kCopyBufferSize})) {
      status = absl::InternalError("bad record");
    }
    if (status.ok() && record.kind == Record::kData) {
      size_t at = contents.size();
      contents.resize(at + record.value);
      status = ReadExactly(pipe, &contents[at], record.value, deadline);
    }
    if (!status.ok()) {
      return absl::Status(status.code(), absl::StrCat("reading ", path, ": ",
                                                      status.message()));
    }
    if (record.kind != Record::kData) {
      absl::Status end = EndStatus(record, path);
      if (!end.ok()) {
        *file = end;
        return absl::OkStatus();
      }
      break;
    }
  }

  if (contents.size() > max_bytes) {
    *file = absl::FailedPreconditionError(
        absl::StrCat(path, " is larger than ", max_bytes, " bytes"));
  } else {
    *file = std::move(contents);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<absl::StatusOr<std::string>>> ReadContainerFiles(
    const AttachPlan& plan, const std::vector<std::string>& paths,
    const ContainerFileLimits& limits) {
  std::vector<UniqueFd> readers;
  std::vector<UniqueFd> writers;
  std::vector<int> writer_fds;
  std::vector<const char*> path_pointers;
  for (const std::string& path : paths) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
      return absl::ErrnoToStatus(errno, "pipe2");
    }
    readers.emplace_back(fds[0]);
    writers.emplace_back(fds[1]);
    writer_fds.push_back(fds[1]);
    path_pointers.push_back(path.c_str());
  }

  CopyJob job = {path_pointers.data(), writer_fds.data(), paths.size(),
                 limits.max_bytes};
  absl::StatusOr<SpawnedWorker> worker =
      SpawnWorker(plan, writer_fds, &CopyFiles, &job);
  // The pipes must end when the worker does.
  writers.clear();
  if (!worker.ok()) {
    return worker.status();
  }

  absl::Time deadline = absl::Now() + limits.timeout;
  std::vector<absl::StatusOr<std::string>> files(paths.size());
  absl::Status failure;
  for (size_t i = 0; i < paths.size() && failure.ok(); ++i) {
    failure = ReceiveFile(readers[i].get(), paths[i], limits.max_bytes,
                          deadline, &files[i]);
  }

  if (!failure.ok()) {
    PidfdSendSignal(worker->pidfd.get(), SIGKILL, nullptr, 0);
  }
  siginfo_t info;
  while (waitid(P_PIDFD, worker->pidfd.get(), &info, WEXITED) < 0 &&
         errno == EINTR) {
  }
  if (!failure.ok()) {
    return failure;
  }
  return files;
}

}  // namespace attachd::daemon
