"""A local HTTP API: what `sam local start-api` would give, without Docker.

    python -m local.http_api [--port N]      (or: make api; the command line is local/http_api.py)

Reads the routes from template.yaml when it starts (each function's ``HttpApi`` events, its CodeUri,
Timeout and authorizer), serves them on 127.0.0.1, and answers each request by calling the same
``lambda_handler`` as Lambda would, with an API Gateway HTTP API payload v2 event shaped like
``events/*.json``. The Lambda proxy answer is written back the way API Gateway writes it.

*************************************************************************************************
* LOCAL ONLY: JWT SIGNATURES ARE NOT VERIFIED.                                                  *
* A route with the JWT authorizer needs `Authorization: Bearer <jwt>` (401 without it, as API    *
* Gateway answers), but the token is only decoded: its signature, issuer and audience are NOT   *
* checked (there is no Cognito here), only its expiry when it has one and the route's scopes.   *
* Anyone who can reach this port can act as any user. `local_token(sub)` makes an unsigned      *
* access token (alg "none") with the scopes the template's routes require.                      *
* Never expose this server beyond 127.0.0.1.                                                    *
*************************************************************************************************

What it does like API Gateway: route matching (``{agentId}`` path variables; exact routes before
variable ones), 404 ``{"message":"Not Found"}`` for anything unrouted, 401 ``{"message":"Unauthorized"}``
before the handler runs, 403 ``{"message":"Forbidden"}`` for a token without one of the route's
``AuthorizationScopes`` (an ID token has no scope), claims stringified as API Gateway does, the body
base64-encoded unless it is JSON or text (so Twilio's form posts arrive base64-encoded), CORS
preflight from the API's ``CorsConfiguration``, 502 ``{"message":"Internal Server Error"}`` when the
handler raises (traceback on stderr) or answers something that is not a proxy response, and when it
overruns its Timeout.

It also serves the built dashboard (``web/dist``) at ``/`` on the same origin, and ``/config.json``,
the dashboard's settings, with an unsigned access token for ``local-user``
(``/config.json?user=<sub>`` for another owner): the page signs in with it as it would with Cognito's.

What it does not: the handler is not killed at its Timeout (the answer becomes the 502 afterwards);
one function serves one request at a time (one warm instance each, because a handler module's state is
per process); per-function Environment in the template is not applied (the process environment is);
no throttling, payload limits, custom domains or stages other than ``$default``.

The modules, by job:
  messages   the HTTP request and response as the server reads and writes them
  tokens     the token stub: unsigned local tokens, claims read WITHOUT verification, the 401s and 403s
  routing    template.yaml's routes, authorizers, scopes and CORS settings, and which route a request takes
  events     the API Gateway HTTP API payload v2 event built from a request
  responses  the HTTP answer made of a handler's result, and API Gateway's own answers
  cors       preflight and CORS headers, from the API's CorsConfiguration
  dashboard  the built dashboard (web/dist) and its /config.json
  server     LocalHttpApi: the server on 127.0.0.1, one request at a time per function
"""
