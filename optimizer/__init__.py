"""The planner and everything built on it, in rooms by concern (docs/architecture.md):
`planning/` (prepare, build, the HiGHS boundary, extract, solve), `compliance.py` (export-control
rules), `check.py` (the independent checker), `analysis/` (sweeps, explain, diagnose, hedge, diff),
`service/` (the HTTP service) and `output/` (what people and programs read)."""
