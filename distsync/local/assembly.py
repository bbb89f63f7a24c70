"""Read the synthesized cloud assembly: what the stack contains and where each asset's files are."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    timeout: int
    memory: int


@dataclass(frozen=True)
class EventSourceSpec:
    logical_id: str
    queue_logical_id: str
    function_logical_id: str
    batch_size: int
    report_batch_item_failures: bool
    enabled: bool
    maximum_concurrency: int | None = None  # ScalingConfig.MaximumConcurrency: batches at once


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str  # API Gateway resource path, e.g. /v1/webhooks/{source}
    function_logical_id: str
    api_key_required: bool = False  # the method's ApiKeyRequired: callers send x-api-key, metered by plan

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        return re.compile(regex)


@dataclass
class Assembly:
    stack_name: str
    template: dict[str, Any]
    asset_dirs: dict[str, Path] = field(default_factory=dict)  # S3 object key -> asset directory

    @classmethod
    def load(cls, out_dir: Path, stack_name: str | None = None) -> Assembly:
        manifest = json.loads((out_dir / "manifest.json").read_text())
        stacks = [k for k, v in manifest["artifacts"].items() if v["type"] == "aws:cloudformation:stack"]
        if stack_name is None:
            if len(stacks) != 1:
                raise ValueError(f"the assembly has stacks {stacks}: name one")
            stack_name = stacks[0]
        artifact = manifest["artifacts"][stack_name]
        template = json.loads((out_dir / artifact["properties"]["templateFile"]).read_text())
        assets = json.loads((out_dir / f"{stack_name}.assets.json").read_text())
        asset_dirs = {}
        for entry in assets.get("files", {}).values():
            for dest in entry["destinations"].values():
                asset_dirs[dest["objectKey"]] = out_dir / entry["source"]["path"]
        return cls(artifact.get("properties", {}).get("stackName", stack_name), template, asset_dirs)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template["Resources"]

    def of_type(self, type_name: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == type_name}

    def _asset_dir(self, code: dict[str, Any]) -> Path:
        key = code["S3Key"]
        if key not in self.asset_dirs:
            raise ValueError(f"asset {key} is not in the asset manifest")
        return self.asset_dirs[key]

    def functions(self) -> dict[str, FunctionSpec]:
        layers = {
            lid: self._asset_dir(res["Properties"]["Content"])
            for lid, res in self.of_type("AWS::Lambda::LayerVersion").items()
        }
        out = {}
        for lid, res in self.of_type("AWS::Lambda::Function").items():
            props = res["Properties"]
            code = props.get("Code", {})
            if "S3Key" not in code:
                continue  # inline code of CDK-internal helpers; not ours to run
            layer_refs = [ref["Ref"] for ref in props.get("Layers", []) if isinstance(ref, dict) and "Ref" in ref]
            out[lid] = FunctionSpec(
                logical_id=lid,
                handler=props["Handler"],
                code_dir=self._asset_dir(code),
                layer_dirs=tuple(layers[r] for r in layer_refs if r in layers),
                timeout=int(props.get("Timeout", 3)),
                memory=int(props.get("MemorySize", 128)),
            )
        return out

    def event_sources(self) -> list[EventSourceSpec]:
        out = []
        for lid, res in self.of_type("AWS::Lambda::EventSourceMapping").items():
            props = res["Properties"]
            arn = props["EventSourceArn"]
            if not (isinstance(arn, dict) and "Fn::GetAtt" in arn):
                continue
            queue_id = arn["Fn::GetAtt"][0]
            if self.resources.get(queue_id, {}).get("Type") != "AWS::SQS::Queue":
                continue
            out.append(
                EventSourceSpec(
                    logical_id=lid,
                    queue_logical_id=queue_id,
                    function_logical_id=props["FunctionName"]["Ref"],
                    batch_size=int(props.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                    enabled=bool(props.get("Enabled", True)),
                    maximum_concurrency=props.get("ScalingConfig", {}).get("MaximumConcurrency"),
                )
            )
        return out

    def routes(self) -> list[RouteSpec]:
        resources = self.of_type("AWS::ApiGateway::Resource")

        def path_of(ref: Any) -> str:
            if isinstance(ref, dict) and "Ref" in ref and ref["Ref"] in resources:
                props = resources[ref["Ref"]]["Properties"]
                return path_of(props["ParentId"]).rstrip("/") + "/" + props["PathPart"]
            return "/"  # Fn::GetAtt [RestApi, RootResourceId]

        out = []
        for res in self.of_type("AWS::ApiGateway::Method").values():
            props = res["Properties"]
            integration = props.get("Integration", {})
            if integration.get("Type") != "AWS_PROXY":
                continue
            function_id = _find_getatt(integration.get("Uri"), set(self.of_type("AWS::Lambda::Function")))
            if function_id:
                out.append(RouteSpec(props["HttpMethod"], path_of(props["ResourceId"]), function_id,
                                     bool(props.get("ApiKeyRequired", False))))
        return out

    def gateway_responses(self) -> dict[str, GatewayResponseSpec]:
        """Response type (THROTTLED, QUOTA_EXCEEDED, INVALID_API_KEY, ...) -> how the API answers it."""
        out = {}
        for res in self.of_type("AWS::ApiGateway::GatewayResponse").values():
            props = res["Properties"]
            headers = {k.removeprefix("gatewayresponse.header."): v.strip("'")
                       for k, v in (props.get("ResponseParameters") or {}).items()}
            templates = props.get("ResponseTemplates") or {}
            out[props["ResponseType"]] = GatewayResponseSpec(
                int(props.get("StatusCode", 500)), headers, templates.get("application/json", ""))
        return out


@dataclass(frozen=True)
class GatewayResponseSpec:
    status: int
    headers: dict[str, str]  # static values (API Gateway maps only quoted literals and request values)
    template: str  # the body; ``$context.requestId`` is filled in

    def render(self, request_id: str) -> tuple[int, dict[str, str], bytes]:
        return self.status, dict(self.headers), self.template.replace("$context.requestId", request_id).encode()


def _find_getatt(node: Any, candidates: set[str]) -> str | None:
    if isinstance(node, dict):
        att = node.get("Fn::GetAtt")
        if isinstance(att, list) and att and att[0] in candidates:
            return att[0]
        for value in node.values():
            found = _find_getatt(value, candidates)
            if found:
                return found
    elif isinstance(node, list):
        for value in node:
            found = _find_getatt(value, candidates)
            if found:
                return found
    return None
