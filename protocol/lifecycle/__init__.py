"""The work lifecycle: which objects a lifecycle object needs, what is refused, and the folds.

- `refs`: the references of each lifecycle type (`required_ids`, `parent`,
  `root_category`): what must be held before an object can be judged.
- `check`: the static refusals ("invalid whatever else may arrive later"),
  dispatching to the per-type checkers of `projects` and `contracts`.
- `projects`, `contracts`, `reputation`: the folds (state, never refusal).

Sans-I/O like the rest of `protocol/`: the clock is a parameter.
"""
