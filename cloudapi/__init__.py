"""The Cloud Ops gRPC API (``temporal.api.cloud.cloudservice.v1.CloudService``).

A grpcio server that answers Temporal Cloud's operations API with the control plane's own
services, so that ``temporalio.client.CloudOperationsClient``, ``tcld``-style tools and
Terraform can manage a Sundial account. ``context`` authenticates each call and translates
errors, ``convert`` turns models into protos, ``handlers`` hold one module per resource and
``service`` is the servicer that wires each RPC to its handler.
"""
