"""History: one workflow run's mutable state, the commands → events rules, and the service that
applies state changes atomically (events + mutable state in one store transaction)."""
