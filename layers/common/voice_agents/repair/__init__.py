"""The scheduled repair: the reconciler, the sweep of tagged resources, the operator's command."""
