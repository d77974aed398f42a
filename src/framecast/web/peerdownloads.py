"""Raw routes for frames published by another node (docs/scale-out.md, docs/science.md).

A node with a broker shows frames of streams other nodes publish; their raw data stays
with the publisher (the frame holds a :class:`~framecast.science.raw.RemoteRaw`: dtype and shape,
no array). :func:`answer` is where every raw and analysis handler gets its answer: computed
here for a frame of this node, or asked of the publishing node through the broker for a
frame published elsewhere and kept in the server's :class:`~framecast.science.answers.Answers`
with the frame (a deep-zoom tile with the tiles, anything else with the answers), so the
same question about the same frame crosses the broker once — also when viewers ask it at
the same moment: a question identical to one on its way waits for that one's answer
(counted in ``raw_joined``), whoever asked first. :func:`ask` is
that path on its own: the deep-zoom tiles of such a frame (docs/tiles.md) take it too. A publisher
that does not answer within ``broker_answer_timeout`` s gives a 503 that says
so; its own refusals (400, 404) come back as they are, and are not kept.

:func:`responder` is the other side: how this node's broker answers another node's
question about a frame published here, with the very functions the handlers call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from framecast.broker.codec import MAX_PARAM_CHARS
from framecast.broker.questions import Answerer, no_publisher
from framecast.live.frames import Frame
from framecast.science.answers import Answers
from framecast.science.queries import QUESTIONS
from framecast.science.raw import RawAnswer, RemoteRaw
from framecast.web.context import CONTEXT

__all__ = ["LocalAnswer", "answer", "ask", "responder", "response_of"]

#: Computes a route's answer about a frame of this node (:func:`~framecast.web.downloads.raw_answer`
#: or :func:`~framecast.web.numbers.analysis_answer`).
LocalAnswer = Callable[[web.Application, Frame, str, Mapping[str, str], bool], Awaitable[RawAnswer]]


class _NotKept(Exception):
    """No answer kept for that question (yet)."""


def _not_kept() -> RawAnswer:
    raise _NotKept


def _kept(answers: Answers, owner: object, question: tuple[object, ...]) -> RawAnswer | None:
    """The answer kept for ``question`` about ``owner``'s frame, or ``None`` (nothing is
    computed: a missing answer raises inside :meth:`Answers.get` and nothing is kept)."""
    try:
        return answers.get(owner, question, _not_kept)
    except _NotKept:
        return None


async def answer(
    app: web.Application,
    frame: Frame,
    route: str,
    params: Mapping[str, str],
    gzip: bool,
    local: LocalAnswer,
) -> RawAnswer:
    """The answer of ``route`` about ``frame`` (which has raw data): ``local`` for a frame
    of this node; for one published elsewhere, asked of its publisher (or kept from the
    first time it was asked)."""
    raw = frame.raw
    if not isinstance(raw, RemoteRaw):
        return await local(app, frame, route, params, gzip)
    return await ask(app, frame, raw, raw.node, route, params, gzip)


async def ask(
    app: web.Application,
    frame: Frame,
    owner: object,
    node: str,
    route: str,
    params: Mapping[str, str],
    gzip: bool,
) -> RawAnswer:
    """``route`` about ``frame`` asked of ``node``, which published it, or kept from the
    first time it was asked: a good answer is kept with ``owner`` (the frame's
    :class:`~framecast.science.raw.RemoteRaw`, or its
    :class:`~framecast.imaging.pyramid.RemotePyramid` for
    deep-zoom tiles), so it leaves with the frame."""
    context = app[CONTEXT]
    asking = context.ask_raw
    if asking is None:  # pragma: no cover - a remote frame comes only through a broker
        return no_publisher(frame.stream)
    sent = {name: value[:MAX_PARAM_CHARS] for name, value in params.items()}
    question = ("remote", route, tuple(sorted(sent.items())), gzip)
    answers = context.streams.answers  # one cache: tiles and answers alike
    found = _kept(answers, owner, question)
    if found is not None:
        return found
    key = (id(owner), question)
    on_its_way = context.raw_asking.get(key)
    if on_its_way is not None:
        context.raw_joined += 1
        return await asyncio.shield(on_its_way)

    async def ask_once() -> RawAnswer:
        try:
            got = await asking(frame.stream, node, frame.seq, route, sent, gzip)
            if got.status == 200:
                answers.get(owner, question, lambda: got)
            return got
        finally:
            del context.raw_asking[key]

    # A task of its own: a viewer that gives up does not cancel the answer others wait for.
    # The server cancels those still on their way when it stops.
    task = context.raw_asking[key] = asyncio.ensure_future(ask_once())
    task.add_done_callback(_retrieved)
    return await asyncio.shield(task)


def _retrieved(task: asyncio.Task[RawAnswer]) -> None:
    """Take a finished question's outcome, so that one nobody waits for any more is not
    reported as "never retrieved" (the viewers who asked it got their answer or left)."""
    if not task.cancelled():
        task.exception()


def responder(
    app: web.Application, *, raw: LocalAnswer, analysis: LocalAnswer, tile: LocalAnswer
) -> Answerer:
    """What the broker calls to answer another node's question about a frame of this
    node, as the handlers answer it: an analysis question by ``analysis``, a deep-zoom tile
    by ``tile``, any other question about raw data by ``raw``
    (:data:`~framecast.science.queries.QUESTIONS` says which is which)."""
    routes: dict[str, LocalAnswer] = {}
    for name, question in QUESTIONS.items():
        routes[name] = analysis if question.analysis is not None else raw
        if question.needs == "pyramid":
            routes[name] = tile

    async def respond(frame: Frame, route: str, params: Mapping[str, str], gzip: bool) -> RawAnswer:
        local = routes.get(route)
        if local is None:
            return RawAnswer.refusal(404, f"no raw route {route!r} on this node")
        return await local(app, frame, route, params, gzip)

    return respond


def response_of(found: RawAnswer) -> web.Response:
    """The HTTP response of an answer."""
    headers = {**found.headers, "Content-Type": found.content_type}
    return web.Response(status=found.status, body=found.body, headers=headers)
