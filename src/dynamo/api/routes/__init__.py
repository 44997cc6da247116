"""REST routes, one module per area. Every route that reads the inventory is ``async``."""
