"""LangGraph graphs run as vrooli routines: nodes as recorded substeps, limits between nodes, interrupts
as durable human tasks answered after a restart, errors naming the reference or the node."""

from __future__ import annotations

from pathlib import Path

import graphs
import pytest

from vrooli_core import Engine
from vrooli_core.errors import RoutineError
from vrooli_core.model import Limits, RunStatus

pytestmark = pytest.mark.anyio


async def test_a_chain_runs_in_langgraph_and_every_node_is_recorded(host, store):
    async with Engine.open(store, host=host) as engine:
        routine = await engine.load("graphs:chain", format="langgraph")
        run = await engine.run(routine, {"n": 0, "trail": []})
        history = await engine.history(run.id)
    assert routine.id == "chain" and routine.format == "langgraph"
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.outputs == {"n": 3, "trail": ["s1", "s2", "s3"]}
    subs = [e.payload for e in history if e.type == "step.substep"]
    assert [s.substep for s in subs] == ["s1", "s2", "s3"]
    assert subs[1].outcome.output == {"n": 2, "trail": ["s2"]}


@pytest.mark.parametrize("ref", ["graphs:compiled_chain", "graphs:make_chain"])
async def test_compiled_graphs_and_factories_load_too(host, store, ref):
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(await engine.load(ref, format="langgraph"), {"n": 10, "trail": []})
    assert run.status is RunStatus.COMPLETED and run.outputs["n"] in (12, 13)


async def test_a_file_reference_and_langgraph_json(host, store, tmp_path: Path):
    (tmp_path / "agent.py").write_text(Path(graphs.__file__).read_text())
    (tmp_path / "langgraph.json").write_text('{"graphs": {"counter": "./agent.py:chain"}}')
    async with Engine.open(store, host=host) as engine:
        by_file = await engine.load(f"{tmp_path / 'agent.py'}:chain", format="langgraph")
        by_json = await engine.load(tmp_path / "langgraph.json")
        run = await engine.run(by_json, {"n": 0, "trail": []})
    assert by_file.id == "chain" and by_json.id == "counter"
    assert run.status is RunStatus.COMPLETED and run.outputs["n"] == 3


async def test_the_steps_limit_stops_the_graph_between_nodes(host, store):
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(await engine.load("graphs:chain", format="langgraph"), {"n": 0, "trail": []}, limits=Limits(max_steps=2))
        history = await engine.history(run.id)
    assert run.status is RunStatus.FAILED and run.error.code == "limit_exceeded"
    assert graphs.CALLS == ["s1"]  # the second node was not started
    assert [e.payload.substep for e in history if e.type == "step.substep"] == ["s1"]


async def test_an_interrupt_is_a_human_task_answered_after_a_restart(host, store):
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(await engine.load("graphs:review", format="langgraph"), {"draft": "ticket 7", "verdict": ""})
        assert run.status is RunStatus.WAITING
        [task] = await engine.tasks(run.id)
        assert task.spec.form["interrupt"] == {"question": "Send it?", "draft": "draft for ticket 7"}
        assert task.spec.form["node"] == "ask" and task.spec.name.startswith("ask: ")
    assert graphs.CALLS == ["write", "ask:before"]
    async with Engine.open(store, host=host) as engine:  # another process: nothing in memory
        done = await engine.complete_task(task.id, {"verdict": "send"})
    assert done.status is RunStatus.COMPLETED, done.error
    assert done.outputs == {"draft": "draft for ticket 7", "verdict": "send"}
    # LangGraph semantics: the interrupted node ran again from its start; the one before it did not.
    assert graphs.CALLS == ["write", "ask:before", "ask:before", "ask:after"]


async def test_a_node_that_raises_fails_the_run_naming_the_node(host, store):
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(await engine.load("graphs:broken", format="langgraph"), {"n": 0, "trail": []})
        history = await engine.history(run.id)
    assert run.status is RunStatus.FAILED
    assert run.error.code == "ValueError" and run.error.element == "boom"
    assert "node 'boom' of graph graphs:broken raised ValueError: the node broke" in run.error.message
    subs = [e.payload for e in history if e.type == "step.substep"]
    assert [(s.substep, s.outcome.status.value) for s in subs] == [("fine", "completed"), ("boom", "failed")]


async def test_the_recursion_limit_is_a_clear_failure(host, store):
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(await engine.load("graphs:bounded_loop", format="langgraph"), {"n": 0, "trail": []})
        history = await engine.history(run.id)
    assert run.status is RunStatus.FAILED and run.error.code == "recursion_limit"
    assert "graphs:bounded_loop hit its recursion limit: Recursion limit of 25 reached" in run.error.message
    assert len([e for e in history if e.type == "step.substep"]) == 25


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("graphs_nope:chain", "cannot import 'graphs_nope'"),
        ("graphs:nope", "graphs has no attribute 'nope'"),
        ("graphs:not_a_graph", "graphs:not_a_graph is not a LangGraph graph: it is a dict"),
        ("no-colon", "is not a LangGraph reference"),
    ],
)
async def test_bad_references_are_routine_errors_naming_them(host, store, ref, message):
    async with Engine.open(store, host=host) as engine:
        with pytest.raises(RoutineError, match=message.replace("(", r"\(")):
            await engine.load(ref, format="langgraph")


async def test_checkpoints_live_in_sql_storage_next_to_the_run(host, tmp_path: Path):
    pytest.importorskip("vrooli_sqlalchemy", reason="vrooli-sqlalchemy is not installed in this environment")
    import vrooli_sqlalchemy.plugin
    from vrooli_langgraph.saver import CHECKPOINTS, THREADS

    host.register(vrooli_sqlalchemy.plugin, "sqlalchemy")
    url = f"sqlite:///{tmp_path / 'both.db'}"
    async with Engine.open(url, host=host) as engine:
        run = await engine.run(await engine.load("graphs:review", format="langgraph"), {"draft": "t", "verdict": ""})
        [task] = await engine.tasks(run.id)
    async with Engine.open(url, host=host) as engine:
        done = await engine.complete_task(task.id, "send")
        threads = await engine.storage.list_docs(THREADS)
        checkpoints = await engine.storage.list_docs(CHECKPOINTS)
    assert done.status is RunStatus.COMPLETED and done.outputs["verdict"] == "send"
    assert [doc_id for doc_id, _ in threads] == [f"{run.id}|"]
    assert len(checkpoints) >= 4 and all(doc_id.startswith(f"{run.id}||") for doc_id, _ in checkpoints)


async def test_a_run_limit_stops_an_endless_graph(host, store):
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(await engine.load("graphs:loop", format="langgraph"), {"n": 0, "trail": []}, limits=Limits(max_steps=50))
    assert run.status is RunStatus.FAILED and run.error.code == "limit_exceeded"


async def test_model_usage_reported_by_langchain_is_charged_to_the_run(host, store):
    graphs.MODEL.i = 0  # the fake model answers its list from the start
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(await engine.load("graphs:chatting", format="langgraph"), {"question": "hi", "answer": ""})
        history = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED and run.outputs["answer"] == "first second"
    assert (run.usage.input_tokens, run.usage.output_tokens, run.usage.model_calls) == (22, 14, 2)
    charges = [e.payload for e in history if e.type == "usage.charged"]
    assert len(charges) == 2 and charges[0].detail == {"source": "langchain"}


async def test_the_idempotency_key_is_the_same_when_the_interrupted_node_runs_again(host, store):
    graphs.EFFECTS.clear()
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(await engine.load("graphs:guarded", format="langgraph"), {"draft": "d", "verdict": ""})
        [task] = await engine.tasks(run.id)
        done = await engine.complete_task(task.id, "yes")
    assert done.status is RunStatus.COMPLETED and done.outputs["verdict"] == "yes"
    [(key, runs)] = graphs.EFFECTS.items()
    assert runs == 2 and key.startswith(f"{run.id}:send:")  # one key for both runs of the node: the effect is made once


async def test_cancelling_a_run_stops_the_graph_and_no_node_starts_after(host, store):
    import anyio

    async with Engine.open(store, host=host) as engine:
        run = await engine.start(await engine.load("graphs:slow_chain", format="langgraph"), {"n": 0, "trail": []})
        with anyio.fail_after(5):
            while "slow:start" not in graphs.CALLS:
                await anyio.sleep(0.01)
        cancelled = await engine.cancel(run.id, "not needed")
        await anyio.sleep(0.1)
        final = await engine.get_run(run.id)
    assert cancelled.status is RunStatus.CANCELLED and final.status is RunStatus.CANCELLED
    assert graphs.CALLS == ["slow:start"]  # the slow node was cut off; "after" never started


async def test_the_saver_lists_a_threads_checkpoints_newest_first_and_deletes_them(host, store):
    from vrooli_langgraph.saver import CHECKPOINTS, TASK_WRITES, THREADS, WRITES, StorageSaver

    async with Engine.open(store, host=host) as engine:
        run = await engine.run(await engine.load("graphs:chain", format="langgraph"), {"n": 0, "trail": []})
        saver = StorageSaver(engine.storage)  # a fresh saver: everything from storage
        config = {"configurable": {"thread_id": run.id}}
        listed = [t async for t in saver.alist(config)]
        latest = await saver.aget_tuple(config)
        two = [t async for t in saver.alist(config, limit=2)]
        older = [t async for t in saver.alist(config, before=listed[0].config)]
        await saver.adelete_thread(run.id)
        left = {c: await engine.storage.list_docs(c) for c in (CHECKPOINTS, WRITES, TASK_WRITES, THREADS)}
    ids = [t.config["configurable"]["checkpoint_id"] for t in listed]
    assert len(ids) == 5 and ids == sorted(ids, reverse=True)  # input, s1, s2, s3, and the start
    assert latest.config == listed[0].config and latest.checkpoint["channel_values"]["n"] == 3
    assert [t.config for t in two] == [t.config for t in listed[:2]]
    assert [t.config for t in older] == [t.config for t in listed[1:]]
    assert listed[1].parent_config == listed[2].config
    assert left == {c: [] for c in left}


async def test_a_step_executed_again_after_its_answer_was_taken_goes_on_from_the_checkpoint(host, store):
    """A crash after LangGraph took the person's answer, before the step's completion was recorded:
    the step runs again with the same answer; the graph must not be answered twice."""
    from vrooli_core.model import Token
    from vrooli_core.testing.fakes import FakeStepServices, step_context

    async with Engine.open(store, host=host) as engine:
        routine = await engine.load("graphs:review", format="langgraph")
        run = await engine.run(routine, {"draft": "t", "verdict": ""})
        [task] = await engine.tasks(run.id)
        done = await engine.complete_task(task.id, {"verdict": "send"})
        graph = await engine.graph(routine.id, routine.version)
        services = FakeStepServices()
        services.storage = engine.storage  # type: ignore[attr-defined]  # the run's checkpoints
        ctx = step_context(graph.steps["graph"], {}, services=services, run_id=run.id, graph=graph)
        again = Token("t9", "graph", data={"resume": {"verdict": "send"}})
        outcome = await engine.navigator("langgraph").execute(graph, None, again, ctx)
    assert done.status is RunStatus.COMPLETED
    assert outcome.status.value == "completed" and outcome.output == done.outputs
    assert graphs.CALLS.count("ask:after") == 1  # not answered, nor run, a second time
