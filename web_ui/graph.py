"""The task graph of a project as server-rendered SVG: dependencies left to right,
the critical path drawn heavy, at-risk tasks tinted, accepted tasks green.

Input is the project view's JSON (`project_view(...).as_dict()`), so the
drawing shows exactly the state the fold computed; nothing is recomputed here.
"""

from typing import Any

from markupsafe import Markup, escape

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 190, 56, 50, 22, 12


def _depths(tasks: dict[str, dict[str, Any]]) -> dict[str, int]:
    depth: dict[str, int] = {}

    def of(task_id: str, seen: frozenset = frozenset()) -> int:
        if task_id in depth:
            return depth[task_id]
        if task_id in seen:  # a cycle cannot be signed, but the drawing must not loop either
            return 0
        deps = [d for d in tasks[task_id].get("depends_on", []) if d in tasks]
        depth[task_id] = 1 + max((of(d, seen | {task_id}) for d in deps), default=-1)
        return depth[task_id]

    for task_id in sorted(tasks):
        of(task_id)
    return depth


def _short(title: str, limit: int = 26) -> str:
    return title if len(title) <= limit else title[:limit - 1] + "…"


def task_graph(view: dict[str, Any]) -> Markup:
    tasks = {t["id"]: t for t in view.get("tasks", [])}
    if not tasks:
        return Markup("")
    depth = _depths(tasks)
    columns: dict[int, list[str]] = {}
    for task_id in sorted(tasks, key=lambda i: (tasks[i].get("deadline", 0), i)):
        columns.setdefault(depth[task_id], []).append(task_id)
    where = {}
    for column, ids in columns.items():
        for row, task_id in enumerate(ids):
            where[task_id] = (PAD + column * (BOX_W + GAP_X), PAD + row * (BOX_H + GAP_Y))
    width = PAD * 2 + (max(columns) + 1) * (BOX_W + GAP_X) - GAP_X
    height = PAD * 2 + max(len(ids) for ids in columns.values()) * (BOX_H + GAP_Y) - GAP_Y
    critical = view.get("critical_path", [])
    critical_edges = set(zip(critical, critical[1:]))
    parts = [f'<svg class="graph" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-labelledby="graph-title" xmlns="http://www.w3.org/2000/svg">',
             '<title id="graph-title">Task dependencies; the critical path is drawn heavy, '
             'tasks at risk are tinted red</title>']
    for task_id, task in tasks.items():
        x2, y2 = where[task_id]
        for dep in task.get("depends_on", []):
            if dep not in where:
                continue
            x1, y1 = where[dep]
            kind = "edge critical" if (dep, task_id) in critical_edges else "edge"
            parts.append(f'<path class="{kind}" d="M{x1 + BOX_W},{y1 + BOX_H // 2} C{x1 + BOX_W + GAP_X // 2},'
                         f'{y1 + BOX_H // 2} {x2 - GAP_X // 2},{y2 + BOX_H // 2} {x2},{y2 + BOX_H // 2}"/>')
    for task_id, task in tasks.items():
        x, y = where[task_id]
        classes = ["task"]
        if task_id in critical:
            classes.append("critical")
        if task.get("at_risk") or task.get("overdue"):
            classes.append("at-risk")
        if task.get("state") == "accepted":
            classes.append("done")
        state = task.get("state", "")
        flag = " · overdue" if task.get("overdue") else " · at risk" if task.get("at_risk") else ""
        parts.append(f'<a href="#task-{escape(task_id)}"><g class="{" ".join(classes)}" data-task="{escape(task_id)}">'
                     f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6"/>'
                     f'<text x="{x + 8}" y="{y + 22}">{escape(_short(task.get("title", task_id)))}</text>'
                     f'<text x="{x + 8}" y="{y + 42}">{escape(state + flag)}</text></g></a>')
    parts.append("</svg>")
    return Markup("".join(parts))
