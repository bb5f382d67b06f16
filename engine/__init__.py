"""Sundial's engine: the data plane that speaks Temporal's public gRPC API.

Plain asyncio + grpc.aio; it must never import Django or the control-plane apps.
"""
