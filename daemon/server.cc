#include "daemon/server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "daemon/logging.h"
#include "daemon/status_macros.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/server_posix.h"
#include "grpcpp/support/server_interceptor.h"

namespace attachd::daemon {
namespace {

absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket path \"", path, "\" is empty or too long"));
  }
  memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

// Removes a socket file left by a daemon that is gone; refuses to take
// over one that still answers, or a path that is not a socket.
absl::Status ClearStaleSocket(const std::string& path,
                              const sockaddr_un& address) {
  struct stat st;
  if (lstat(path.c_str(), &st) < 0) {
    return errno == ENOENT ? absl::OkStatus()
                           : absl::ErrnoToStatus(errno, "lstat " + path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " exists and is not a socket"));
  }
  UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (connect(probe.get(), reinterpret_cast<const sockaddr*>(&address),
              sizeof(address)) == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("another attachd is serving ", path));
  }
  if (unlink(path.c_str()) < 0) {
    return absl::ErrnoToStatus(errno, "unlink stale socket " + path);
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> Listen(const ServerOptions& options) {
  ATTACHD_ASSIGN_OR_RETURN(sockaddr_un address,
                           UnixAddress(options.socket_path));
  // The socket's own directory is created if missing (as /run/attachd is
  // on a fresh boot); its parents must exist.
  size_t slash = options.socket_path.rfind('/');
  std::string directory = slash == std::string::npos
                              ? std::string()
                              : options.socket_path.substr(0, slash);
  if (!directory.empty() && mkdir(directory.c_str(), 0755) < 0 &&
      errno != EEXIST) {
    return absl::ErrnoToStatus(errno, "mkdir " + directory);
  }
  ATTACHD_RETURN_IF_ERROR(ClearStaleSocket(options.socket_path, address));

  UniqueFd listener(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener.valid()) {
    return absl::ErrnoToStatus(errno, "socket(AF_UNIX)");
  }
  // The mode is set on the path before anyone can connect: bind under a
  // umask that leaves only owner and group.
  mode_t old_umask = umask(0117);
  int bound = bind(listener.get(), reinterpret_cast<sockaddr*>(&address),
                   sizeof(address));
  umask(old_umask);
  if (bound < 0) {
    return absl::ErrnoToStatus(errno, "bind " + options.socket_path);
  }
  if (options.group.has_value() &&
      chown(options.socket_path.c_str(), -1, *options.group) < 0) {
    return absl::ErrnoToStatus(errno, "chown " + options.socket_path);
  }
  if (listen(listener.get(), SOMAXCONN) < 0) {
    return absl::ErrnoToStatus(errno, "listen " + options.socket_path);
  }
  return listener;
}

// The socket a service manager passed (socket activation), if any.
absl::StatusOr<UniqueFd> InheritedListener() {
  int count = sd_listen_fds(/*unset_environment=*/1);
  if (count < 0) {
    return absl::ErrnoToStatus(-count, "sd_listen_fds");
  }
  if (count == 0) {
    return UniqueFd();
  }
  int fd = SD_LISTEN_FDS_START;
  if (count > 1 || sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) <= 0) {
    return absl::InvalidArgumentError(
        "socket activation must pass exactly one listening Unix stream "
        "socket");
  }
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  return UniqueFd(fd);
}

// Created by gRPC for each call and destroyed when the call is done.
template <typename Counter>
class CallCounter : public grpc::experimental::Interceptor {
 public:
  explicit CallCounter(Counter* calls) : calls_(calls) { calls_->Add(1); }
  ~CallCounter() override { calls_->Add(-1); }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    methods->Proceed();
  }

 private:
  Counter* const calls_;
};

template <typename Counter>
class CallCounterFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CallCounterFactory(Counter* calls) : calls_(calls) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CallCounter<Counter>(calls_);
  }

 private:
  Counter* const calls_;
};

}  // namespace

void Server::ActiveCalls::Add(int delta) {
  absl::MutexLock lock(&mutex_);
  count_ += delta;
}

int Server::ActiveCalls::count() const {
  absl::MutexLock lock(&mutex_);
  return count_;
}

bool Server::ActiveCalls::WaitIdle(absl::Duration timeout) {
  absl::MutexLock lock(&mutex_);
  auto idle = [this]()
                  ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return count_ == 0; };
  return mutex_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

int Server::active_calls() const { return active_calls_.count(); }

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const ServerOptions& options, Authorizer* authorizer,
    const std::vector<grpc::Service*>& services) {
  ATTACHD_ASSIGN_OR_RETURN(UniqueFd listener, InheritedListener());
  bool owns_path = !listener.valid();
  std::string description = "inherited socket (socket activation)";
  if (owns_path) {
    ATTACHD_ASSIGN_OR_RETURN(listener, Listen(options));
    description = options.socket_path;
  }

  std::unique_ptr<Server> server(new Server(std::move(listener), owns_path,
                                            description, options.socket_path,
                                            authorizer));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  for (grpc::Service* service : services) {
    builder.RegisterService(service);
  }
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(std::make_unique<CallCounterFactory<ActiveCalls>>(
      &server->active_calls_));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server->grpc_server_ = builder.BuildAndStart();
  if (server->grpc_server_ == nullptr) {
    return absl::InternalError("gRPC server failed to start");
  }

  server->stop_event_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!server->stop_event_.valid()) {
    return absl::ErrnoToStatus(errno, "eventfd");
  }
  server->acceptor_ = std::thread([raw = server.get()] { raw->AcceptLoop(); });
  return server;
}

Server::Server(UniqueFd listener, bool owns_path, std::string description,
               std::string socket_path, Authorizer* authorizer)
    : listener_(std::move(listener)),
      owns_path_(owns_path),
      description_(std::move(description)),
      socket_path_(std::move(socket_path)),
      authorizer_(authorizer) {}

Server::~Server() { Shutdown(absl::ZeroDuration()); }

void Server::AcceptLoop() {
  for (;;) {
    struct pollfd fds[2] = {{listener_.get(), POLLIN, 0},
                            {stop_event_.get(), POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) {
      Log(LogLevel::kError, "poll on the listening socket: %s",
          strerror(errno));
      return;
    }
    if (fds[1].revents & POLLIN) {
      return;
    }
    if (!(fds[0].revents & POLLIN)) {
      continue;
    }

    int fd = accept4(listener_.get(), nullptr, nullptr,
                     SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      // EMFILE and friends: the connection stays queued; back off a little
      // rather than spin.
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
        Log(LogLevel::kWarning, "accept: %s", strerror(errno));
        poll(nullptr, 0, 100);
      }
      continue;
    }
    absl::StatusOr<PeerCredentials> credentials = ReadPeerCredentials(fd);
    if (!credentials.ok()) {
      Log(LogLevel::kWarning, "dropping a connection: %s",
          credentials.status().message());
      close(fd);
      continue;
    }
    authorizer_->AddConnection(fd, *std::move(credentials));
    grpc::AddInsecureChannelFromFd(grpc_server_.get(), fd);
  }
}

void Server::Shutdown(absl::Duration grace) {
  if (shut_down_) {
    return;
  }
  shut_down_ = true;
  uint64_t one = 1;
  ssize_t ignored = write(stop_event_.get(), &one, sizeof(one));
  (void)ignored;
  if (acceptor_.joinable()) {
    acceptor_.join();
  }
  if (grpc_server_ != nullptr) {
    if (!active_calls_.WaitIdle(grace)) {
      Log(LogLevel::kNotice, "cancelling %d calls still running after %s",
          active_calls_.count(), absl::FormatDuration(grace));
    }
    grpc_server_->Shutdown(std::chrono::system_clock::now());
    grpc_server_->Wait();
  }
  if (owns_path_) {
    unlink(socket_path_.c_str());
  }
}

}  // namespace attachd::daemon
