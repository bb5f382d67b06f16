"""Temporal's OperatorService: custom search attributes (add, remove, list). The other RPCs
(remote clusters, Nexus endpoints, namespace deletion) answer UNIMPLEMENTED."""

from __future__ import annotations

from typing import Any

import grpc
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    AddSearchAttributesResponse,
    ListSearchAttributesRequest,
    ListSearchAttributesResponse,
    RemoveSearchAttributesRequest,
    RemoveSearchAttributesResponse,
    service_pb2_grpc,
)

from engine.frontend.errors import RpcError, invalid, rpc
from engine.frontend.namespaces import NamespaceRegistry
from engine.frontend.safe_handlers import Registrar, Wrapper, add_safely
from engine.frontend.unimplemented import answer_unimplemented
from engine.version import sundial_version
from engine.visibility.attributes import PREDEFINED_ATTRIBUTES, SYSTEM_ATTRIBUTES, SaType
from engine.visibility.registry import AlreadyExists, NotDefined, SearchAttributeError, SearchAttributeRegistry

OPERATOR_SERVICE_NAME = "temporal.api.operatorservice.v1.OperatorService"
Context = grpc.aio.ServicerContext[Any, Any]


@answer_unimplemented(
    service_name=OPERATOR_SERVICE_NAME,
    generated_base=service_pb2_grpc.OperatorServiceServicer,
    product=f"the Sundial engine {sundial_version()}",
)
class OperatorService(service_pb2_grpc.OperatorServiceServicer):
    def __init__(self, namespaces: NamespaceRegistry, search_attributes: SearchAttributeRegistry) -> None:
        self.namespaces = namespaces
        self.search_attributes = search_attributes

    @rpc
    async def AddSearchAttributes(  # type: ignore[override]
        self, request: AddSearchAttributesRequest, context: Context
    ) -> AddSearchAttributesResponse:
        if not request.search_attributes:
            raise invalid("Search attributes are not set on request.")
        ns = await self.namespaces.ref(request.namespace)
        wanted: dict[str, SaType] = {}
        for name, value in request.search_attributes.items():
            try:
                wanted[name] = SaType(value)
            except ValueError:
                raise invalid(f"Unknown search attribute type {value} for {name}.") from None
        try:
            await self.search_attributes.add(ns.id, ns.name, wanted)
        except AlreadyExists as error:
            raise RpcError(grpc.StatusCode.ALREADY_EXISTS, str(error)) from None
        except SearchAttributeError as error:
            raise invalid(str(error)) from None
        return AddSearchAttributesResponse()

    @rpc
    async def RemoveSearchAttributes(  # type: ignore[override]
        self, request: RemoveSearchAttributesRequest, context: Context
    ) -> RemoveSearchAttributesResponse:
        if not request.search_attributes:
            raise invalid("Search attributes are not set on request.")
        ns = await self.namespaces.ref(request.namespace)
        try:
            await self.search_attributes.remove(ns.id, ns.name, list(request.search_attributes))
        except NotDefined as error:
            raise RpcError(grpc.StatusCode.NOT_FOUND, str(error)) from None
        except SearchAttributeError as error:
            raise invalid(str(error)) from None
        return RemoveSearchAttributesResponse()

    @rpc
    async def ListSearchAttributes(  # type: ignore[override]
        self, request: ListSearchAttributesRequest, context: Context
    ) -> ListSearchAttributesResponse:
        ns = await self.namespaces.ref(request.namespace)
        response = ListSearchAttributesResponse()
        for name, sa_type in self.search_attributes.types(ns.id).items():
            response.custom_attributes[name] = IndexedValueType.ValueType(int(sa_type))
        for attribute in (*SYSTEM_ATTRIBUTES.values(), *PREDEFINED_ATTRIBUTES.values()):
            response.system_attributes[attribute.name] = IndexedValueType.ValueType(int(attribute.type))
        return response


def add_operator_service(server: Registrar, service: OperatorService, *, wrap: Wrapper | None = None) -> None:
    add_safely(service_pb2_grpc.add_OperatorServiceServicer_to_server, service, server, wrap=wrap)
