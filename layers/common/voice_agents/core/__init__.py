"""Pure logic with no I/O: phone numbers and business hours, used by the API and the webhooks."""
