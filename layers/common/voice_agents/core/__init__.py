"""The core: errors, statuses, the clock and ids, tags, settings, observability, time budgets,
phone numbers and business hours. It imports nothing else of the layer."""
