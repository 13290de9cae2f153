"""The core: errors, statuses, the clock and ids, tags, settings, observability, time budgets.
It imports nothing else of the layer."""
