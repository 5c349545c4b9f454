"""Flask blueprints: thin views that parse, call a function and return."""
