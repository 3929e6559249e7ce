"""Prepare, build, solve, extract: the planning model on Pyomo + HiGHS (MODEL.md)."""
