"""Builders: one module per source, each reading its source into a pairs dir."""
