"""Two commands that prove a deployment works: make smoke (the providers, through this code's
adapters) and make smoke-deployed (the deployed stack, end to end). docs/smoke.md tells all."""
