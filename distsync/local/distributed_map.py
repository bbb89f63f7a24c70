"""State machines with a Distributed Map, run locally by a chunked runner (moto 5.2.5 cannot run them).

moto's Step Functions interpreter has no ``ItemBatcher`` (its ASL grammar rejects the definition, so it
cannot even be created in the executing backend) and reads an S3 ``ItemReader`` object whole. For every state
machine of the synthesized stack whose definition has a Map state in ``DISTRIBUTED`` mode, this module:

- registers the definition in moto's executing Step Functions backend without moto's ASL validation, so
  ``StartExecution``, ``DescribeExecution``, ``ListExecutions`` and execution-name idempotency
  (``ExecutionAlreadyExists``) stay moto's own;
- replaces the start of its executions with :class:`ChunkedRunner`, which interprets the definition itself:
  ``Task`` (``arn:aws:states:::lambda:invoke`` or a function ARN; the Lambda runs in the local workers),
  ``Map`` (Distributed: S3 ``ItemReader`` for CSV/JSON streamed row by row, ``ItemSelector`` with
  ``$$.Map.Item.Index``/``Value``, ``ItemBatcher`` with ``MaxItemsPerBatch``/``MaxInputBytesPerBatch``/
  ``BatchInput``, ``MaxConcurrency``, ``ToleratedFailurePercentage``/``Count``; each batch runs the
  ``ItemProcessor`` states as a child), ``Choice``, ``Pass``, ``Succeed``, ``Fail``; with ``InputPath``,
  ``Parameters``, ``ResultSelector``, ``ResultPath``, ``OutputPath``, ``Retry`` and ``Catch``.

What the Lambda functions receive is what the Distributed Map would pass (``{"Items": [...], "BatchInput":
{...}}`` for a batch), so the same handler code runs here and on AWS. A definition using anything outside this
subset (intrinsic functions, JSONata, Parallel, ResultWriter...) is refused when the stack starts, by name.
Nothing here names a distsync resource: the state machines are found in the deployed template.
"""

from __future__ import annotations

import codecs
import copy
import csv
import datetime as dt
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

LOG = logging.getLogger(__name__)

Invoke = Callable[[str, Any], Any]

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
S3_GET_OBJECT = "arn:aws:states:::s3:getObject"
SUPPORTED_STATES = {"Task", "Map", "Choice", "Pass", "Succeed", "Fail"}
CSV_DELIMITERS = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}
MAX_BATCH_BYTES = 256 * 1024  # what a Distributed Map batch may hold at most
_UNSUPPORTED_FIELDS = {"ResultWriter", "Arguments", "Output", "Assign", "QueryLanguage", "Credentials"}
_INTRINSIC = re.compile(r"^States\.[A-Za-z]+\(")
_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


class StatesError(Exception):
    """A Step Functions error (name + cause), as Retry/Catch see it."""

    def __init__(self, error: str, cause: str = ""):
        super().__init__(f"{error}: {cause}")
        self.error, self.cause = error, cause


class _Failed(StatesError):
    """A Fail state: ends the execution, never caught."""


class UnsupportedDefinition(ValueError):
    pass


# ------------------------------------------------------------------------------------- definitions
def _states_of(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in definition.get("States", {}).items():
        yield name, state
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from _states_of(processor)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def has_distributed_map(definition: dict[str, Any]) -> bool:
    return any(
        s.get("Type") == "Map" and (s.get("ItemProcessor") or {}).get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED"
        for _, s in _states_of(definition)
    )


def _state_problems(name: str, state: dict[str, Any]) -> list[str]:
    problems = []
    kind = state.get("Type")
    if kind not in SUPPORTED_STATES:
        problems.append(f"{name}: state type {kind}")
    problems += [f"{name}: {field}" for field in sorted(_UNSUPPORTED_FIELDS & set(state))]
    resource = state.get("Resource", "")
    if kind == "Task" and resource != LAMBDA_INVOKE and ":lambda:" not in resource:
        problems.append(f"{name}: Task resource {resource} (only Lambda)")
    reader = state.get("ItemReader")
    if reader and reader.get("Resource") != S3_GET_OBJECT:
        problems.append(f"{name}: ItemReader {reader.get('Resource')} (only {S3_GET_OBJECT})")
    if reader and reader.get("ReaderConfig", {}).get("InputType", "JSON") not in {"CSV", "JSON"}:
        problems.append(f"{name}: ItemReader InputType {reader['ReaderConfig']['InputType']}")
    own = {k: v for k, v in state.items() if k not in {"ItemProcessor", "Iterator"}}
    if any(_INTRINSIC.match(text) for text in _strings(own)):
        problems.append(f"{name}: intrinsic functions (States.Format, ...)")
    return problems


def check_supported(definition: dict[str, Any]) -> None:
    """Refuse, by name, what this runner does not interpret (rather than run it differently from AWS)."""
    problems = [] if definition.get("QueryLanguage", "JSONPath") == "JSONPath" else ["QueryLanguage JSONata"]
    for name, state in _states_of(definition):
        problems += _state_problems(name, state)
    if problems:
        raise UnsupportedDefinition("the local chunked runner does not interpret: " + "; ".join(problems))


# ------------------------------------------------------------------------------------------ paths
def path_get(document: Any, path: str, context: dict[str, Any]) -> Any:
    """A reference path: ``$``, ``$.a.b[0]``, ``$$.Map.Item.Index``."""
    root, rest = (context, path[2:]) if path.startswith("$$") else (document, path[1:])
    if not path.startswith("$"):
        raise StatesError("States.Runtime", f"invalid path {path!r}")
    value = root
    position = 0
    while position < len(rest):
        match = _PATH_TOKEN.match(rest, position)
        if not match:
            raise StatesError("States.Runtime", f"the local runner supports only simple paths, not {path!r}")
        key, index = match.groups()
        try:
            value = value[key] if key is not None else value[int(index)]
        except (KeyError, IndexError, TypeError):
            raise StatesError("States.Runtime", f"The JSONPath '{path}' could not be found in the input") from None
        position = match.end()
    return value


def render(template: Any, document: Any, context: dict[str, Any]) -> Any:
    """Parameters / ResultSelector / ItemSelector / BatchInput: keys ending in ``.$`` take a path's value."""
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = copy.deepcopy(path_get(document, value, context))
            else:
                out[key] = render(value, document, context)
        return out
    if isinstance(template, list):
        return [render(v, document, context) for v in template]
    return template


def _select(document: Any, path: str | None, context: dict[str, Any]) -> Any:
    """InputPath / OutputPath: absent is ``$``, null is ``{}``."""
    if path is None:
        return {}
    return path_get(document, path, context)


def _place(raw: Any, path: str | None, result: Any) -> Any:
    """ResultPath: absent is ``$`` (the result replaces the input), null keeps the input."""
    if path is None:
        return raw
    if path == "$":
        return result
    tokens = [m.group(1) for m in _PATH_TOKEN.finditer(path[1:])]
    if not path.startswith("$.") or any(t is None for t in tokens):
        raise StatesError("States.Runtime", f"unsupported ResultPath {path!r}")
    out = copy.deepcopy(raw) if isinstance(raw, dict) else {}
    node = out
    for token in tokens[:-1]:
        node = node.setdefault(token, {})
    node[tokens[-1]] = result
    return out


def _matches(error: str, names: list[str]) -> bool:
    if error in names:
        return True
    if "States.ALL" in names and error not in {"States.Runtime", "States.DataLimitExceeded"}:
        return True
    return "States.TaskFailed" in names and error not in {"States.Timeout", "States.Runtime"}


def _choice(rule: dict[str, Any], document: Any, context: dict[str, Any]) -> bool:
    if "And" in rule:
        return all(_choice(r, document, context) for r in rule["And"])
    if "Or" in rule:
        return any(_choice(r, document, context) for r in rule["Or"])
    if "Not" in rule:
        return not _choice(rule["Not"], document, context)
    try:
        value = path_get(document, rule["Variable"], context)
    except StatesError:
        if "IsPresent" in rule:
            return rule["IsPresent"] is False
        raise
    for op, expected in rule.items():
        if op in {"Variable", "Next"}:
            continue
        if op.endswith("Path"):
            op, expected = op[:-4], path_get(document, expected, context)
        return _compare(op, value, expected)
    raise StatesError("States.Runtime", f"Choice rule without an operator: {rule}")


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "IsPresent": lambda value, expected: expected is True,
    "IsNull": lambda value, expected: (value is None) == expected,
    "StringEquals": lambda value, expected: isinstance(value, str) and value == expected,
    "BooleanEquals": lambda value, expected: isinstance(value, bool) and value == expected,
    "NumericEquals": lambda value, expected: _number(value) and value == expected,
    "NumericGreaterThan": lambda value, expected: _number(value) and value > expected,
    "NumericGreaterThanEquals": lambda value, expected: _number(value) and value >= expected,
    "NumericLessThan": lambda value, expected: _number(value) and value < expected,
    "NumericLessThanEquals": lambda value, expected: _number(value) and value <= expected,
}


def _compare(op: str, value: Any, expected: Any) -> bool:
    if op not in _COMPARISONS:
        raise StatesError("States.Runtime", f"the local runner does not support the Choice operator {op}")
    return bool(_COMPARISONS[op](value, expected))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------- readers
def _lines(body: Any, chunk_size: int = 64 * 1024) -> Iterator[str]:
    """The decoded lines of a streamed object, ends kept (the csv module joins quoted multi-line fields)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending = ""
    for chunk in iter(lambda: body.read(chunk_size), b""):
        pending += decoder.decode(chunk)
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line + "\n"
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


def read_items(s3: Any, reader: dict[str, Any], document: Any, context: dict[str, Any]) -> Iterator[Any]:
    """The ItemReader's items, streamed: CSV rows as ``{header: string}`` (a short row gets empty strings for
    its missing fields, a long row's extra fields are dropped, as Step Functions does), or a JSON array."""
    params = render(reader.get("Parameters", {}), document, context)
    config = reader.get("ReaderConfig", {})
    limit = config.get("MaxItems")
    obj = s3.get_object(**{k: v for k, v in params.items() if k in {"Bucket", "Key", "VersionId"}})
    body = obj["Body"]
    count = 0
    if config.get("InputType", "JSON") == "JSON":
        items = json.loads(body.read())
        if not isinstance(items, list):
            raise StatesError("States.ItemReaderFailed", "the JSON object is not an array")
        yield from items[:limit] if limit else items
        return
    rows = csv.reader(_lines(body), delimiter=CSV_DELIMITERS[config.get("CSVDelimiter", "COMMA")])
    if config.get("CSVHeaderLocation", "FIRST_ROW") == "GIVEN":
        header = list(config["CSVHeaders"])
    else:
        header = next(rows, None)
        if header is None:
            return
    for values in rows:
        if not values:  # a blank line
            continue
        if limit and count >= limit:
            return
        padded = values[: len(header)] + [""] * (len(header) - len(values))
        yield dict(zip(header, padded, strict=True))
        count += 1


def batches(
    selected: Iterator[Any], batcher: dict[str, Any] | None, batch_input: Any
) -> Iterator[Any]:
    """Items as the ItemProcessor gets them: one by one, or ``{"Items": [...], "BatchInput": {...}}``."""
    if batcher is None:
        yield from selected
        return
    max_items = int(batcher.get("MaxItemsPerBatch") or 0) or None
    max_bytes = int(batcher.get("MaxInputBytesPerBatch") or MAX_BATCH_BYTES)
    overhead = len(json.dumps({"Items": [], "BatchInput": batch_input}))
    batch: list[Any] = []
    size = overhead
    for item in selected:
        item_size = len(json.dumps(item)) + 1
        if batch and ((max_items and len(batch) >= max_items) or size + item_size > max_bytes):
            yield _batch(batch, batch_input)
            batch, size = [], overhead
        batch.append(item)
        size += item_size
    if batch:
        yield _batch(batch, batch_input)


def _batch(items: list[Any], batch_input: Any) -> dict[str, Any]:
    return {"Items": items, "BatchInput": batch_input} if batch_input is not None else {"Items": items}


# ------------------------------------------------------------------------------------ interpreter
class Machine:
    """One workflow (the state machine, or a Map's ItemProcessor) over the local Lambda workers."""

    def __init__(self, definition: dict[str, Any], runner: ChunkedRunner):
        self.definition, self.runner = definition, runner
        self.states: dict[str, dict[str, Any]] = definition["States"]

    def run(self, document: Any, context: dict[str, Any]) -> Any:
        name = self.definition["StartAt"]
        while True:
            state = self.states[name]
            context = {**context, "State": {"Name": name, "EnteredTime": _now()}}
            try:
                output, following = self._state(state, document, context)
            except _Failed:
                raise
            except StatesError as err:
                catcher = next((c for c in state.get("Catch", []) if _matches(err.error, c["ErrorEquals"])), None)
                if catcher is None:
                    raise
                LOG.info("%s: caught %s, next %s", name, err.error, catcher["Next"])
                document = _place(document, catcher.get("ResultPath", "$"), {"Error": err.error, "Cause": err.cause})
                name = catcher["Next"]
                continue
            if following is None:
                return output
            document, name = output, following

    def _state(self, state: dict[str, Any], raw: Any, context: dict[str, Any]) -> tuple[Any, str | None]:
        kind = state["Type"]
        following = None if state.get("End") else state.get("Next")
        if kind == "Fail":
            raise _Failed(state.get("Error", "States.Fail"), state.get("Cause", ""))
        effective = _select(raw, state.get("InputPath", "$"), context)
        if kind == "Succeed":
            return _select(effective, state.get("OutputPath", "$"), context), None
        if kind == "Choice":
            following = next((rule["Next"] for rule in state["Choices"] if _choice(rule, effective, context)),
                             state.get("Default"))
            if following is None:
                raise StatesError("States.NoChoiceMatched", "no Choice rule matched and there is no Default")
            return _select(effective, state.get("OutputPath", "$"), context), following
        if kind == "Pass":
            result = state["Result"] if "Result" in state else (
                render(state["Parameters"], effective, context) if "Parameters" in state else effective)
        else:
            if "Parameters" in state and kind == "Task":
                effective = render(state["Parameters"], effective, context)
            result = self._with_retry(state, lambda: self._task(state, effective) if kind == "Task"
                                      else self._map(state, effective, context))
            if "ResultSelector" in state:
                result = render(state["ResultSelector"], result, context)
        output = _place(raw, state.get("ResultPath", "$"), result)
        return _select(output, state.get("OutputPath", "$"), context), following

    def _with_retry(self, state: dict[str, Any], attempt: Callable[[], Any]) -> Any:
        tries: dict[int, int] = {}
        while True:
            try:
                return attempt()
            except StatesError as err:
                found = next(((i, r) for i, r in enumerate(state.get("Retry", [])) if _matches(err.error, r["ErrorEquals"])),
                             None)
                if found is None:
                    raise
                index, retrier = found
                done = tries.get(index, 0)
                if done >= retrier.get("MaxAttempts", 3):
                    raise
                tries[index] = done + 1
                delay = retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** done
                delay = min(delay, retrier.get("MaxDelaySeconds", delay), self.runner.max_retry_delay)
                LOG.info("retrying after %s (attempt %d, %.2fs)", err.error, done + 1, delay)
                time.sleep(delay)

    def _task(self, state: dict[str, Any], params: Any) -> Any:
        from .lambdas import InvokeError

        resource = state["Resource"]
        if resource == LAMBDA_INVOKE:
            function, payload = params["FunctionName"], params.get("Payload", {})
        else:
            function, payload = resource, params
        try:
            result = self.runner.invoke(function, payload)
        except InvokeError as exc:
            error = exc.error
            raise StatesError(error.get("errorType") or "States.TaskFailed", json.dumps(error)) from None
        if resource == LAMBDA_INVOKE:
            return {"ExecutedVersion": "$LATEST", "Payload": result, "StatusCode": 200}
        return result

    def _map(self, state: dict[str, Any], effective: Any, context: dict[str, Any]) -> list[Any]:
        if "ItemReader" in state:
            items = read_items(self.runner.s3, state["ItemReader"], effective, context)
        else:
            found = path_get(effective, state.get("ItemsPath", "$"), context)
            if not isinstance(found, list):
                raise StatesError("States.Runtime", "the Map's items are not an array")
            items = iter(found)
        selector = state.get("ItemSelector", state.get("Parameters"))

        def selected() -> Iterator[Any]:
            for index, value in enumerate(items):
                if selector is None:
                    yield value
                else:
                    yield render(selector, effective, {**context, "Map": {"Item": {"Index": index, "Value": value}}})

        batcher = state.get("ItemBatcher")
        batch_input = None
        if batcher and "BatchInput" in batcher:
            batch_input = render(batcher["BatchInput"], effective, context)
        processor = Machine(state.get("ItemProcessor") or state["Iterator"], self.runner)
        concurrency = max(1, min(int(state.get("MaxConcurrency") or 1000), self.runner.max_threads))
        return self._run_children(processor, batches(selected(), batcher, batch_input), concurrency, state, context)

    def _run_children(self, processor: Machine, children: Iterator[Any], concurrency: int, state: dict[str, Any],
                      context: dict[str, Any]) -> list[Any]:
        tolerated_percent = float(state.get("ToleratedFailurePercentage", 0))
        tolerated_count = state.get("ToleratedFailureCount")
        results: dict[int, Any] = {}
        failures: list[StatesError] = []
        started = 0
        child_context = {k: v for k, v in context.items() if k != "State"}

        def tolerated(total: int) -> bool:
            if not failures:
                return True
            if tolerated_count is not None and len(failures) <= int(tolerated_count):
                return True
            return total > 0 and 100.0 * len(failures) / total <= tolerated_percent and tolerated_percent > 0

        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="distributed-map") as pool:
            pending: dict[Future[Any], int] = {}
            for child in children:
                while len(pending) >= concurrency * 2:  # stream the reader: a bounded number of batches queued
                    self._collect(pending, results, failures, wait(pending, return_when=FIRST_COMPLETED).done)
                    if not tolerated(started):
                        break
                if not tolerated(started):
                    break
                pending[pool.submit(processor.run, child, child_context)] = started
                started += 1
            self._collect(pending, results, failures, wait(pending).done)
        if not tolerated(started):
            first = failures[0]
            raise StatesError("States.ExceedToleratedFailureThreshold",
                              f"{len(failures)} of {started} child executions failed; first: {first.error}: {first.cause}")
        return [results.get(i) for i in range(started)]

    @staticmethod
    def _collect(pending: dict[Future[Any], int], results: dict[int, Any], failures: list[StatesError],
                 done: set[Future[Any]]) -> None:
        for future in done:
            index = pending.pop(future)
            try:
                results[index] = future.result()
            except StatesError as err:
                failures.append(err)
            except Exception as exc:  # a bug in the runner or the worker pool: the child failed
                failures.append(StatesError("States.Runtime", repr(exc)))


# ----------------------------------------------------------------------------------------- runner
class ChunkedRunner:
    """Runs the executions of the stack's Distributed Map state machines (see the module docstring)."""

    def __init__(self, s3: Any, invoke: Invoke, *, max_threads: int = 4, max_retry_delay: float = 1.0):
        self.s3, self.invoke = s3, invoke
        self.max_threads, self.max_retry_delay = max_threads, max_retry_delay
        self.definitions: dict[str, dict[str, Any]] = {}
        self._active = 0
        self._lock = threading.Lock()
        self.executions: list[dict[str, Any]] = []  # arn, status, error (for /_local/info and tests)

    @property
    def busy(self) -> bool:
        return self._active > 0

    def install(self, arns: list[str], account_id: str, region: str) -> list[str]:
        """Take over the state machines among ``arns`` that have a Distributed Map; returns their ARNs."""
        from moto.stepfunctions.models import StepFunctionBackend, stepfunctions_backends
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        source = stepfunctions_backends[account_id][region]
        target = stepfunctions_parser_backends[account_id][region]
        taken = []
        for arn in arns:
            sm = source.describe_state_machine(arn)
            definition = json.loads(sm.definition)
            if not has_distributed_map(definition):
                continue
            check_supported(definition)
            if not any(existing.arn == arn for existing in target.state_machines):
                # the base backend's create: moto's ASL parser (no ItemBatcher) would refuse the definition
                StepFunctionBackend.create_state_machine(target, name=sm.name, definition=sm.definition,
                                                         roleArn=sm.roleArn)
            self.definitions[arn] = definition
            taken.append(arn)
        if taken:
            _route_executions(self)
        return taken

    def start(self, execution: Any) -> None:
        from moto.stepfunctions.parser.api import ExecutionStatus

        with self._lock:
            self._active += 1
        execution.exec_status = ExecutionStatus.RUNNING
        thread = threading.Thread(target=self._execute, args=(execution,), name=f"execution-{execution.name}",
                                  daemon=True)
        thread.start()

    def _execute(self, execution: Any) -> None:
        from moto.stepfunctions.parser.api import ExecutionStatus

        arn = execution.state_machine.arn
        record = {"executionArn": execution.exec_arn, "status": "RUNNING"}
        self.executions.append(record)
        context = {
            "Execution": {"Id": execution.exec_arn, "Name": execution.name, "Input": execution.input_data,
                          "StartTime": execution.start_date.isoformat().replace("+00:00", "Z"),
                          "RoleArn": execution.role_arn},
            "StateMachine": {"Id": arn, "Name": execution.state_machine.name},
        }
        started = time.monotonic()
        try:
            output = Machine(self.definitions[arn], self).run(copy.deepcopy(execution.input_data), context)
            execution.output = output
            execution.exec_status = ExecutionStatus.SUCCEEDED
        except StatesError as err:
            execution.error, execution.cause = err.error, err.cause
            execution.exec_status = ExecutionStatus.FAILED
        except Exception as exc:  # noqa: BLE001 - the execution fails, the runtime goes on
            LOG.exception("execution %s failed in the local runner", execution.exec_arn)
            execution.error, execution.cause = "States.Runtime", repr(exc)
            execution.exec_status = ExecutionStatus.FAILED
        finally:
            execution.stop_date = dt.datetime.now(dt.UTC)
            record.update(status=execution.exec_status.value, error=execution.error,
                          seconds=round(time.monotonic() - started, 2))
            LOG.info("execution %s: %s in %.1fs %s", execution.exec_arn, execution.exec_status.value,
                     time.monotonic() - started, execution.error or "")
            with self._lock:
                self._active -= 1


_RUNNERS: dict[str, ChunkedRunner] = {}


def _route_executions(runner: ChunkedRunner) -> None:
    """Executions of the runner's state machines start in the runner; every other one in moto's interpreter."""
    from moto.stepfunctions.parser.backend.execution import Execution

    for arn in runner.definitions:
        _RUNNERS[arn] = runner
    if getattr(Execution.start, "_distsync_chunked", False):
        return
    original = Execution.start

    def start(self: Any) -> None:
        taken_by = _RUNNERS.get(self.state_machine.arn)
        if taken_by is None:
            return original(self)
        return taken_by.start(self)

    start._distsync_chunked = True  # type: ignore[attr-defined]
    Execution.start = start
