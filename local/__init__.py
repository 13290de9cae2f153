"""Local stand-ins for the cloud: fake providers and helpers that run the system on a laptop."""
