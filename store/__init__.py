"""Storage: the canonical DuckDB model, connections, and atomic imports."""
