"""The engine's own gRPC-over-HTTP/2 server (see server.py)."""
