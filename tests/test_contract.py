"""docs/contract.md and expect.schema.json describe the same document: every field the schema
lists for a document, a task and an event is named in the contract's field lists, and every
field named there is in the schema."""

import json
import os
import re

import ioworkload

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _schema() -> dict:
    path = os.path.join(os.path.dirname(ioworkload.__file__), "core", "expect.schema.json")
    with open(path) as f:
        return json.load(f)


def _named(kind: str) -> set[str]:
    """The `field` names of one paragraph of the contract (`Document fields: ...`)."""
    with open(os.path.join(ROOT, "docs", "contract.md")) as f:
        text = f.read()
    m = re.search(rf"^{kind} fields: (.*?)(?:\n\n|\Z)", text, re.S | re.M)
    assert m, f"docs/contract.md has no '{kind} fields:' paragraph"
    # a field is a backticked name outside parentheses (values and examples are inside)
    depth, outside = 0, []
    for ch in m[1]:
        depth += ch == "("
        outside.append(ch if depth == 0 else " ")
        depth -= ch == ")"
    return set(re.findall(r"`([a-z_]+)`", "".join(outside)))


def test_contract_and_schema_name_the_same_fields():
    schema = _schema()
    pairs = {"Document": schema["properties"],
             "Task": schema["properties"]["tasks"]["items"]["properties"],
             "Event": schema["properties"]["events"]["items"]["properties"]}
    for kind, props in pairs.items():
        named = _named(kind)
        assert named == set(props), (kind, "schema only:", set(props) - named,
                                     "contract only:", named - set(props))


def test_args_list_is_args_in_the_kernels_order():
    doc = ioworkload.describe("open_basic")  # noqa: F841 (the manifest loads)
    from ioworkload.core import expect
    built = expect.build(ioworkload.scenarios()["open_basic"], pid=7, tids=[7], dirs=["/d"],
                         iterations=2, own_process=True, root="/d")
    for e in built["events"]:
        if e["args"] is None:
            assert e["args_list"] is None
        else:
            assert e["args_list"] == [e["args"][n] for n in expect.kernel_arg_names(e["syscall"])]
