"""breadth's engine: specs, task DAGs, the scheduler, executors, the model pool and the store."""

__version__ = "0.1.0"
