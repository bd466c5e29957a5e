// attachd.v1.ContainerService: registration, lookup and the event stream,
// over the Registry.  Each failed call is logged once, here, with the
// caller's credentials.

#ifndef ATTACHD_DAEMON_CONTAINER_SERVICE_H_
#define ATTACHD_DAEMON_CONTAINER_SERVICE_H_

#include "attachd/v1/attachd.grpc.pb.h"
#include "daemon/auth.h"
#include "daemon/registry.h"

namespace attachd::daemon {

class ContainerServiceImpl final : public v1::ContainerService::Service {
 public:
  // Both pointers must outlive the service.
  ContainerServiceImpl(Registry* registry, const Authorizer* authorizer)
      : registry_(registry), authorizer_(authorizer) {}

  grpc::Status Register(grpc::ServerContext* context,
                        const v1::RegisterRequest* request,
                        v1::Container* response) override;
  grpc::Status Get(grpc::ServerContext* context, const v1::GetRequest* request,
                   v1::Container* response) override;
  grpc::Status List(grpc::ServerContext* context,
                    const v1::ListRequest* request,
                    v1::ListResponse* response) override;
  grpc::Status Unregister(grpc::ServerContext* context,
                          const v1::UnregisterRequest* request,
                          v1::UnregisterResponse* response) override;
  grpc::Status Watch(grpc::ServerContext* context,
                     const v1::WatchRequest* request,
                     grpc::ServerWriter<v1::Event>* writer) override;

 private:
  Registry* const registry_;
  const Authorizer* const authorizer_;
};

}  // namespace attachd::daemon

#endif  // ATTACHD_DAEMON_CONTAINER_SERVICE_H_
