"""`kinode publish` and `kinode status` through the real entry point: bad input is one line, one code, exit 2."""

import json

import pytest

from cli_support import as_json, assert_clean_failure, ok, run

PROFILE = {"type": "profile", "body": {"name": "Ada", "bio": "Copywriter", "skills": ["copy"]}}


@pytest.fixture
def node(tmp_path):
    ok(run("init", "--data-dir", str(tmp_path), "--no-passphrase"))
    return str(tmp_path)


@pytest.mark.parametrize("body, kind", [('"x"', "a string"), ("null", "null"), ("[1]", "an array"), ("7", "a number")])
def test_a_body_that_is_not_an_object_is_one_sentence_with_its_code(node, body, kind):
    result = run("publish", "--data-dir", node, "-", stdin=f'{{"type": "offer", "body": {body}}}')
    assert_clean_failure(result, "invalid_body")
    assert kind in result.stderr


def test_a_body_the_rules_refuse_names_the_protocol_code_once(node):
    result = run("publish", "--data-dir", node, "-", stdin='{"type": "offer", "body": {}}')
    assert_clean_failure(result, "invalid_body")  # not "[invalid_body] [bad_input]"
    assert "body.category" in result.stderr


@pytest.mark.parametrize("text, code", [
    ("not json", "malformed"),
    ("[]", "malformed"),
    ('{"type": 3, "body": {}}', "malformed"),
    ('{"type": "nope", "body": {}}', "unknown_type"),
    ('{"type": "profile", "body": {"name": "A"}, "extra": 1}', "malformed"),
])
def test_malformed_documents_are_refused_and_nothing_is_stored(node, tmp_path, text, code):
    assert_clean_failure(run("publish", "--data-dir", node, "-", stdin=text), code)
    assert not (tmp_path / "kinode.db").exists()


def test_a_missing_file_is_a_clean_error(node, tmp_path):
    assert_clean_failure(run("publish", "--data-dir", node, str(tmp_path / "absent.json")), "unreadable_file")


def test_a_key_rotation_by_hand_is_sent_to_rotate(node):
    document = {"type": "key_rotation", "body": {"successor": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"}}
    result = run("publish", "--data-dir", node, "-", stdin=json.dumps(document))
    assert_clean_failure(result, "bad_input")
    assert "kinode rotate" in result.stderr


def test_publish_prints_the_id_or_json(node, tmp_path):
    object_id = ok(run("publish", "--data-dir", node, "-", stdin=json.dumps(PROFILE))).strip()
    assert len(object_id) == 64
    path = tmp_path / "offer.json"
    path.write_text(json.dumps({"type": "profile", "body": {"name": "Ada B."}}))
    answer = as_json(run("publish", "--data-dir", node, str(path), "--json"))
    assert answer["status"] == "accepted" and answer["type"] == "profile" and len(answer["id"]) == 64


def test_status_is_for_people_by_default_and_json_on_request(node):
    ok(run("publish", "--data-dir", node, "-", stdin=json.dumps(PROFILE)))
    human = ok(run("status", "--data-dir", node))
    with pytest.raises(ValueError):
        json.loads(human)
    assert "objects     1 (1 profile)" in human
    assert "1 not yet assigned to a hub" in human
    report = as_json(run("status", "--data-dir", node, "--json"))
    assert report["objects_total"] == 1 and report["objects"] == {"profile": 1}
    assert report["destinations"][0]["waiting"] == 1


def test_status_of_a_directory_without_a_node(tmp_path):
    assert_clean_failure(run("status", "--data-dir", str(tmp_path)), "no_database")
    assert not (tmp_path / "kinode.db").exists()


def test_an_unknown_flag_is_a_usage_error(node):
    result = run("status", "--data-dir", node, "--no-such-flag")
    assert result.returncode == 2 and "unrecognized arguments: --no-such-flag" in result.stderr
    assert "Traceback" not in result.stderr
