"""HTTP routes, one module per resource. Routes stay thin: validation lives in dependencies, errors in app.errors."""
