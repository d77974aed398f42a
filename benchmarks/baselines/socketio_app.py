"""Flask-SocketIO (the stack of PSI's stream viewer), emitting the same payloads.

Threading mode on Werkzeug's threaded server with simple-websocket: one thread per client,
clients connect with the WebSocket transport directly. Text payloads are emitted as the
parsed JSON object (``42["new_image", {...}]``), bytes as a binary attachment.
"""

from __future__ import annotations

import json
import logging
import threading

from flask import Flask
from flask_socketio import SocketIO
from werkzeug.serving import make_server

__all__ = ["SocketIOServer"]


class SocketIOServer:
    proto = "sio"
    path = "/socket.io/?EIO=4&transport=websocket"

    def __init__(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.app = Flask(__name__)
        self.socketio = SocketIO(self.app, async_mode="threading", logger=False)
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self._server.socket.listen(1024)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> int:
        self._thread.start()
        return int(self._server.server_port)

    def publish(self, payload: str | bytes) -> None:
        if isinstance(payload, str):
            self.socketio.emit("new_image", json.loads(payload))
        else:
            self.socketio.emit("frame", payload)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
