"""Analyses built on the planner: sweeps and tornado charts, explanations, infeasibility
diagnosis, the value of hedging, plan diffs. Each calls the planning pipeline and reads its
results; none reaches into another module's Pyomo components, and none renders: their views
live in optimizer/output/.
"""
