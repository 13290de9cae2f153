"""The data-access layer: a module per collection, its schema and its named queries. The only
code that builds a query or reads a stored field."""
