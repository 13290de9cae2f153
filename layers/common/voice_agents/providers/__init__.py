"""The provider adapters (Retell, Twilio): every error becomes a domain error."""
