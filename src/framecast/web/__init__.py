"""The aiohttp layer: routes, sockets and static files (see :func:`.app.build_app`)."""
