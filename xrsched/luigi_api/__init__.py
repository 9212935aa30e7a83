"""luigid's JSON API at ``/api/<method>``: its codec, its cross-origin rules and its HTTP routes.

The same dispatcher, roles, audit and limits as XML-RPC serve it (DESIGN §4c, "one dispatcher,
several codecs"): :mod:`~xrsched.luigi_api.jsoncodec` (the ``data`` argument and the
``{"response": ...}`` answer, bytes in and bytes out), :mod:`~xrsched.luigi_api.cors` (luigid's
``[cors]`` settings and the cross-site POST refusal) and :mod:`~xrsched.luigi_api.routes` (a
mixin of :class:`~xrsched.rpc.handler.RpcRequestHandler`). Import names from the module that
defines them: this package imports nothing.
"""
