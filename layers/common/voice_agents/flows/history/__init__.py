"""The owner's call history: finding calls (filters, pages, CSV) and an agent's usage and costs."""
