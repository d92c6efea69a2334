from __future__ import annotations

from policy.policies.fluentbit import outputs, s3_outputs

YAML = """\
pipeline:
  outputs:
    - Name: S3
      Match: audit.*
      bucket: archive
    - name: stdout
      match: '*'
"""

CLASSIC = """\
[SERVICE]
    Flush 1
# [OUTPUT] in a comment is not a section
[OUTPUT]
    Name   s3
    Match  audit.*
    bucket archive
[OUTPUT]
    Name stdout
"""


def test_yaml_outputs_with_case_insensitive_keys() -> None:
    assert outputs(YAML) == [
        {"name": "S3", "match": "audit.*", "bucket": "archive"},
        {"name": "stdout", "match": "*"},
    ]


def test_classic_outputs() -> None:
    assert outputs(CLASSIC) == [
        {"name": "s3", "match": "audit.*", "bucket": "archive"},
        {"name": "stdout"},
    ]


def test_s3_outputs_of_every_file_of_a_configmap() -> None:
    data = {"a.yaml": YAML, "b.conf": CLASSIC, "parsers.yaml": "parsers: []\n"}
    assert [o["bucket"] for o in s3_outputs(data)] == ["archive", "archive"]


def test_text_that_is_not_a_config_has_no_outputs() -> None:
    assert outputs("just: a map\n") == []
    assert outputs(None) == []
    assert s3_outputs("not a dict") == []
