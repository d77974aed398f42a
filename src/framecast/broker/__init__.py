"""Scale-out: several framecast nodes share their streams through Redis (docs/scale-out.md).

:mod:`~framecast.broker.node` is one node's link (:class:`~framecast.broker.node.Broker`); it owns
the frame relay (:mod:`~framecast.broker.relay`), control forwarding
(:mod:`~framecast.broker.forwarding`) and raw questions (:mod:`~framecast.broker.questions`),
which share the link (:mod:`~framecast.broker.link`) and the pure message codec
(:mod:`~framecast.broker.codec`)."""
