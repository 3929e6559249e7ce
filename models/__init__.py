"""Pydantic models of instances and results: the single source of truth for the formats."""
