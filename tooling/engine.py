"""The offline engine: run the Pulumi program of a stack under mocks and record its graph.

No Pulumi CLI, provider plugin or cloud account is involved. The mocks return the values
the real providers compute (ARNs, names, the EKS cluster's OIDC outputs), deterministically,
so two runs of the same tree record the same graph.
"""

from __future__ import annotations

import hashlib
import json
import runpy
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.archive.reference import ArchiveReferenceArgs, registration_of
from components.archive.settings import referenced_stack
from components.common.names import PROJECT
from components.common.partition import partition_of
from components.config import load_stack_config
from tooling.graph import STACK_TYPE, RecordedResource, ResourceGraph

REPO_ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_ID = "123456789012"
UNDECRYPTED_VALUE = "[secret]"


class StackFileError(Exception):
    """A stack file that is missing or not a Pulumi stack file."""


def stack_names(root: Path = REPO_ROOT) -> list[str]:
    return sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in root.glob("Pulumi.*.yaml")
    )


def load_stack_file(stack: str, root: Path = REPO_ROOT) -> tuple[dict[str, str], list[str]]:
    """The flat config map the engine would pass (`ns:key` -> text), and its secret keys.

    Secrets (`secure:` values) cannot be decrypted offline: they become a placeholder.
    """
    path = root / f"Pulumi.{stack}.yaml"
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise StackFileError(f"{path.name}: no such stack file") from None
    except yaml.MarkedYAMLError as error:
        where = f" at line {error.problem_mark.line + 1}" if error.problem_mark else ""
        raise StackFileError(f"{path.name}: not valid YAML{where}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{path.name}: not valid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise StackFileError(f"{path.name}: expected a mapping with a 'config:' mapping")
    raw: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in (document.get("config") or {}).items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            raw[full_key] = UNDECRYPTED_VALUE
            secret_keys.append(full_key)
        elif isinstance(value, str):
            raw[full_key] = value
        elif isinstance(value, bool):
            raw[full_key] = "true" if value else "false"
        elif isinstance(value, (int, float)):
            raw[full_key] = str(value)
        else:
            raw[full_key] = json.dumps(value, sort_keys=True)
    return raw, secret_keys


def _stable_id(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:12]


STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"
_CALLER_IDENTITY = "aws:index/getCallerIdentity:getCallerIdentity"


class OfflineMocks(pulumi.runtime.Mocks):
    """What the providers would compute, for the resource types this program creates.

    `references` are the outputs of other stacks (by stack name), which a StackReference
    reads: the offline plan of an archive stack feeds the cluster stacks that reference it.
    """

    def __init__(
        self, stack: str, region: str, references: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        self.stack = stack
        self.region = region
        self.references = dict(references or {})
        # Explicit AWS providers (e.g. the archive replica's) by name: their region.
        self.provider_regions: dict[str, str] = {}

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ == STACK_REFERENCE_TYPE:
            return self._stack_reference(str(args.inputs.get("name") or args.name))
        if args.typ == "pulumi:providers:aws" and isinstance(args.inputs.get("region"), str):
            self.provider_regions[args.name] = args.inputs["region"]
        # A remote component (eks:index:Cluster) only has the outputs it declares.
        state = dict(args.inputs) if args.custom else {}
        rid = f"{args.name}-{_stable_id(self.stack, args.typ, args.name)}"
        computed = self._computed(args.typ, args.name, state, rid, self._region_of(args))
        state.update(computed)
        return state.get("__id", rid), {k: v for k, v in state.items() if k != "__id"}

    def _region_of(self, args: mocks.MockResourceArgs) -> str:
        # A provider reference is "<provider URN>::<id>"; the URN ends in its name.
        parts = (args.provider or "").split("::")
        return self.provider_regions.get(parts[-2], self.region) if len(parts) > 2 else self.region

    def _computed(
        self, typ: str, name: str, inputs: dict[str, Any], rid: str, region: str
    ) -> dict[str, Any]:
        account = ACCOUNT_ID
        # ARNs carry the region's partition (aws-cn, aws-us-gov), as the provider returns them.
        arn = f"arn:{_partition_name(region)}"
        if typ == "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket") or f"{name}-{_stable_id(self.stack, name)}"
            return {"__id": bucket, "bucket": bucket, "arn": f"{arn}:s3:::{bucket}"}
        if typ == "aws:kms/key:Key":
            key_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.stack}/{name}"))
            return {
                "__id": key_id,
                "keyId": key_id,
                "arn": f"{arn}:kms:{region}:{account}:key/{key_id}",
            }
        if typ == "aws:iam/role:Role":
            role = inputs.get("name") or rid
            return {"__id": role, "name": role, "arn": f"{arn}:iam::{account}:role/{role}"}
        if typ == "aws:athena/workgroup:Workgroup":
            workgroup = inputs.get("name") or rid
            workgroup_arn = f"{arn}:athena:{region}:{account}:workgroup/{workgroup}"
            return {"__id": workgroup, "arn": workgroup_arn}
        if typ == "aws:ec2/launchTemplate:LaunchTemplate":
            return {"__id": f"lt-{_stable_id(self.stack, name)}", "latestVersion": 1}
        if typ == "eks:index:Cluster":
            issuer = f"oidc.eks.{region}.amazonaws.com/id/{_stable_id(self.stack, name).upper()}"
            return {
                "kubeconfigJson": json.dumps(
                    {"apiVersion": "v1", "kind": "Config", "clusters": []}
                ),
                "oidcProviderArn": f"{arn}:iam::{account}:oidc-provider/{issuer}",
                "oidcProviderUrl": f"https://{issuer}",
                "oidcIssuer": issuer,
            }
        if typ.startswith("kubernetes:") and isinstance(inputs.get("metadata"), dict):
            # The provider fills in metadata.name (auto-naming) and defaults the namespace.
            metadata = dict(inputs["metadata"])
            metadata.setdefault("name", f"{name}-{_stable_id(self.stack, name)[:8]}")
            return {"metadata": metadata}
        return {}

    def _stack_reference(self, name: str) -> tuple[str, dict[str, Any]]:
        stack = referenced_stack(name)
        if stack not in self.references:
            raise StackFileError(
                f"stack {self.stack} references stack {name!r}, which was not planned "
                f"(no Pulumi.{stack}.yaml beside it?)"
            )
        outputs = dict(self.references[stack])
        return name, {"name": name, "outputs": outputs, "secretOutputNames": []}

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == _CALLER_IDENTITY:
            account = ACCOUNT_ID
            return {
                "accountId": account,
                "arn": f"arn:{_partition_name(self.region)}:iam::{account}:role/deploy",
                "id": account,
                "userId": "AROAOFFLINEDEPLOYROLE",
            }, []
        # A new provider call must get a mock here first.
        raise NotImplementedError(f"the offline engine has no mock for the call {args.token}")


def _partition_name(region: str) -> str:
    try:
        return partition_of(region).name
    except ValueError:
        return "aws"  # the program refuses the region itself, with the stack file named


class RecordingMonitor(mocks.MockMonitor):
    """A mock monitor that also keeps what the engine would see of each registration."""

    def __init__(self, mocks_: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks_)
        self.recorded: list[RecordedResource] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            self._record(request, urn, {}, {})
            return resource_pb2.RegisterResourceResponse(urn=urn)
        # Read the wire form directly instead of `rpc.deserialize_properties`: that would
        # rebuild referenced resources on the monitor's thread (and its event loop).
        inputs = _plain(json_format.MessageToDict(request.object))
        resource_id, state = self.mocks.new_resource(
            mocks.MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs,
                provider=request.provider,
                resource_id=request.importId,
                custom=request.custom or False,
            )
        )
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, resource_id or "", state)
        self._record(request, urn, inputs, state)
        wire_state = _sync_await(rpc.serialize_properties(state, {}))
        return resource_pb2.RegisterResourceResponse(
            urn=urn, id=resource_id or "", object=wire_state
        )

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        inputs = _plain(json_format.MessageToDict(request.properties))
        state = _plain(json_format.MessageToDict(response.properties))
        self._record(request, response.urn, inputs, state, read=True)
        return response

    def _record(
        self,
        request: Any,
        urn: str,
        inputs: dict[str, Any],
        state: dict[str, Any],
        *,
        read: bool = False,
    ) -> None:
        self.recorded.append(
            RecordedResource(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=bool(getattr(request, "custom", True)),
                parent=request.parent or None,
                dependencies=tuple(sorted(set(getattr(request, "dependencies", ())))),
                provider=request.provider or None,
                inputs=inputs,
                outputs=_plain(state),
                protect=bool(getattr(request, "protect", False)),
                retain_on_delete=bool(getattr(request, "retainOnDelete", False)),
                read=read,
            )
        )


def _plain(value: Any) -> Any:
    """JSON-ready data: secrets unwrapped, unknowns and resource references made readable."""
    if isinstance(value, Mapping):
        signature = value.get(rpc._special_sig_key)
        if signature == rpc._special_secret_sig:
            return _plain(value.get("value"))
        if signature == rpc._special_resource_sig:
            return {"urn": value.get("urn"), "id": value.get("id")}
        if signature is not None:
            return {k: _plain(v) for k, v in value.items() if k != rpc._special_sig_key}
        return {str(k): _plain(v) for k, v in value.items()}
    if value == rpc.UNKNOWN:
        return "[unknown]"
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf numbers are doubles
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, pulumi.Resource):
        return f"<resource {type(value).__name__}>"
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def run_program(
    stack: str,
    config: Mapping[str, str],
    program: Callable[[], None] | None = None,
    secret_keys: list[str] | None = None,
    references: Mapping[str, Mapping[str, Any]] | None = None,
) -> ResourceGraph:
    """Run `program` (default: the repo's `__main__.py`) as stack `stack`; return its graph.

    `references`: the outputs of the stacks it references (stack name -> outputs).
    """
    region = config.get("aws:region", "us-east-1")
    monitor = RecordingMonitor(OfflineMocks(stack, region, references))
    pulumi.runtime.set_all_config(dict(config), secret_keys or [])
    settings.ROOT.set(None)
    pulumi.runtime.set_mocks(
        monitor.mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor
    )
    settings.SETTINGS.rpc_manager.clear()
    run = program or (lambda: runpy.run_path(str(REPO_ROOT / "__main__.py"), run_name="__main__"))
    outputs: dict[str, Any] = {}

    def body() -> None:
        run()
        root = settings.get_root_resource()
        exported = getattr(root, "outputs", {})
        resolved: dict[str, Any] | None = _sync_await(
            pulumi.Output.from_input(dict(exported)).future()
        )
        outputs.update(resolved or {})

    _sync_await(run_pulumi_func(body))
    return ResourceGraph(
        stack=stack,
        project=PROJECT,
        resources=tuple(monitor.recorded),
        stack_outputs=_plain(outputs),
    )


ARCHIVE_STACK_KEY = f"{PROJECT}:archiveStack"


def referenced_archive(stack: str, root: Path = REPO_ROOT) -> str | None:
    """The archive stack a cluster stack's file references, if any (by its stack name)."""
    raw, _ = load_stack_file(stack, root)
    reference = raw.get(ARCHIVE_STACK_KEY)
    return referenced_stack(reference) if reference else None


def run_stack(
    stack: str,
    root: Path = REPO_ROOT,
    references: Mapping[str, Mapping[str, Any]] | None = None,
) -> ResourceGraph:
    """Plan one stack; a cluster stack's archive is planned first unless its outputs are given."""
    raw, secret_keys = load_stack_file(stack, root)
    known = dict(references or {})
    archive = referenced_archive(stack, root)
    if archive is not None:
        if archive == stack:
            raise StackFileError(f"Pulumi.{stack}.yaml: archiveStack references itself")
        if archive not in known:
            known[archive] = run_stack(archive, root, known).stack_outputs
        _check_registration(stack, raw, known[archive])
    return run_program(stack, raw, secret_keys=secret_keys, references=known)


def _check_registration(stack: str, raw: Mapping[str, str], archive: Mapping[str, Any]) -> None:
    """The check the program makes on its StackReference, made before it runs.

    The same ArchiveReferenceError, but not from inside an apply: a program that fails
    half way leaves callbacks behind that would disturb the next plan in this process.
    """
    cfg = load_stack_config(raw, stack)
    if cfg.archive_stack is not None:
        registration_of(
            archive.get("clusters"),
            ArchiveReferenceArgs(cfg.archive_stack, stack, cfg.log_prefix, cfg.archive_aws_region),
            ACCOUNT_ID,  # where the offline engine "deploys" every stack
            archive.get("region"),
        )


def planning_order(stacks: list[str], root: Path = REPO_ROOT) -> list[str]:
    """Archive stacks (those others reference, and those of kind archive) before the rest."""
    kinds = {s: load_stack_file(s, root)[0].get(f"{PROJECT}:stackKind") for s in stacks}
    return sorted(stacks, key=lambda s: (kinds[s] != "archive", s))
