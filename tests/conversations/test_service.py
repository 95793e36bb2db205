"""Stored responses on each real database: reading back, paging, conversations, teams, expiry,
deletion, the conversation limits, and saves that fail writing nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from modelport.conversations.schemas import ItemPage, Order
from modelport.conversations.service import ConversationService
from modelport.db.engine import Database
from modelport.db.tables import StoredResponse
from modelport.errors import InvalidInput, NotFound
from tests.conversations.helpers import (
    NOW,
    RETENTION,
    Json,
    Owner,
    answer,
    item_rows,
    response,
    save,
    user,
)


async def chain(database: Database, owner: Owner, turns: int) -> list[tuple[Json, list[Json]]]:
    """`turns` responses, each continuing the one before: (response, its input items)."""
    made: list[tuple[Json, list[Json]]] = []
    previous = None
    for n in range(turns):
        sent = response(answer(f"answer {n}"), previous=previous)
        items = [user(f"question {n}")]
        previous = await save(database, owner, sent, items)
        made.append((sent, items))
    return made


def everything(turns: list[tuple[Json, list[Json]]]) -> list[Json]:
    return [item for sent, items in turns for item in [*items, *sent["output"]]]


async def test_a_response_reads_back_exactly_as_it_was_sent(
    database: Database, owner: Owner
) -> None:
    sent = response(answer('héllo ☃ 🙂, a NUL \x00 and a \\ and a " survive'))
    sent["metadata"] = {"n": 1.5, "big": 2**62, "none": None, "list": [True, False]}
    response_id = await save(database, owner, sent, [user("¿hola?")])
    async with database.read() as unit:
        assert await ConversationService(unit).get(owner.team_id, response_id, NOW) == sent


async def test_input_items_are_paged_both_ways(database: Database, owner: Owner) -> None:
    items = [user(f"item {n}") for n in range(5)]
    ids = [item["id"] for item in items]
    response_id = await save(database, owner, response(answer("ok")), items)

    async with database.read() as unit:
        service = ConversationService(unit)

        async def page(
            order: Order = "desc", limit: int = 20, after: str | None = None
        ) -> ItemPage:
            return await service.input_items(
                owner.team_id, response_id, NOW, after=after, limit=limit, order=order
            )

        newest_first = await page()
        assert newest_first.data == items[::-1]
        assert not newest_first.has_more
        first = await page(order="asc", limit=2)
        assert (first.data, first.has_more) == (items[:2], True)
        assert (first.first_id, first.last_id) == (ids[0], ids[1])
        second = await page(order="asc", limit=2, after=ids[1])
        assert (second.data, second.has_more) == (items[2:4], True)
        last = await page(order="asc", limit=2, after=ids[3])
        assert (last.data, last.has_more) == (items[4:], False)
        assert last.wire() == {
            "object": "list",
            "data": items[4:],
            "first_id": ids[4],
            "last_id": ids[4],
            "has_more": False,
        }
        top = await page(order="desc", limit=2)
        assert (top.data, top.has_more) == ([items[4], items[3]], True)
        older = await page(order="desc", limit=2, after=ids[2])
        assert (older.data, older.has_more) == ([items[1], items[0]], False)
        exactly = await page(order="desc", limit=5)
        assert (len(exactly.data), exactly.has_more) == (5, False)
        past_the_end = await page(order="asc", after=ids[4])
        assert past_the_end.wire()["data"] == []
        assert (past_the_end.first_id, past_the_end.last_id) == (None, None)


async def test_a_response_without_input_items_lists_none(database: Database, owner: Owner) -> None:
    response_id = await save(database, owner, response(answer("ok")), [])
    async with database.read() as unit:
        page = await ConversationService(unit).input_items(owner.team_id, response_id, NOW)
    assert (page.data, page.has_more) == ([], False)


async def test_an_unknown_after_or_a_bad_limit_is_invalid(database: Database, owner: Owner) -> None:
    other = [user("elsewhere")]
    await save(database, owner, response(answer("other")), other)
    response_id = await save(database, owner, response(answer("ok")), [user("here")])
    async with database.read() as unit:
        service = ConversationService(unit)
        for after in ("msg_nope", other[0]["id"]):
            with pytest.raises(InvalidInput) as raised:
                await service.input_items(owner.team_id, response_id, NOW, after=after)
            assert raised.value.field == "after"
        for limit in (0, 101):
            with pytest.raises(InvalidInput) as raised:
                await service.input_items(owner.team_id, response_id, NOW, limit=limit)
            assert raised.value.field == "limit"


async def test_a_three_turn_conversation_is_rebuilt_in_order(
    database: Database, owner: Owner
) -> None:
    first = response(answer("Paris."))
    first_items = [user("Capital of France?")]
    await save(database, owner, first, first_items)
    call = {"id": "fc_1", "type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}
    second = response(call, previous=first["id"])
    second_items = [user("And its weather?")]
    await save(database, owner, second, second_items)
    third = response(answer("Sunny."), answer("Anything else?"), previous=second["id"])
    third_items = [
        {"id": "fco_1", "type": "function_call_output", "call_id": "c1", "output": "sunny"},
        user("Thanks"),
    ]
    await save(database, owner, third, third_items)

    async with database.read() as unit:
        service = ConversationService(unit)
        whole = await service.context(owner.team_id, third["id"], NOW)
        up_to_second = await service.context(owner.team_id, second["id"], NOW)
        only_first = await service.context(owner.team_id, first["id"], NOW)
    turns = [(first, first_items), (second, second_items), (third, third_items)]
    assert whole == everything(turns)
    assert up_to_second == everything(turns[:2])
    assert only_first == everything(turns[:1])


async def test_another_teams_response_is_not_found_everywhere(
    database: Database, owner: Owner, stranger: Owner
) -> None:
    made = await chain(database, owner, 2)
    response_id = made[-1][0]["id"]
    async with database.write() as unit:
        service = ConversationService(unit)
        with pytest.raises(NotFound):
            await service.get(stranger.team_id, response_id, NOW)
        with pytest.raises(NotFound):
            await service.input_items(stranger.team_id, response_id, NOW)
        with pytest.raises(NotFound):
            await service.context(stranger.team_id, response_id, NOW)
        with pytest.raises(NotFound):
            await service.delete(stranger.team_id, response_id, NOW)
    async with database.read() as unit:
        service = ConversationService(unit)
        assert await service.get(owner.team_id, response_id, NOW) == made[-1][0]
        assert await service.context(owner.team_id, response_id, NOW) == everything(made)


async def test_a_conversation_never_crosses_into_another_team(
    database: Database, owner: Owner, stranger: Owner
) -> None:
    theirs = response(answer("secret plans"))
    await save(database, stranger, theirs, [user("plans?")])
    mine = response(answer("ok"), previous=theirs["id"])  # as if the check had been skipped
    mine_items = [user("hi")]
    await save(database, owner, mine, mine_items)
    async with database.read() as unit:
        context = await ConversationService(unit).context(owner.team_id, mine["id"], NOW)
    assert context == everything([(mine, mine_items)])


async def test_an_expired_response_is_not_found_everywhere(
    database: Database, owner: Owner
) -> None:
    day = timedelta(days=1)
    response_id = await save(
        database, owner, response(answer("brief")), [user("hi")], retention=day
    )
    async with database.read() as unit:
        service = ConversationService(unit)
        assert await service.get(owner.team_id, response_id, NOW + day - timedelta(microseconds=1))
        expired = NOW + day
        with pytest.raises(NotFound):
            await service.get(owner.team_id, response_id, expired)
        with pytest.raises(NotFound):
            await service.input_items(owner.team_id, response_id, expired)
        with pytest.raises(NotFound):
            await service.context(owner.team_id, response_id, expired)
    async with database.write() as unit:
        with pytest.raises(NotFound):
            await ConversationService(unit).delete(owner.team_id, response_id, expired)


async def test_a_conversation_begins_after_an_expired_response(
    database: Database, owner: Owner
) -> None:
    first = response(answer("old"))
    await save(database, owner, first, [user("old?")], retention=timedelta(days=1))
    second = response(answer("new"), previous=first["id"])
    second_items = [user("new?")]
    await save(database, owner, second, second_items, now=NOW + timedelta(hours=12))
    async with database.read() as unit:
        service = ConversationService(unit)
        before = await service.context(owner.team_id, second["id"], NOW + timedelta(hours=13))
        after = await service.context(owner.team_id, second["id"], NOW + timedelta(days=2))
    assert len(before) == 4
    assert after == everything([(second, second_items)])


async def test_a_deleted_response_is_gone_and_its_conversation_begins_after_it(
    database: Database, owner: Owner
) -> None:
    made = await chain(database, owner, 3)
    first, second, third = (sent["id"] for sent, _ in made)
    async with database.write() as unit:
        await ConversationService(unit).delete(owner.team_id, second, NOW)
    assert await item_rows(database, second) == 0
    async with database.write() as unit:
        service = ConversationService(unit)
        with pytest.raises(NotFound):
            await service.get(owner.team_id, second, NOW)
        with pytest.raises(NotFound):
            await service.input_items(owner.team_id, second, NOW)
        with pytest.raises(NotFound):
            await service.context(owner.team_id, second, NOW)
        with pytest.raises(NotFound):
            await service.delete(owner.team_id, second, NOW)
        assert await service.context(owner.team_id, third, NOW) == everything(made[2:])
        assert await service.context(owner.team_id, first, NOW) == everything(made[:1])
    assert await item_rows(database, third) == 1


async def test_a_conversation_longer_than_the_cap_is_invalid(
    database: Database, owner: Owner
) -> None:
    made = await chain(database, owner, 4)
    async with database.read() as unit:
        capped = ConversationService(unit, max_turns=3)
        assert await capped.context(owner.team_id, made[2][0]["id"], NOW) == everything(made[:3])
        with pytest.raises(InvalidInput) as raised:
            await capped.context(owner.team_id, made[3][0]["id"], NOW)
        assert raised.value.field == "previous_response_id"
        assert (
            len(await ConversationService(unit).context(owner.team_id, made[3][0]["id"], NOW)) == 8
        )


async def test_a_response_that_continues_itself_stops_at_the_cap(
    database: Database, owner: Owner
) -> None:
    looped = response(answer("again"))
    looped["previous_response_id"] = looped["id"]  # only a bug could store this
    await save(database, owner, looped, [user("again?")])
    async with database.read() as unit:
        with pytest.raises(InvalidInput):
            await ConversationService(unit, max_turns=50).context(owner.team_id, looped["id"], NOW)


async def test_a_conversation_larger_than_the_cap_is_invalid(
    database: Database, owner: Owner
) -> None:
    made = await chain(database, owner, 3)
    ids = [sent["id"] for sent, _ in made]
    async with database.read() as unit:
        sizes = await unit.session.scalars(
            select(StoredResponse.size).where(StoredResponse.id.in_(ids))
        )
        whole = sum(sizes)
        fits = ConversationService(unit, max_context_bytes=whole)
        assert await fits.context(owner.team_id, ids[2], NOW) == everything(made)
        too_small = ConversationService(unit, max_context_bytes=whole - 1)
        with pytest.raises(InvalidInput):
            await too_small.context(owner.team_id, ids[2], NOW)


async def test_a_failed_save_leaves_nothing_of_its_unit(database: Database, owner: Owner) -> None:
    sent = response(answer("once"))

    async def save_twice() -> None:
        async with database.write() as unit:
            service = ConversationService(unit)
            for _ in range(2):  # the same id twice: the first is written, the second fails
                await service.save(
                    team_id=owner.team_id,
                    key_id=owner.key_id,
                    response=sent,
                    input_items=[user("twice?")],
                    previous_response_id=None,
                    now=NOW,
                    retention=RETENTION,
                )
                assert await service.get(owner.team_id, sent["id"], NOW) == sent

    with pytest.raises(IntegrityError):
        await save_twice()
    assert await item_rows(database, sent["id"]) == 0
    async with database.read() as unit:
        with pytest.raises(NotFound):
            await ConversationService(unit).get(owner.team_id, sent["id"], NOW)


@pytest.mark.parametrize(
    "items",
    [
        [{"type": "message", "role": "user", "content": "no id"}],
        [{"id": 7, "type": "message", "role": "user", "content": "a number"}],
        [{"id": "x" * 129, "type": "message", "role": "user", "content": "too long"}],
        [{"id": "msg_1", "type": "message"}, {"id": "msg_1", "type": "message"}],
    ],
    ids=["missing", "not a string", "too long", "duplicate"],
)
async def test_input_items_without_a_distinct_id_are_invalid_and_nothing_is_saved(
    database: Database, owner: Owner, items: list[Json]
) -> None:
    sent = response(answer("never"))
    with pytest.raises(InvalidInput) as raised:
        await save(database, owner, sent, items)
    assert raised.value.field == "input"
    async with database.read() as unit:
        with pytest.raises(NotFound):
            await ConversationService(unit).get(owner.team_id, sent["id"], NOW)
