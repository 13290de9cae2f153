"""Voice agents: provisioning, rollback and repair of Retell agents with their Twilio numbers.

This package is the shared Lambda layer. Handlers in ``functions/`` stay thin and call into it.
"""
