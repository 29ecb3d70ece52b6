"""Decomposition mode for bases of millions of customers, with a certified gap.

The few coupling limits (budget, ROI, capacities, offer limits, rules) are priced by
Lagrangian multipliers; under those prices every customer's choice is independent and is
solved exactly (:mod:`.subproblem`); the level bundle method finds the prices that give the
lowest bound (:mod:`.dual`); recovery fixes the settled customers and solves the rest
exactly (:mod:`.recover`). Shards can live in memory or on a Dask cluster (:mod:`.sharded`).
"""

from .solve import lagrangian_bound, solve_decomposed

__all__ = ["lagrangian_bound", "solve_decomposed"]
