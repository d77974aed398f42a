"""Raw questions between nodes through the broker (docs/scale-out.md, docs/science.md).

Raw arrays and full-resolution pixels never travel with frames: a node that shows another
node's frame asks the publishing node for the raw routes of docs/science.md and the deep-zoom
tiles of docs/tiles.md (:meth:`RawQuestions.ask`) and waits
``broker_answer_timeout`` s; it answers other
nodes' questions about its own frames with its :attr:`RawQuestions.answerer` (the same
function its HTTP handlers call; :meth:`RawQuestions.answer`). An answer's body is stored
under ``{ns}:answer:{id}`` for :data:`ANSWER_TTL` s and its head sent on the asker's channel
``{ns}:node:{id}``.

The :class:`~framecast.broker.node.Broker` link owns the connection, reads this node's channel,
hands answers and questions over, and bounds how many questions are answered at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping

from framecast.broker import codec
from framecast.broker.link import Link
from framecast.imaging.pyramid import RemotePyramid
from framecast.live.frames import Frame
from framecast.live.retention import FrameNotFound, find_frame
from framecast.runtime.deadline import within
from framecast.runtime.throttle import LogThrottle
from framecast.science.queries import QUESTIONS
from framecast.science.raw import RAW_NOT_KEPT, RawAnswer, RemoteRaw

__all__ = ["ANSWER_TTL", "Answerer", "RawQuestions", "no_publisher"]

log = logging.getLogger("framecast.broker")

#: Seconds an answer's body waits in Redis for the node that asked.
ANSWER_TTL = 30.0

#: Computes a route's answer about one of this node's frames: frame, route, params (query
#: text), gzip accepted → the answer. The web layer's; the server hands it to the broker.
Answerer = Callable[[Frame, str, Mapping[str, str], bool], Awaitable[RawAnswer]]


def no_publisher(stream: str) -> RawAnswer:
    """The 503 of a raw question nobody answered."""
    return RawAnswer.refusal(
        503,
        f"no publisher answered: the node publishing stream {stream!r} is gone or "
        "unreachable; try again once it is back",
    )


class RawQuestions:
    """One node's side of raw questions: the answers it waits for, the questions it
    answers."""

    def __init__(self, link: Link, *, timeout: float, log_interval: float) -> None:
        self._link = link
        #: Seconds a question waits for the publishing node's answer, its body included.
        self.timeout = timeout
        self._replies: dict[str, asyncio.Future[codec.RawReply]] = {}
        #: A publisher that does not answer is logged at most once per ``log_interval`` s.
        self._unanswered = LogThrottle(log_interval)
        #: How raw questions from other nodes are answered (set by the server).
        self.answerer: Answerer | None = None
        self.asked = 0  # raw questions sent to other nodes
        self.answered = 0  # other nodes' raw questions answered here

    # -- asking --------------------------------------------------------------------------------
    async def ask(
        self,
        stream: str,
        publisher: str,
        seq: int,
        route: str,
        params: Mapping[str, str],
        gzip: bool,
    ) -> RawAnswer:
        """Ask node ``publisher`` for ``route`` about frame ``seq`` of ``stream`` and return
        its answer as it gave it (a 400 or 404 too), or the 503 of :func:`no_publisher`
        when it does not answer within :attr:`timeout` s."""
        link = self._link
        client = link.client
        if client is None:
            return self._unanswered_raw(stream, publisher, "the broker is not connected")
        ident = secrets.token_hex(8)
        request = codec.RawRequest(ident, link.node, stream, seq, route, dict(params), gzip)
        future: asyncio.Future[codec.RawReply] = asyncio.get_running_loop().create_future()
        self._replies[ident] = future
        self.asked += 1
        try:
            async with asyncio.timeout(self.timeout):
                heard = await client.publish(
                    link.channel(publisher), codec.encode_raw_request(request)
                )
                if not heard:  # nobody listens on that node's channel: it is gone
                    return self._unanswered_raw(stream, publisher, "it is gone")
                head = await future
                body = await client.getdel(self._answer_key(ident)) if head.size else b""
        except TimeoutError:
            return self._unanswered_raw(stream, publisher, f"no answer within {self.timeout:g} s")
        except (OSError, link.redis_error) as exc:
            return self._unanswered_raw(stream, publisher, link.describe(exc))
        finally:
            self._replies.pop(ident, None)
        if not isinstance(body, bytes) or len(body) != head.size:
            link.reject(
                f"the answer about frame {seq} of stream {stream!r}",
                codec.WireError("its body is missing or not the size its head says"),
            )
            return no_publisher(stream)
        return head.answer(body)

    def replied(self, message: codec.RawReply) -> None:
        """The head of an answer to a question this node asked: its waiter gets it (a late
        or unknown one is dropped)."""
        future = self._replies.get(message.id)
        if future is not None and not future.done():
            future.set_result(message)

    def close(self) -> None:
        """The link stops: every question still waiting is cancelled."""
        for future in self._replies.values():
            future.cancel()

    def _unanswered_raw(self, stream: str, publisher: str, why: str) -> RawAnswer:
        """The 503 of a raw question nobody answered, logged at most once per interval."""
        count = self._unanswered.due()
        if count is not None:
            log.warning(
                "raw data of stream %r: node %s did not answer (%s; %d question(s) since the "
                "last report); answering 503",
                stream,
                publisher,
                self._link.redact(why),
                count,
            )
        return no_publisher(stream)

    def _answer_key(self, ident: str) -> str:
        return f"{self._link.namespace}:answer:{ident}"

    # -- answering -----------------------------------------------------------------------------
    async def answer(self, request: codec.RawRequest) -> None:
        """Answer another node's raw question about one of this node's frames."""
        answer = await self._answer_of(request)
        max_bytes = self._link.limits.max_frame_bytes
        if len(answer.body) > max_bytes:
            answer = RawAnswer.refusal(
                502,
                f"the answer of {len(answer.body)} bytes is larger than the broker carries "
                f"(max_ingest_bytes + max_metadata_bytes = {max_bytes}); "
                "ask the publishing node directly or raise max_ingest_bytes",
            )
        self.answered += 1
        await self._send(request.sender, request.id, answer)

    async def _answer_of(self, request: codec.RawRequest) -> RawAnswer:
        streams, answerer = self._link.streams, self.answerer
        stream = streams.get(request.stream) if streams is not None else None
        if stream is None or stream.publisher is not None or answerer is None:
            return no_publisher(request.stream)  # not (or no longer) published here
        try:
            frame = find_frame(stream, request.seq)
        except FrameNotFound as missing:  # the same line as this node's own routes answer
            return RawAnswer.refusal(missing.status, missing.message)
        if QUESTIONS[request.route].needs == "pyramid":  # a deep-zoom tile, not raw data
            if frame.pyramid is None:
                return RawAnswer.refusal(404, f"frame {request.seq} has no deep-zoom pyramid")
            if isinstance(frame.pyramid, RemotePyramid):  # published by yet another node
                return no_publisher(request.stream)
        elif frame.raw is None:
            return RawAnswer.refusal(404, RAW_NOT_KEPT)
        elif isinstance(frame.raw, RemoteRaw):  # shown here, published by yet another node
            return no_publisher(request.stream)
        return await answerer(frame, request.route, request.params, request.gzip)

    async def busy(self, request: codec.RawRequest) -> None:
        """Tell the asker this node has too many requests on hand to answer its question."""
        busy = RawAnswer.refusal(503, "the publishing node is busy; try again")
        await self._send(request.sender, request.id, busy)

    async def _send(self, sender: str, ident: str, answer: RawAnswer) -> None:
        link = self._link
        client = link.client
        if client is None:
            return
        # Closed on the way out, even when cancelled mid-way (its connection goes back).
        async with client.pipeline(transaction=False) as batch:
            if answer.body:
                batch.set(self._answer_key(ident), answer.body, px=int(ANSWER_TTL * 1000))
            batch.publish(link.channel(sender), codec.encode_raw_reply(ident, answer))
            with contextlib.suppress(TimeoutError, OSError, link.redis_error):
                await within(batch.execute(), 4 * link.io_timeout)
