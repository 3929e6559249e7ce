"""Scale: solving many scenarios beyond one extensive form on one machine (issue 12).

Progressive hedging with mpi-sppy over MPI: a hub (PH) and two spokes, a Lagrangian spoke for
the outer (lower) bound and an xhatshuffle spoke for the inner (upper) bound, each in its own
MPI rank group. The scenario creator is the planning room's own `scenario_model` on each
scenario's Prepared (one shared money scale), so PH solves exactly the model the extensive form
does; mpi-sppy's two-stage root node holds the orders and leases placed before the scenarios'
common `known` period. Only this room imports mpisppy; `plan solve --engine ph` launches
`ph_driver` under mpiexec and rebuilds the Result from its first-stage decisions.
"""
