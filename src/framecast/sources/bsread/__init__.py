"""PSI's bsread camera protocol over ZeroMQ: the wire format and its compressions (pure), and the
source that receives it (``framecast serve --zmq``)."""
