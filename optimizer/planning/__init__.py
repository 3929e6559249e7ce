"""The planning pipeline: an instance becomes a plan, in four steps and one direction.

prepare (Instance -> Prepared: currencies, contributions, compliance, windows) -> build
(Prepared -> a Pyomo model, one function per business rule) -> highs (the one boundary with the
solver: model -> Outcome) -> extract (Outcome -> Result, every number recomputed from the
integer plan). `solve` orchestrates them (the Planner and the order-bound loop).
"""
