"""The HTTP service (`plan serve`): the FastAPI app, the worker pool that runs solves and
sweeps, and the SQLite store of results and jobs."""
