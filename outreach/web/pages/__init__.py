"""The pages: plain `async def handler(request) -> Response` functions, wired to URLs by `outreach.web.app`.

`subscribe` (sign-up and confirmation), `links` (unsubscribe, preferences, erasure: the signed links in every
email), `archive` (sent campaigns), `root` (home, health check, error pages). A handler finds what it needs on
`site_of(request)`; no page imports the app factory.
"""
