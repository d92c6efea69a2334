"""Offline policy enforcement: run the policy pack over a recorded plan, as the engine does.

The pack is started the way `pulumi preview --policy-pack` starts a Python pack
(`python -u -m pulumi.policy <engine> <pack dir>`, which prints the analyzer's port), then
driven over gRPC: GetAnalyzerInfo, ConfigureStack, Configure (enforcement levels and policy
config resolved from the stack's --policy-pack-config file), Analyze for every resource and
AnalyzeStack once. So enforcement levels, config schemas and the SDK's own handling are the
real ones, not a re-implementation.

    python -m tooling.policy_runner --graph build/dev/resources.json --config policy/config/dev.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import grpc
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from tooling.graph import RecordedResource, ResourceGraph

PACK_DIR = Path(__file__).resolve().parent.parent / "policy"
START_TIMEOUT_S = 30.0
RPC_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
# The pack never calls the engine back; the argument is only required by pulumi.policy.
_NO_ENGINE = "127.0.0.1:0"
_GRPC_OPTIONS = [("grpc.max_receive_message_length", 400 * 1024 * 1024)]

LEVELS = ("advisory", "mandatory", "remediate", "disabled")
_LEVEL_TO_PROTO = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
_PROTO_TO_LEVEL = {number: name for name, number in _LEVEL_TO_PROTO.items()}
_SEVERITIES = {
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "array": (list,),
    "object": (dict,),
}


class PolicyConfigError(ValueError):
    """The stack's policy config does not fit the pack (unknown policy, key or value type)."""


class PolicyPackError(RuntimeError):
    """The pack could not be started or answered an RPC with an error."""


@dataclass(frozen=True)
class Violation:
    level: str
    policy: str
    urn: str  # "" for a violation of the stack as a whole
    message: str
    severity: str

    @property
    def resource(self) -> str:
        return self.urn.rsplit("::", 1)[-1] if self.urn else "(stack)"

    def line(self) -> str:
        message = "; ".join(part.strip() for part in self.message.splitlines() if part.strip())
        return f"{self.level:<9}  {self.policy}  {self.urn or '(stack)'}  {message}"


_LEVEL_ORDER = {"mandatory": 0, "remediate": 1, "advisory": 2, "disabled": 3}


def _sort_key(violation: Violation) -> tuple[int, str, str, str]:
    level = _LEVEL_ORDER.get(violation.level, 9)
    return (level, violation.policy, violation.urn, violation.message)


@dataclass(frozen=True)
class PolicyReport:
    stack: str
    pack: str
    version: str
    levels: Mapping[str, str]  # policy name -> enforcement level in force
    fixes: Mapping[str, str]  # policy name -> description (what and how to fix)
    resources: int
    violations: tuple[Violation, ...]

    @property
    def mandatory(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.level == "mandatory")

    @property
    def has_mandatory(self) -> bool:
        return bool(self.mandatory)

    def render(self) -> str:
        lines = [
            f"Policy pack {self.pack}@{self.version}, stack {self.stack}: "
            f"{len(self.levels)} policies over {self.resources} resources",
            "",
        ]
        lines += [violation.line() for violation in self.violations] or ["No violations."]
        violated = sorted({v.policy for v in self.violations})
        if violated:
            lines += ["", "How to fix:"]
            lines += [f"  {name}: {self.fixes.get(name, '')}" for name in violated]
        lines += ["", self.summary()]
        return "\n".join(lines) + "\n"

    @property
    def enforced(self) -> int:
        """Policies that ran: every policy of the pack but the disabled ones."""
        return sum(1 for level in self.levels.values() if level != "disabled")

    def summary(self) -> str:
        """One plain line: how many policies ran, how many violations, and the verdict."""
        advisory = len(self.violations) - len(self.mandatory)
        violated = len({v.policy for v in self.violations})
        verdict = "FAIL (mandatory violations)" if self.has_mandatory else "PASS"
        detail = (
            f" ({len(self.mandatory)} mandatory, {advisory} advisory, "
            f"from {_count(violated, 'policy', 'policies')})"
            if self.violations
            else ""
        )
        ran = _count(self.enforced, "policy", "policies")
        found = _count(len(self.violations), "violation", "violations")
        return f"{ran}, {found}{detail}: {verdict}"


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


# --- policy config ----------------------------------------------------------------------


def load_policy_config(path: Path) -> dict[str, Any]:
    """The JSON file given to `pulumi preview --policy-pack-config`."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise PolicyConfigError(f"{path}: not valid JSON: {error}") from error
    if not isinstance(payload, dict):
        raise PolicyConfigError(f"{path}: the top level must be an object of policy names")
    return payload


def _level(value: Any, where: str) -> str:
    if value not in LEVELS:
        raise PolicyConfigError(f"{where}: enforcement level {value!r} is not one of {LEVELS}")
    return str(value)


def _check_property(where: str, key: str, value: Any, schema: Mapping[str, Any]) -> None:
    expected = schema.get("type")
    accepted = _JSON_TYPES.get(str(expected))
    if accepted is None:
        return
    is_bool = isinstance(value, bool)
    whole = isinstance(value, float) and value.is_integer()
    fits = isinstance(value, accepted) and (expected == "boolean" or not is_bool)
    if not fits and not (expected == "integer" and whole):
        raise PolicyConfigError(f"{where}: {key}={value!r} is not of type {expected}")
    allowed = schema.get("enum")
    if allowed is not None and value not in allowed:
        raise PolicyConfigError(f"{where}: {key}={value!r} is not one of {allowed}")
    items = schema.get("items")
    if expected == "array" and isinstance(items, Mapping):
        for index, item in enumerate(value):
            _check_property(where, f"{key}[{index}]", item, items)


def resolve_policy_config(
    info: analyzer_pb2.AnalyzerInfo, raw: Mapping[str, Any], source: str = "policy config"
) -> dict[str, analyzer_pb2.PolicyConfig]:
    """What the engine sends to Configure: every policy's level and its properties.

    Level: the policy's own entry, else `all`, else the pack's default. Properties: the
    schema defaults overlaid with the file's values. Unknown policies, unknown keys and
    values of the wrong type are errors.
    """
    policies = {p.name: p for p in info.policies}
    unknown = sorted(set(raw) - set(policies) - {"all"})
    if unknown:
        raise PolicyConfigError(
            f"{source}: {unknown} are not policies of {info.name}; known: {sorted(policies)}"
        )
    default_all = _level(raw["all"], f"{source}: all") if "all" in raw else None
    resolved: dict[str, analyzer_pb2.PolicyConfig] = {}
    for name, policy in policies.items():
        where = f"{source}: {name}"
        entry = raw.get(name, {})
        if isinstance(entry, str):
            entry = {"enforcementLevel": entry}
        if not isinstance(entry, dict):
            raise PolicyConfigError(f"{where}: expected a level or an object, got {entry!r}")
        level = default_all or _PROTO_TO_LEVEL.get(policy.enforcementLevel, "advisory")
        if "enforcementLevel" in entry:
            level = _level(entry["enforcementLevel"], where)
        schema = json_format.MessageToDict(policy.configSchema.properties)
        properties = {key: spec["default"] for key, spec in schema.items() if "default" in spec}
        for key, value in entry.items():
            if key == "enforcementLevel":
                continue
            if key not in schema:
                raise PolicyConfigError(f"{where}: unknown key {key!r}; accepted: {sorted(schema)}")
            _check_property(where, key, value, schema[key])
            properties[key] = value
        config = analyzer_pb2.PolicyConfig(enforcementLevel=_LEVEL_TO_PROTO[level])
        config.properties.update(properties)
        resolved[name] = config
    return resolved


# --- the analyzer process ---------------------------------------------------------------


def _pump_lines(stream: IO[bytes], lines: queue.Queue[bytes]) -> None:
    # Keeps draining stdout after the port line so a chatty policy cannot block the server.
    for line in stream:
        lines.put(line)


def _wait_for_port(
    process: subprocess.Popen[bytes], lines: queue.Queue[bytes], stderr: IO[bytes], timeout: float
) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.05).strip()
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        if line.isdigit():
            return int(line)
    stderr.seek(0)
    detail = stderr.read().decode(errors="replace").strip()
    state = f"exited with {process.returncode}" if process.poll() is not None else "timed out"
    raise PolicyPackError(f"policy pack {state} before printing its port:\n{detail}")


def _stop(process: subprocess.Popen[bytes], pump: threading.Thread) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)
    # The pump ends at end of file, once the process is gone.
    pump.join(timeout=STOP_TIMEOUT_S)
    if process.stdout is not None and not pump.is_alive():
        process.stdout.close()


@contextlib.contextmanager
def analyzer(
    pack_dir: Path, graph: ResourceGraph, python: str, timeout: float = START_TIMEOUT_S
) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """A running policy pack and a stub connected to it; stopped on exit."""
    env = {
        **os.environ,
        "PULUMI_PROJECT": graph.project,
        "PULUMI_STACK": graph.stack,
        "PULUMI_DRY_RUN": "true",
        "PULUMI_CONFIG": "{}",
    }
    argv = [python, "-u", "-m", "pulumi.policy", _NO_ENGINE, str(pack_dir)]
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            argv,
            cwd=pack_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        assert process.stdout is not None
        lines: queue.Queue[bytes] = queue.Queue()
        pump = threading.Thread(target=_pump_lines, args=(process.stdout, lines), daemon=True)
        pump.start()
        try:
            port = _wait_for_port(process, lines, stderr, timeout)
            with grpc.insecure_channel(f"127.0.0.1:{port}", options=_GRPC_OPTIONS) as channel:
                grpc.channel_ready_future(channel).result(timeout=timeout)
                yield analyzer_pb2_grpc.AnalyzerStub(channel)
        finally:
            _stop(process, pump)


# --- requests ---------------------------------------------------------------------------


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(json.loads(json.dumps(values, default=str)))
    return struct


def _urn_type_and_name(urn: str) -> tuple[str, str]:
    parts = urn.split("::")
    return parts[-2].rsplit("$", 1)[-1], parts[-1]


def _provider(
    resource: RecordedResource, by_urn: Mapping[str, RecordedResource]
) -> analyzer_pb2.AnalyzerProviderResource | None:
    if not resource.provider:
        return None
    urn = resource.provider.rsplit("::", 1)[0]
    recorded = by_urn.get(urn)
    type_token, name = _urn_type_and_name(urn)
    return analyzer_pb2.AnalyzerProviderResource(
        type=recorded.type if recorded else type_token,
        properties=_struct(recorded.inputs if recorded else {}),
        urn=urn,
        name=recorded.name if recorded else name,
    )


def _options(resource: RecordedResource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        parent=resource.parent or "", protect=resource.protect
    )


def _analyze_request(
    resource: RecordedResource, by_urn: Mapping[str, RecordedResource]
) -> analyzer_pb2.AnalyzeRequest:
    return analyzer_pb2.AnalyzeRequest(
        type=resource.type,
        properties=_struct(resource.inputs),
        urn=resource.urn,
        name=resource.name,
        options=_options(resource),
        provider=_provider(resource, by_urn),
    )


def _stack_resource(
    resource: RecordedResource, by_urn: Mapping[str, RecordedResource]
) -> analyzer_pb2.AnalyzerResource:
    # AnalyzeStack sees the resources' state (outputs); mocks may echo only part of the
    # inputs, so the inputs fill in whatever the outputs leave out.
    return analyzer_pb2.AnalyzerResource(
        type=resource.type,
        properties=_struct({**resource.inputs, **resource.outputs}),
        urn=resource.urn,
        name=resource.name,
        options=_options(resource),
        provider=_provider(resource, by_urn),
        parent=resource.parent or "",
        dependencies=list(resource.dependencies),
    )


def _violations(response: analyzer_pb2.AnalyzeResponse, default_urn: str) -> list[Violation]:
    found = []
    for diagnostic in response.diagnostics:
        message = diagnostic.message
        if diagnostic.description and message.startswith(diagnostic.description):
            message = message[len(diagnostic.description) :].strip() or diagnostic.description
        found.append(
            Violation(
                level=_PROTO_TO_LEVEL.get(diagnostic.enforcementLevel, "advisory"),
                policy=diagnostic.policyName,
                urn=diagnostic.urn or default_urn,
                message=message,
                severity=_SEVERITIES.get(diagnostic.severity, ""),
            )
        )
    return found


def _pack_version(pack_dir: Path, fallback: str) -> str:
    # The CLI takes the version from PulumiPolicy.yaml; the SDK always answers 0.0.1.
    manifest = pack_dir / "PulumiPolicy.yaml"
    if manifest.exists():
        version = (yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}).get("version")
        if version:
            return str(version)
    return fallback


class PackSession:
    """A started pack, configured for one stack: analyze as many graphs of it as needed.

    Starting the pack costs about half a second; mutation tests analyze dozens of edited
    copies of one stack's graph through a single session.
    """

    def __init__(
        self,
        stub: analyzer_pb2_grpc.AnalyzerStub,
        info: analyzer_pb2.AnalyzerInfo,
        config: Mapping[str, analyzer_pb2.PolicyConfig],
        pack_dir: Path,
    ) -> None:
        self._stub = stub
        self.info = info
        self.config = config
        self.pack_dir = pack_dir

    def analyze(self, graph: ResourceGraph) -> PolicyReport:
        """Every violation the pack reports for `graph` (Analyze per resource, AnalyzeStack)."""
        by_urn = {r.urn: r for r in graph.resources}
        violations: list[Violation] = []
        try:
            for resource in graph.resources:
                response = self._stub.Analyze(
                    _analyze_request(resource, by_urn), timeout=RPC_TIMEOUT_S
                )
                violations += _violations(response, resource.urn)
            stack_request = analyzer_pb2.AnalyzeStackRequest(
                resources=[_stack_resource(r, by_urn) for r in graph.resources]
            )
            violations += _violations(
                self._stub.AnalyzeStack(stack_request, timeout=RPC_TIMEOUT_S), ""
            )
        except grpc.RpcError as error:
            raise PolicyPackError(f"policy pack RPC failed: {error}") from error
        return PolicyReport(
            stack=graph.stack,
            pack=self.info.name,
            version=_pack_version(self.pack_dir, self.info.version),
            levels={name: _PROTO_TO_LEVEL[c.enforcementLevel] for name, c in self.config.items()},
            fixes={p.name: p.description for p in self.info.policies},
            resources=len(graph.resources),
            violations=tuple(sorted(violations, key=_sort_key)),
        )


@contextlib.contextmanager
def pack_session(
    graph: ResourceGraph,
    config_path: Path,
    *,
    pack_dir: Path = PACK_DIR,
    python: str = sys.executable,
) -> Iterator[PackSession]:
    """The pack started and configured as the engine does for `graph`'s stack."""
    pack_dir = pack_dir.resolve()
    raw_config = load_policy_config(config_path)
    with analyzer(pack_dir, graph, python) as stub:
        try:
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=RPC_TIMEOUT_S)
            policy_config = resolve_policy_config(info, raw_config, str(config_path))
            stub.ConfigureStack(
                analyzer_pb2.AnalyzerStackConfigureRequest(
                    stack=graph.stack, project=graph.project, dry_run=True
                ),
                timeout=RPC_TIMEOUT_S,
            )
            stub.Configure(
                analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=policy_config),
                timeout=RPC_TIMEOUT_S,
            )
        except grpc.RpcError as error:
            raise PolicyPackError(f"policy pack RPC failed: {error}") from error
        yield PackSession(stub, info, policy_config, pack_dir)


def run_policy_pack(
    graph: ResourceGraph,
    config_path: Path,
    *,
    pack_dir: Path = PACK_DIR,
    python: str = sys.executable,
) -> PolicyReport:
    """Every violation the pack reports for `graph` under the stack's policy config."""
    with pack_session(graph, config_path, pack_dir=pack_dir, python=python) as session:
        return session.analyze(graph)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--graph", type=Path, required=True, help="resources.json of a plan")
    parser.add_argument("--config", type=Path, required=True, help="policy/config/<stack>.json")
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    parser.add_argument("--pack", type=Path, default=PACK_DIR, help="policy pack directory")
    args = parser.parse_args(argv)
    try:
        report = run_policy_pack(ResourceGraph.load(args.graph), args.config, pack_dir=args.pack)
    except (PolicyConfigError, PolicyPackError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    text = report.render()
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 1 if report.has_mandatory else 0


if __name__ == "__main__":
    sys.exit(main())
