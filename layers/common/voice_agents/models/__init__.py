"""The API's shapes (pydantic), built from records."""
