"""Stateful, fault-injectable fake Retell and Twilio HTTP servers, and a client for their control surface."""

from local.fakes.control import FakeControl
from local.fakes.retell import FakeRetell
from local.fakes.server import FakeServer, Fault
from local.fakes.twilio import FakeTwilio

__all__ = ["FakeControl", "FakeRetell", "FakeServer", "FakeTwilio", "Fault"]
