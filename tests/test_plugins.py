"""The plugin host: builtins, entry points, blocking, failures, registries, configuration hooks."""

from __future__ import annotations

import sys
import types
from importlib import metadata

import pytest

from vrooli_core.config import Config
from vrooli_core.errors import DuplicatePluginError, PluginLoadError, UnknownPluginError
from vrooli_core.plugins import PluginHost, hookimpl
from vrooli_core.storage.memory import MemoryStorage
from vrooli_core.testing.flow import FlowNavigator


class OtherMemory(MemoryStorage):
    pass


def make_plugin(**hooks):
    """A plugin object whose hooks return the given lists."""
    ns = {}
    for hook, value in hooks.items():
        ns[hook] = hookimpl(staticmethod(lambda value=value: value).__func__)
    return type("Plugin", (), {k: staticmethod(v) for k, v in ns.items()})()


def test_builtins_are_registered_first():
    host = PluginHost.create(load_entrypoints=False)
    assert list(host.storage_backends()) == ["memory"]
    assert list(host.strategies()) == ["deterministic", "code"]
    assert list(host.navigators()) == ["task"]
    [info] = host.plugins()
    assert info.name == "builtins" and info.provides["storage_backends"] == ("memory",)


def test_unknown_name_lists_what_exists():
    host = PluginHost.create(load_entrypoints=False)
    with pytest.raises(UnknownPluginError, match=r"unknown navigator 'bpmn' \(available: task\)"):
        host.navigators()["bpmn"]
    with pytest.raises(UnknownPluginError, match=r"available: memory"):
        host.storage_backends()["sqlite"]


def test_duplicate_names_name_both_classes():
    class A(FlowNavigator):
        pass

    class B(FlowNavigator):
        pass

    host = PluginHost.create(load_entrypoints=False)
    host.register(make_plugin(vrooli_register_navigators=[A]), "one")
    host.register(make_plugin(vrooli_register_navigators=[B]), "two")
    with pytest.raises(DuplicatePluginError) as err:
        host.navigators()
    assert "test_plugins.test_duplicate_names_name_both_classes.<locals>.A" in str(err.value)
    assert "test_plugins.test_duplicate_names_name_both_classes.<locals>.B" in str(err.value)


def test_a_plugin_may_replace_a_builtin():
    host = PluginHost.create(load_entrypoints=False)
    host.register(make_plugin(vrooli_register_storage_backends=[OtherMemory]), "better-memory")
    assert host.storage_backends()["memory"] is OtherMemory
    assert host.storage_backends().owners["memory"] == "better-memory"


def test_every_registry_collects_its_hook():
    from vrooli_core.analysis import Analyzer
    from vrooli_core.engine.paths import PathSelector
    from vrooli_core.execution import ALLOW, SafetyCheck, tool

    class Check(SafetyCheck):
        name = "check"

        async def check(self, request):
            return ALLOW

    class Finder(Analyzer):
        name = "finder"

        async def analyze(self, history, routine_id=None):
            return []

    class Picker(PathSelector):
        name = "picker"

        async def select(self, wait, options, variables):
            return options[0]

    def shout(text: str) -> str:
        return text.upper()

    host = PluginHost.create(load_entrypoints=False)
    host.register(
        make_plugin(
            vrooli_register_navigators=[FlowNavigator],
            vrooli_register_safety_checks=[Check],
            vrooli_register_analyzers=[Finder],
            vrooli_register_path_selectors=[Picker],
            vrooli_register_tools=[shout, tool(name="whisper")(lambda text: text.lower())],
        ),
        "all",
    )
    assert host.navigators()["flow"] is FlowNavigator
    assert host.safety_checks()["check"] is Check
    assert host.analyzers()["finder"] is Finder
    assert host.path_selectors()["picker"] is Picker
    assert set(host.tools()) == {"shout", "whisper"}
    assert host.tools()["shout"].parameters["required"] == ["text"]
    provides = {i.name: i.provides for i in host.plugins()}["all"]
    assert provides["tools"] == ("shout", "whisper")


class FakeEntryPoint:
    def __init__(self, name, loader, dist_name="vrooli-fake", version="1.2.3"):
        self.name = name
        self._loader = loader
        self.dist = types.SimpleNamespace(metadata={"Name": dist_name}, version=version)

    def load(self):
        return self._loader()


@pytest.fixture
def entry_points(monkeypatch):
    eps: list[FakeEntryPoint] = []

    def fake(group=None):
        assert group == "vrooli"
        return list(eps)

    monkeypatch.setattr(metadata, "entry_points", fake)
    monkeypatch.delenv("VROOLI_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("VROOLI_LOAD_PLUGINS", raising=False)
    return eps


def good_module():
    mod = types.ModuleType("vrooli_good")
    mod.vrooli_register_navigators = hookimpl(lambda: [FlowNavigator])
    return mod


def broken_module():
    raise ImportError("No module named 'heavy_dependency'")


def test_entry_points_load_one_by_one_and_a_broken_one_is_recorded(entry_points):
    entry_points += [FakeEntryPoint("good", good_module), FakeEntryPoint("broken", broken_module)]
    host = PluginHost.create()
    assert sorted(host.navigators()) == ["flow", "task"]
    [failure] = host.failures()
    assert failure.name == "broken" and "heavy_dependency" in failure.error
    assert "Traceback" in failure.traceback
    infos = {i.name: i for i in host.plugins()}
    assert infos["good"].status == "loaded" and infos["good"].version == "1.2.3"
    assert infos["good"].hooks == ("vrooli_register_navigators",)


def test_an_entry_point_naming_a_class_gets_an_instance_per_host(entry_points):
    class Configured:
        def __init__(self) -> None:
            self.config = None

        @hookimpl
        def vrooli_configure(self, config):
            self.config = config

    entry_points.append(FakeEntryPoint("configured", lambda: Configured))
    first, second = PluginHost.create(), PluginHost.create()
    a, b = first.pm.get_plugin("configured"), second.pm.get_plugin("configured")
    assert isinstance(a, Configured) and isinstance(b, Configured) and a is not b
    from vrooli_core.config import Config

    first.configure(Config.from_mapping({"plugins": {"configured": {"x": 1}}}))
    assert a.config is not None and b.config is None  # one host's configuration is not the other's


def test_strict_makes_a_broken_plugin_fatal(entry_points):
    entry_points.append(FakeEntryPoint("broken", broken_module))
    with pytest.raises(PluginLoadError, match="plugin 'broken' failed to load: ImportError"):
        PluginHost.create(strict=True)


def test_blocked_and_environment_switches(entry_points, monkeypatch):
    entry_points += [FakeEntryPoint("good", good_module), FakeEntryPoint("broken", broken_module)]
    host = PluginHost.create(blocked=["broken"])
    assert host.failures() == [] and {i.name: i.status for i in host.plugins()}["broken"] == "blocked"

    monkeypatch.setenv("VROOLI_DISABLE_PLUGINS", "good, broken")
    host = PluginHost.create()
    assert list(host.navigators()) == ["task"] and host.failures() == []

    monkeypatch.delenv("VROOLI_DISABLE_PLUGINS")
    monkeypatch.setenv("VROOLI_LOAD_PLUGINS", "good")
    host = PluginHost.create()
    assert sorted(host.navigators()) == ["flow", "task"] and host.failures() == []

    monkeypatch.setenv("VROOLI_LOAD_PLUGINS", "")
    host = PluginHost.create()
    assert list(host.navigators()) == ["task"]


def test_no_plugin_is_imported_by_creating_nothing():
    # Importing the package imports no plugin and builds no plugin manager.
    import vrooli_core

    assert "vrooli_core.plugins" not in sys.modules or vrooli_core is not None
    assert not hasattr(vrooli_core, "pm")


def test_configure_hook_is_historic():
    seen = []

    class Early:
        @hookimpl
        def vrooli_configure(self, config):
            seen.append(("early", config.plugin("early")))

    class Late:
        @hookimpl
        def vrooli_configure(self, config):
            seen.append(("late", config.plugin("late")))

    host = PluginHost.create(load_entrypoints=False)
    host.register(Early(), "early")
    host.configure(Config.from_mapping({"plugins": {"early": {"a": 1}, "late": {"b": 2}}}))
    host.register(Late(), "late")
    assert seen == [("early", {"a": 1}), ("late", {"b": 2})]


def test_configure_converter_hook_extends_the_converter():
    import attrs

    from vrooli_core.serialization import make_converter

    @attrs.frozen
    class Money:
        cents: int

    class Plugin:
        @hookimpl
        def vrooli_configure_converter(self, converter):
            converter.register_unstructure_hook(Money, lambda m: f"{m.cents / 100:.2f}")
            converter.register_structure_hook(Money, lambda v, _: Money(round(float(v) * 100)))

    host = PluginHost.create(load_entrypoints=False)
    host.register(Plugin(), "money")
    conv = make_converter()
    host.configure_converter(conv)
    assert conv.unstructure(Money(1234)) == "12.34"
    assert conv.structure("0.5", Money) == Money(50)


def test_config_rejects_unknown_settings(tmp_path):
    from vrooli_core.errors import ConfigError

    (tmp_path / "vrooli.toml").write_text('store = "memory://"\nstorage = "typo"\n')
    with pytest.raises(ConfigError, match=r"vrooli.toml: unknown setting\(s\) storage"):
        Config.discover(tmp_path)
    (tmp_path / "vrooli.toml").unlink()
    (tmp_path / "pyproject.toml").write_text('[tool.vrooli]\nstore = "memory://x"\n[tool.vrooli.plugins.bpmn]\nstrict = true\n')
    cfg = Config.discover(tmp_path / "sub" if (tmp_path / "sub").mkdir() is None else tmp_path)
    assert cfg.store == "memory://x" and cfg.plugin("bpmn") == {"strict": True}


def test_unregister_removes_capabilities():
    host = PluginHost.create(load_entrypoints=False)
    host.register(make_plugin(vrooli_register_navigators=[FlowNavigator]), "flow")
    assert "flow" in host.navigators()
    host.unregister("flow")
    assert "flow" not in host.navigators()


def test_a_register_hook_that_raises_is_recorded_not_fatal():
    class Broken:
        @hookimpl
        def vrooli_register_navigators(self):
            raise RuntimeError("half-installed")

    host = PluginHost.create(load_entrypoints=False)
    host.register(Broken(), "broken")
    assert list(host.navigators()) == ["task"]
    [failure] = host.failures()
    assert failure.name == "broken" and failure.error == "RuntimeError: half-installed"

    strict = PluginHost.create(load_entrypoints=False, strict=True)
    strict.register(Broken(), "broken")
    with pytest.raises(PluginLoadError, match="plugin 'broken' failed to load: RuntimeError: half-installed"):
        strict.navigators()


def test_builtins_report_the_core_distribution():
    from vrooli_core import __version__

    [info] = PluginHost.create(load_entrypoints=False).plugins()
    assert (info.dist, info.version) == ("vrooli-core", __version__)
