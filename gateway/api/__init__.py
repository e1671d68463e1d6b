"""HTTP layer: dependencies, middleware, error mapping, the app factory's routers."""
