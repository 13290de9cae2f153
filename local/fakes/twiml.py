"""TwiML documents as the fake Twilio reads them: parsed and checked here, played in `local.fakes.voice`.

A document is valid when it is XML whose root is `<Response>` and whose verbs are ones the fake plays:
`<Say>`, `<Play>`, `<Pause>`, `<Hangup>`, `<Redirect>`, `<Dial>` (nouns `<Number>`, `<Sip>`,
`<Client>`, `<Conference>`, `<Queue>`, or a bare number as its text) and `<Record>`. Anything else is
refused as Twilio refuses a document it cannot parse (12100), so a backend answering a verb the fake
does not model finds out at once rather than passing by accident. A body of another content type
than XML (or HTML, which Twilio also reads) is refused as 12300.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from xml.etree import ElementTree

DOCUMENT_PARSE_FAILURE = 12100
INVALID_CONTENT_TYPE = 12300

VERBS = frozenset({"Say", "Play", "Pause", "Hangup", "Redirect", "Dial", "Record"})
DIAL_NOUNS = frozenset({"Number", "Sip", "Client", "Conference", "Queue"})
_TWIML_CONTENT_TYPES = ("text/xml", "application/xml", "text/html")


class TwimlError(ValueError):
    """A document Twilio would not execute, with the error code Twilio logs for it."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Noun:
    """What a `<Dial>` dials: `name` is the element (`Number` for a bare number), `text` the address."""

    name: str
    text: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Verb:
    name: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    text: str = ""
    nouns: tuple[Noun, ...] = ()

    def attribute(self, name: str, default: str = "") -> str:
        return self.attributes.get(name, default)


def check_content_type(content_type: str | None) -> None:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in _TWIML_CONTENT_TYPES:
        raise TwimlError(INVALID_CONTENT_TYPE, f"Invalid Content-Type: {content_type!r}")


def parse(document: str | bytes) -> tuple[Verb, ...]:
    """The verbs of a TwiML document, in order; TwimlError(12100) when it is not one the fake plays."""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError as error:
        raise TwimlError(DOCUMENT_PARSE_FAILURE, f"Document parse failure: {error}") from error
    if root.tag != "Response":
        raise TwimlError(DOCUMENT_PARSE_FAILURE, f"The root element must be <Response>, not <{root.tag}>")
    return tuple(_verb(element) for element in root)


def _verb(element: ElementTree.Element) -> Verb:
    if element.tag not in VERBS:
        raise TwimlError(DOCUMENT_PARSE_FAILURE, f"<{element.tag}> is not a verb the fake Twilio plays")
    nouns: tuple[Noun, ...] = ()
    if element.tag == "Dial":
        nouns = _dial_nouns(element)
    elif len(element):
        inner = element[0].tag
        if element.tag != "Say":  # <Say> may hold SSML; the other verbs hold text only
            raise TwimlError(DOCUMENT_PARSE_FAILURE, f"<{element.tag}> cannot contain <{inner}>")
    text = " ".join("".join(element.itertext()).split()) if element.tag != "Dial" else ""
    return Verb(element.tag, dict(element.attrib), text, nouns)


def _dial_nouns(dial: ElementTree.Element) -> tuple[Noun, ...]:
    bare = (dial.text or "").strip()
    nouns = [Noun("Number", bare)] if bare else []
    for child in dial:
        if child.tag not in DIAL_NOUNS:
            raise TwimlError(DOCUMENT_PARSE_FAILURE, f"<Dial> cannot contain <{child.tag}>")
        nouns.append(Noun(child.tag, (child.text or "").strip(), dict(child.attrib)))
    return tuple(nouns)
