"""Addresses: the bind and displayed address of the server, which address a request comes from
behind trusted proxies, and the self-signed certificate of ``framecast cert``."""
