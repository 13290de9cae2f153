"""The flows: what happens to an agent, and to a call."""
