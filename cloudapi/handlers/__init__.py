"""One module per resource: functions ``(principal, request) -> response`` over the services."""
