"""A producer on another machine: :class:`~framecast.remote.client.Client`, the bytes it uploads,
and the ``framecast push`` / ``framecast command`` commands. Never imports the server side."""
