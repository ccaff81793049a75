"""Graphs the tests run: plain Python nodes, no model."""

from __future__ import annotations

import itertools
import operator
from typing import Annotated, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

CALLS: list[str] = []


class Count(TypedDict):
    n: int
    trail: Annotated[list[str], operator.add]


def step(name: str):
    def node(state: Count) -> dict:
        CALLS.append(name)
        return {"n": state["n"] + 1, "trail": [name]}

    return node


def chain_builder(length: int = 3) -> StateGraph:
    g = StateGraph(Count)
    names = [f"s{i}" for i in range(1, length + 1)]
    for name in names:
        g.add_node(name, step(name))
    g.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        g.add_edge(a, b)
    g.add_edge(names[-1], END)
    return g


chain = chain_builder()
compiled_chain = chain_builder().compile()


def make_chain() -> StateGraph:
    return chain_builder(2)


class Review(TypedDict):
    draft: str
    verdict: str


def write(state: Review) -> dict:
    CALLS.append("write")
    return {"draft": f"draft for {state['draft']}"}


def ask(state: Review) -> dict:
    CALLS.append("ask:before")
    answer = interrupt({"question": "Send it?", "draft": state["draft"]})
    CALLS.append("ask:after")
    return {"verdict": answer["verdict"] if isinstance(answer, dict) else str(answer)}


review = StateGraph(Review)
review.add_node("write", write)
review.add_node("ask", ask)
review.add_edge(START, "write")
review.add_edge("write", "ask")
review.add_edge("ask", END)


def boom(state: Count) -> dict:
    raise ValueError("the node broke")


broken = StateGraph(Count)
broken.add_node("fine", step("fine"))
broken.add_node("boom", boom)
broken.add_edge(START, "fine")
broken.add_edge("fine", "boom")
broken.add_edge("boom", END)


def again(state: Count) -> dict:
    return {"n": state["n"] + 1}


loop = StateGraph(Count)
loop.add_node("again", again)
loop.add_edge(START, "again")
loop.add_edge("again", "again")
bounded_loop = loop.compile().with_config(recursion_limit=25)

not_a_graph = {"nodes": []}


def route_known(state: Count) -> Literal["s1", "s2"]:
    return "s1"


def route_unknown(state: Count) -> str:
    return "s2"


routed = StateGraph(Count)
routed.add_node("pick", step("pick"))
routed.add_node("s1", step("s1"))
routed.add_node("s2", step("s2"))
routed.add_node("last", step("last"))
routed.add_edge(START, "pick")
routed.add_conditional_edges("pick", route_known)
routed.add_conditional_edges("s1", route_unknown)
routed.add_edge(["s1", "s2"], "last")
routed.add_edge("last", END)


class Chat(TypedDict):
    question: str
    answer: str


def chat_model():
    from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
    from langchain_core.messages import AIMessage

    usage = {"input_tokens": 11, "output_tokens": 7, "total_tokens": 18}
    return FakeMessagesListChatModel(responses=[AIMessage("first", usage_metadata=usage), AIMessage("second", usage_metadata=usage)])


MODEL = chat_model()


async def think(state: Chat) -> dict:
    first = await MODEL.ainvoke(state["question"])
    second = await MODEL.ainvoke(first.content)
    return {"answer": f"{first.content} {second.content}"}


chatting = StateGraph(Chat)
chatting.add_node("think", think)
chatting.add_edge(START, "think")
chatting.add_edge("think", END)


EFFECTS: dict[str, int] = {}


def send_then_ask(state: Review) -> dict:
    from vrooli_langgraph.navigator import idempotency_key

    key = idempotency_key()
    if key not in EFFECTS:  # the side effect before the interrupt is made once, though the node runs twice
        EFFECTS[key] = 0
    EFFECTS[key] += 1
    answer = interrupt("Was the draft received?")
    return {"verdict": str(answer)}


guarded = StateGraph(Review)
guarded.add_node("send", send_then_ask)
guarded.add_edge(START, "send")
guarded.add_edge("send", END)


async def slow(state: Count) -> dict:
    import anyio

    CALLS.append("slow:start")
    await anyio.sleep(5)
    CALLS.append("slow:end")
    return {"n": state["n"] + 1}


slow_chain = StateGraph(Count)
slow_chain.add_node("slow", slow)
slow_chain.add_node("after", step("after"))
slow_chain.add_edge(START, "slow")
slow_chain.add_edge("slow", "after")
slow_chain.add_edge("after", END)
