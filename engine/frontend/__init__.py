"""gRPC servicers: validate, authorize, route. Thin."""
