"""HTTP routers: thin; parse, call a service function, shape the answer."""
