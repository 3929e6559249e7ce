"""Analyses built on the planner: sweeps and tornado charts, explanations, infeasibility
diagnosis. Each calls the planning pipeline and reads its results; none reaches into another
module's Pyomo components.
"""
