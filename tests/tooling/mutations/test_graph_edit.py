from __future__ import annotations

import json

import pytest

from tests.policy import compliant as c
from tooling.mutations.graph_edit import EditError, GraphEdit


def test_edits_change_a_copy_and_reach_inputs_and_outputs() -> None:
    graph = c.graph()
    [daemonset] = [r for r in graph.resources if r.name == "fluent-bit"]
    daemonset.outputs["metadata"] = {"name": "fluent-bit", "namespace": "audit-logging"}
    edit = GraphEdit(graph)
    copy = edit.find(c.DAEMONSET_T, "fluent-bit")
    edit.set(copy, ("metadata", "namespace"), "default")
    assert copy.inputs["metadata"]["namespace"] == "default"
    assert copy.outputs["metadata"]["namespace"] == "default"
    assert daemonset.inputs["metadata"]["namespace"] == "audit-logging"
    assert daemonset.outputs["metadata"]["namespace"] == "audit-logging"


def test_documents_are_edited_as_data_and_resources_removed() -> None:
    edit = GraphEdit(c.graph())
    policy = edit.find(c.BUCKET_POLICY_T)
    edit.edit_document(policy, "policy", lambda d: d["Statement"].pop())
    assert len(json.loads(policy.inputs["policy"])["Statement"]) == 1
    edit.remove(edit.find(c.LOCK_T))
    assert all(r.type != c.LOCK_T for r in edit.result().resources)
    assert any(r.type == c.LOCK_T for r in c.graph().resources)


def test_a_mutation_that_does_not_fit_its_graph_says_so() -> None:
    edit = GraphEdit(c.graph())
    with pytest.raises(EditError, match="expected one"):
        edit.find("aws:s3/bucket:Bucket", "no-such-bucket")
    with pytest.raises(EditError, match="no item 5"):
        edit.set(edit.find(c.DEPLOYMENT_T), ("spec", "template", "spec", "containers", 5, "x"), 1)
