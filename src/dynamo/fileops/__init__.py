"""File operations: the transfer and deletion queue, its backends, workers and the updater.

Tables: :mod:`dynamo.store.schema.fileops` (migration 0006).
"""
