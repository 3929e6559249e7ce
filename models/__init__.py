"""The formats and the data: pydantic models of instances and results (the single source of
truth for the formats, their messages and JSON Schemas), safe reading and loading of instance
files, the sourced catalog and the export-control regimes. Imports nothing from `optimizer`."""
