"""XML-RPC over HTTP, the stdlib's classes hardened through their hooks (README: "How the server is built").

Bytes in, bytes out (no socket): :mod:`~xrsched.rpc.dispatch`, :mod:`~xrsched.rpc.parse`,
:mod:`~xrsched.rpc.marshal`, :mod:`~xrsched.rpc.faults`, :mod:`~xrsched.rpc.limits`. HTTP and TLS:
:mod:`~xrsched.rpc.http_server`, :mod:`~xrsched.rpc.unix_server`, :mod:`~xrsched.rpc.connection`
and :mod:`~xrsched.rpc.handler` (with :mod:`~xrsched.luigi_api.routes` for luigid's JSON
``/api/``). Import names from the module that defines them: this package imports nothing, so
the client does not load the dispatcher.
"""
