"""The policy language: Detox policies, partition definitions, enforcer and dealer conditions.

Parse text into a frozen tree (:func:`parse_policy`, :func:`parse_condition`,
:func:`parse_partitions`), compile it against ``now`` into closures (:func:`compile_policy`,
:func:`compile_condition`, :func:`partition_compiler`) and evaluate on the model with the
attributes producers filled (:class:`EvaluationContext`). Errors are :class:`PolicySyntaxError`
with ``FILE:LINE:COL``; accepted old forms come back as :class:`Diagnostic` warnings.
The package does no I/O and reads no clock.
"""

from dynamo.policy.attributes import AttributeProducer, Attributes, StaticProducer
from dynamo.policy.checking import FileKind, check_text, detect_kind
from dynamo.policy.compiler import Pred, compile_condition
from dynamo.policy.conditions import Context, parse_condition
from dynamo.policy.context import EvaluationContext, Frame
from dynamo.policy.enforcer import (
    EnforcerRule,
    EnforcerRules,
    SiteCondition,
    compile_target_sites,
    parse_enforcer_rules,
    parse_site_conditions,
)
from dynamo.policy.errors import Diagnostic, PolicyError, PolicySyntaxError, UnknownVariableError
from dynamo.policy.evaluation import CompiledPolicy, Decision, compile_policy
from dynamo.policy.explain import Explanation, explain
from dynamo.policy.formatting import format_condition, format_policy
from dynamo.policy.interpreter import interpret
from dynamo.policy.lint import lint_policy
from dynamo.policy.nodes import (
    Action,
    And,
    Condition,
    DetoxPolicy,
    Not,
    Or,
    OrderKey,
    PartitionDef,
    PolicyLine,
    Predicate,
    Value,
    ValueKind,
)
from dynamo.policy.partitions import load_partitions, parse_partitions, partition_compiler
from dynamo.policy.policyfile import parse_policy
from dynamo.policy.variables import REGISTRY, Scope, Variable, VarType

__all__ = [
    "REGISTRY",
    "Action",
    "And",
    "AttributeProducer",
    "Attributes",
    "CompiledPolicy",
    "Condition",
    "Context",
    "Decision",
    "DetoxPolicy",
    "Diagnostic",
    "EnforcerRule",
    "EnforcerRules",
    "EvaluationContext",
    "Explanation",
    "FileKind",
    "Frame",
    "Not",
    "Or",
    "OrderKey",
    "PartitionDef",
    "PolicyError",
    "PolicyLine",
    "PolicySyntaxError",
    "Pred",
    "Predicate",
    "Scope",
    "SiteCondition",
    "StaticProducer",
    "UnknownVariableError",
    "Value",
    "ValueKind",
    "VarType",
    "Variable",
    "check_text",
    "compile_condition",
    "compile_policy",
    "compile_target_sites",
    "detect_kind",
    "explain",
    "format_condition",
    "format_policy",
    "interpret",
    "lint_policy",
    "load_partitions",
    "parse_condition",
    "parse_enforcer_rules",
    "parse_partitions",
    "parse_policy",
    "parse_site_conditions",
    "partition_compiler",
]
