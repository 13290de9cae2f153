"""The HTTP layer every API handler uses: the resolver, body checks, error answers."""
