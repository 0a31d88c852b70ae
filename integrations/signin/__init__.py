"""Signing in with a tracker's account (GitHub, GitLab, Atlassian, Microsoft Entra ID).

Built on social-auth-app-django: its backends speak each provider's OAuth dialect and its pipeline
is the place to decide who may enter. This package adds what the library leaves to us: sign-in
providers a site admin configures in the admin (or the environment), matching by a *verified*
email only, and new accounts only where the admin allows them.

Why this is separate from ``integrations/oauth.py``: that code authorizes a member towards one
tracker *source* (its own client and server per source, tokens encrypted, every request through
the SSRF-guarded client). Signing in needs none of that: it proves who a person is, once, to
well-known identity providers an admin chose, and keeps no token afterwards.
"""
