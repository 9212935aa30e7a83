"""The browser dashboard's server side: static files, sign-in sessions and their settings.

The HTTP routes are :mod:`xrsched.dashboard.routes` (a mixin of the connection handler);
beside them is what they use: :class:`~xrsched.dashboard.site.DashboardSite`
(sign-in, sessions, audit), :class:`~xrsched.dashboard.staticfiles.StaticFiles` (the
allow-listed files under ``static/``) and the response rules of :mod:`xrsched.dashboard.web`.
"""

from xrsched.dashboard.settings import DashboardSettings

__all__ = ["DashboardSettings"]
