"""The aiohttp layer: routes, sockets and static files. Built by :func:`framecast.web.app.build_app`."""
