"""The facts in one place, as data: workload targets, budgets and batch sizes per rules
version; search spaces."""
