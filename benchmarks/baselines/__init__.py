"""Minimal servers framecast is measured against, each written for this benchmark only.

Every baseline has the same small surface (see :class:`benchmarks.baselines.loop.Target`):
``start() -> port``, ``publish(payload)`` callable from any thread, ``stop()``, and the
client protocol (``proto``, ``path``) the load clients must speak.

| module | what it stands for |
|---|---|
| ``limit`` | raw asyncio sockets, length-prefixed messages: the machine's ceiling |
| ``als`` | aiohttp awaiting ``send_str`` to each client in turn (ALS's server pattern) |
| ``socketio_app`` | Flask-SocketIO in threading mode (the stack of PSI's stream viewer) |
| ``broadcast`` | the websockets library's ``broadcast()`` |
"""
