"""REST API views, one module per resource; ``accounts.api.urls`` routes to them."""
