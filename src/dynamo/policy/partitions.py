"""Partition definitions (original-dynamo §2) and the partition compiler the model uses.

::

    file      := (blank | comment | definition)*
    definition:= NAME ':' (condition | '[' NAME (',' NAME)* ']')

A condition is evaluated on block replicas with the replica variables; producer attributes
(locks, popularity) are not available to partitions. A superpartition lists partitions defined
on earlier lines.
"""

from __future__ import annotations

from collections.abc import Callable

from dynamo.model import BlockReplica, ChangeSet, UpsertPartition
from dynamo.model.partitioning import PartitionCompiler, PartitionScope
from dynamo.policy.compiler import compile_condition, variables_of
from dynamo.policy.conditions import Context, parse_condition
from dynamo.policy.context import EvaluationContext, Frame
from dynamo.policy.errors import Diagnostic, PolicySyntaxError
from dynamo.policy.nodes import Condition, PartitionDef
from dynamo.policy.policyfile import significant_lines
from dynamo.policy.variables import REGISTRY, Scope

__all__ = ["load_partitions", "parse_partition_condition", "parse_partitions", "partition_compiler"]


def parse_partition_condition(
    source: str, *, start: int = 0, file: str = "<partition>", line: int = 1
) -> Condition:
    """Parse a partition condition; it may not read producer attributes."""
    condition = parse_condition(source, context=Context.REPLICA, start=start, file=file, line=line)
    for name in variables_of(condition):
        if REGISTRY[name].attribute is not None:
            col = source.find(name, start) + 1
            raise PolicySyntaxError(
                f"{name} comes from a producer and cannot define a partition",
                file=file,
                line=line,
                col=max(col, 1),
                source_line=source,
            )
    return condition


def parse_partitions(
    text: str, *, file: str = "<string>", diagnostics: list[Diagnostic] | None = None
) -> tuple[PartitionDef, ...]:
    """Parse a partitions file, in file order (PolicySyntaxError at the first error)."""
    definitions: dict[str, PartitionDef] = {}
    for number, source in significant_lines(text):
        colon = source.find(":")
        name = source[:colon].strip() if colon > 0 else ""
        if not name:
            raise PolicySyntaxError(
                "expected `Name: condition` or `Name: [A, B]`",
                file=file,
                line=number,
                col=len(source) - len(source.lstrip()) + 1,
                source_line=source,
                expected=("NAME ':'",),
            )
        if name in definitions:
            raise PolicySyntaxError(
                f"partition {name!r} is defined twice",
                file=file,
                line=number,
                col=1,
                source_line=source,
            )
        body_start = colon + 1 + len(source[colon + 1 :]) - len(source[colon + 1 :].lstrip())
        body = source[body_start:].rstrip()
        if body.startswith("["):
            definition = _superpartition(name, source, body_start, body, definitions, file, number)
        elif not body:
            raise PolicySyntaxError(
                f"partition {name!r} needs a condition or a list",
                file=file,
                line=number,
                col=len(source) + 1,
                source_line=source,
                expected=("a condition", "'['"),
            )
        else:
            condition = parse_partition_condition(source, start=body_start, file=file, line=number)
            definition = PartitionDef(name, condition, (), number)
        definitions[name] = definition
    return tuple(definitions.values())


def _superpartition(
    name: str,
    source: str,
    start: int,
    body: str,
    known: dict[str, PartitionDef],
    file: str,
    number: int,
) -> PartitionDef:
    if not body.endswith("]"):
        raise PolicySyntaxError(
            "unclosed '[': the list needs a closing ']'",
            file=file,
            line=number,
            col=start + 1,
            source_line=source,
            expected=("']'",),
        )
    members = []
    offset = start + 1
    for part in body[1:-1].split(","):
        member = part.strip()
        col = offset + len(part) - len(part.lstrip()) + 1
        offset += len(part) + 1
        if member not in known:
            raise PolicySyntaxError(
                f"unknown partition {member!r} in a superpartition (define it on an earlier line)",
                file=file,
                line=number,
                col=col,
                source_line=source,
                expected=tuple(known),
            )
        members.append(member)
    return PartitionDef(name, None, tuple(members), number)


def load_partitions(text: str, *, file: str = "<string>") -> ChangeSet:
    """The partitions file as ``UpsertPartition`` operations in file order."""
    return ChangeSet.of(
        UpsertPartition(
            name=d.name,
            condition=None if d.condition is None else _condition_text(text, d),
            subpartitions=d.subpartitions,
        )
        for d in parse_partitions(text, file=file)
    )


def _condition_text(text: str, definition: PartitionDef) -> str:
    source = text.split("\n")[definition.line - 1]
    return source[source.find(":") + 1 :].strip()


def partition_compiler(*, now: int = 0) -> PartitionCompiler:
    """The compiler ``Inventory(partition_compiler=...)`` takes: text -> (predicate, scope).

    The scope says what the condition reads, so the inventory can cache membership: only
    variables that cannot change without the inventory reclassifying (dataset name, status and
    release; site name, status and type; the owner) count as dataset, site or owner reads;
    any other variable makes the condition read the block replica itself.
    Raises PolicySyntaxError.
    """

    def compile_text(text: str) -> tuple[Callable[[BlockReplica], bool], PartitionScope]:
        condition = parse_partition_condition(text)
        pred = compile_condition(condition, now)
        scope = scope_of(condition)
        ctx = EvaluationContext(now=now)
        is_static = not scope & PartitionScope.BLOCK_REPLICA

        def predicate(replica: BlockReplica) -> bool:
            if not is_static:
                ctx.new_pass()
            return pred(Frame.of_block_replica(ctx, replica), replica)

        return predicate, scope

    return compile_text


def scope_of(condition: Condition) -> PartitionScope:
    """What a partition condition reads, in the model's terms."""
    scope = PartitionScope.CONSTANT
    for name in variables_of(condition):
        variable = REGISTRY[name]
        if not variable.static:
            scope |= PartitionScope.BLOCK_REPLICA
        elif name == "blockreplica.owner":
            scope |= PartitionScope.OWNER
        elif variable.scope is Scope.SITE:
            scope |= PartitionScope.SITE
        else:
            scope |= PartitionScope.DATASET
    return scope
