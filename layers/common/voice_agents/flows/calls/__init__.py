"""The call path: Twilio's voice webhook and Retell's call events."""
