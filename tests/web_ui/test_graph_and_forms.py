"""The task graph's SVG and the lifecycle forms' parsing, on plain data."""

import re

from web_ui.graph import task_graph
from web_ui.work_forms import milestones, moment


def _task(task_id, deps=(), **extra):
    return {"id": task_id, "title": f"<b>{task_id}</b>", "depends_on": list(deps), "deadline": 100,
            "state": "open", **extra}


def test_the_critical_path_is_heavy_and_at_risk_tasks_are_marked():
    view = {"tasks": [_task("a"), _task("b", ["a"], at_risk=True), _task("c", ["a"]), _task("d", ["b", "c"])],
            "critical_path": ["a", "b", "d"]}
    svg = str(task_graph(view))
    assert re.search(r'class="task critical"[^>]*data-task="a"', svg)
    assert re.search(r'class="task critical at-risk"[^>]*data-task="b"', svg)
    assert re.search(r'class="task"[^>]*data-task="c"', svg)
    assert svg.count('class="edge critical"') == 2  # a->b and b->d; a->c and c->d are not
    assert svg.count('class="edge"') == 2
    assert "<b>" not in svg and "&lt;b&gt;" in svg  # titles are escaped


def test_a_dependency_cycle_still_draws():
    svg = str(task_graph({"tasks": [_task("a", ["b"]), _task("b", ["a"])], "critical_path": []}))
    assert svg.count("<rect") == 2


def test_times_are_read_in_the_browsers_zone_or_relative():
    now = 1_800_000_000
    errors = {}
    # 12:00 in UTC+1 (getTimezoneOffset() is -60 there) is 11:00 UTC
    assert moment({"t": "2027-01-01T12:00", "tz": "-60"}, "t", now, errors) == 1798804800 - 3600
    assert moment({"t": "2027-01-01T12:00"}, "t", now, errors) == 1798804800
    assert moment({"t": "+7d"}, "t", now, errors) == now + 7 * 86400
    assert not errors
    assert moment({"t": "next tuesday"}, "t", now, errors) is None and "is not a date" in errors["t"]
    assert moment({}, "u", now, errors) is None and errors["u"]


def test_milestone_rows_skip_blanks_and_need_one():
    errors = {}
    rows = milestones({"m1_key": "all", "m1_title": "All", "m1_amount": "10.00", "m1_due": "+1d"}, "eur", 0, errors)
    assert rows == [{"key": "all", "title": "All", "amount": {"amount": "10.00", "currency": "EUR"}, "due": 86400}]
    assert milestones({}, "EUR", 0, errors) == [] and "at least one milestone" in errors["milestones"]
