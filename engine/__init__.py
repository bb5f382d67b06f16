"""Sundial's engine: the data plane that speaks Temporal's public gRPC API.

Plain asyncio (gRPC on its own HTTP/2 transport, or grpc.aio); it must never import Django or the control-plane apps.
"""
