"""Random molecule-like graphs with binary labels read off their structure, for ogbg_small.

A molecule is a tree of blocks joined by single bonds: rings of 3 to 7 atoms (six-rings often
aromatic) and chain atoms, some of them terminal (halogens, carbonyl oxygens, nitriles).
Since blocks are joined only by bridges, the rings built are exactly the molecule's cycles.
Atoms and bonds carry OGB's feature columns (spec §6.1: 9 per atom, 3 per bond), as integer
codes: atom (element, chirality, degree, formal charge, hydrogens, radicals, hybridisation,
aromatic, in ring), bond (type, stereo, conjugated).

Each task is one structural fact (a ring of size k, an element of a given degree, a bond
between given elements, a count over the molecule, ...); a random share of each task's labels
is missing (NaN), and a few labels are flipped, as assay results are noisy.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import random

import numpy as np

from workloads.ogbg import graphs as graphs_lib

C, N, O, F, S, CL = 5, 6, 7, 8, 15, 16  # OGB's element codes (atomic number - 1)
SINGLE, DOUBLE, TRIPLE, AROMATIC = 0, 1, 2, 3
_VALENCE = {C: 4, N: 3, O: 2, F: 1, S: 2, CL: 1}
_RING_SIZES, _RING_P = (3, 4, 5, 6, 7), (0.06, 0.06, 0.3, 0.48, 0.1)
_CHAIN_ELEMENTS, _CHAIN_P = (C, N, O, S), (0.7, 0.14, 0.12, 0.04)
_TERMINALS = ('halogen', 'carbonyl', 'nitrile', 'hydroxyl')
_TERMINAL_P = (0.3, 0.35, 0.1, 0.25)
_RING_CUMULATIVE, _CHAIN_CUMULATIVE, _TERMINAL_CUMULATIVE = (
    list(itertools.accumulate(p)) for p in (_RING_P, _CHAIN_P, _TERMINAL_P))
NEUTRAL_CHARGE = 5  # OGB's code for a formal charge of 0

TASKS = (
    'ring_3', 'ring_4', 'ring_5', 'ring_6', 'ring_7', 'two_rings', 'aromatic_ring',
    'carbonyl', 'triple_bond', 'halogen_on_aromatic', 'n_x_n', 'four_heteroatoms',
    'substituted_ring_heteroatom', 'chain_ether', 'quaternary_carbon', 'charged_atom',
    'bonded_rings', 'branched_chain_atom', 'twenty_atoms', 's_next_to_o',
)


_BOND_ORDER = np.array([1.0, 2.0, 3.0, 1.5])  # by bond type; aromatic bonds count 1.5
_VALENCE_BY_CODE = np.zeros(max(_VALENCE) + 1)
_VALENCE_BY_CODE[list(_VALENCE)] = list(_VALENCE.values())


def _pick(r: random.Random, values, cumulative) -> int:
  return values[bisect.bisect(cumulative, r.random() * cumulative[-1])]


class _Molecules:
  """Atoms and bonds of many molecules, built one block at a time (global atom indices)."""

  def __init__(self, r: random.Random):
    self.r = r
    self.element, self.ring, self.aromatic, self.graph = [], [], [], []
    self.bond_a, self.bond_b, self.bond_kind = [], [], []
    self.ring_size, self.ring_graph = [], []
    self.current_graph = 0
    self.free: dict[int, float] = {}  # free valence of the current molecule's atoms

  def atom(self, element: int, ring: int = -1, aromatic: bool = False) -> int:
    index = len(self.element)
    self.element.append(element)
    self.ring.append(ring)
    self.aromatic.append(aromatic)
    self.graph.append(self.current_graph)
    self.free[index] = float(_VALENCE[element])
    return index

  def bond(self, a: int, b: int, kind: int = SINGLE) -> None:
    self.bond_a.append(a)
    self.bond_b.append(b)
    self.bond_kind.append(kind)
    self.free[a] -= _BOND_ORDER[kind]
    self.free[b] -= _BOND_ORDER[kind]

  def ring_block(self) -> int:
    """A ring (six-rings aromatic with probability 0.6); returns one of its atoms."""
    r = self.r
    size = _pick(r, _RING_SIZES, _RING_CUMULATIVE)
    aromatic = size == 6 and r.random() < 0.6
    ring_id = len(self.ring_size)
    self.ring_size.append(size)
    self.ring_graph.append(self.current_graph)
    first = len(self.element)
    for _ in range(size):
      u = r.random()
      self.atom(N if u < 0.12 else S if (not aromatic and u > 0.96) else C, ring_id, aromatic)
    for i in range(size):
      self.bond(first + i, first + (i + 1) % size, AROMATIC if aromatic else SINGLE)
    return first + r.randrange(size)

  def terminal(self, anchor: int) -> None:
    """A halogen, carbonyl O, nitrile N or hydroxyl O on `anchor`."""
    kind, free = _pick(self.r, _TERMINALS, _TERMINAL_CUMULATIVE), self.free[anchor]
    if kind == 'carbonyl' and free >= 2 and self.ring[anchor] < 0:
      self.bond(anchor, self.atom(O), DOUBLE)
    elif kind == 'nitrile' and free >= 3 and self.element[anchor] == C:
      self.bond(anchor, self.atom(N), TRIPLE)
    elif kind == 'halogen':
      self.bond(anchor, self.atom(F if self.r.random() < 0.5 else CL))
    else:
      self.bond(anchor, self.atom(O))

  def molecule(self, graph: int, num_atoms: int) -> None:
    """Blocks bonded to random atoms with free valence, until `num_atoms` or none is free."""
    r, first = self.r, len(self.element)
    self.current_graph, self.free = graph, {}
    if r.random() < 0.5:
      self.ring_block()
    else:
      self.atom(C)
    while len(self.element) - first < num_atoms:
      candidates = [i for i, free in self.free.items() if free >= 1]
      if not candidates:
        break
      anchor, u = candidates[r.randrange(len(candidates))], r.random()
      if u < 0.25:
        self.terminal(anchor)
        continue
      new = (self.ring_block() if u < 0.5 else
             self.atom(_pick(r, _CHAIN_ELEMENTS, _CHAIN_CUMULATIVE)))
      self.bond(anchor, new)


def _atom_features(m: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
  """OGB's 9 atom columns; a few N get charge +1 and a few terminal single-bonded O charge -1
  (hydrogens follow)."""
  element, a, b, order = m['element'], m['bond_a'], m['bond_b'], _BOND_ORDER[m['bond_kind']]
  num_atoms = len(element)
  degree = np.bincount(a, minlength=num_atoms) + np.bincount(b, minlength=num_atoms)
  used = (np.bincount(a, order, minlength=num_atoms) + np.bincount(b, order, minlength=num_atoms))
  free = _VALENCE_BY_CODE[element] - used
  draw = rng.random(num_atoms)
  charge = np.where((element == N) & (free >= 1) & (draw < 0.15), 1, 0)
  charge = np.where((element == O) & (degree == 1) & (free == 1) & (draw < 0.1), -1, charge)
  hydrogens = np.clip(np.floor(free) + charge, 0, 4)
  highest = np.zeros(num_atoms)  # the highest bond order at each atom (aromatic: 2)
  order = np.where(m['bond_kind'] == AROMATIC, 2.0, order)
  np.maximum.at(highest, a, order)
  np.maximum.at(highest, b, order)
  hybridisation = np.where(highest == 3, 0, np.where(highest == 2, 1, 2))  # SP, SP2, SP3
  zeros = np.zeros(num_atoms)
  return np.stack([element, zeros, degree, NEUTRAL_CHARGE + charge, hydrogens, zeros,
                   hybridisation, m['aromatic'], m['ring'] >= 0], 1).astype(np.uint8)


def structural_labels(m: dict[str, np.ndarray], atoms: np.ndarray,
                      num_graphs: int) -> np.ndarray:
  """(num_graphs, len(TASKS)) 0/1: the facts of TASKS, in order, for every molecule."""
  element, degree = atoms[:, 0], atoms[:, 2]
  charged, aromatic = atoms[:, 3] != NEUTRAL_CHARGE, atoms[:, 7] == 1
  ring = m['ring']
  in_ring = ring >= 0
  a, b, kind, graph = m['bond_a'], m['bond_b'], m['bond_kind'], m['graph']
  bond_graph = graph[a]

  def any_atom(mask):
    return np.bincount(graph[mask], minlength=num_graphs) > 0

  def any_bond(mask):
    return np.bincount(bond_graph[mask], minlength=num_graphs) > 0

  def bonded(mask_a, mask_b):
    return (mask_a[a] & mask_b[b]) | (mask_a[b] & mask_b[a])

  def neighbours(mask):  # per atom, how many neighbours are in `mask`
    return (np.bincount(a, mask[b], minlength=len(element))
            + np.bincount(b, mask[a], minlength=len(element)))

  ring_sizes, ring_graph = m['ring_size'], m['ring_graph']
  rings_per_graph = np.bincount(ring_graph, minlength=num_graphs)
  across = ring[a] != ring[b]  # bonds between blocks (chain atoms are blocks of their own)
  outside_neighbours = (np.bincount(a[across], minlength=len(element))
                        + np.bincount(b[across], minlength=len(element)))
  atoms_per_graph = np.bincount(graph, minlength=num_graphs)
  facts = [np.bincount(ring_graph[ring_sizes == k], minlength=num_graphs) > 0
           for k in _RING_SIZES] + [
      rings_per_graph >= 2, any_atom(aromatic),
      any_bond(bonded(element == C, element == O) & (kind == DOUBLE)), any_bond(kind == TRIPLE),
      any_bond(bonded(np.isin(element, (F, CL)), aromatic)),
      any_atom(neighbours(element == N) >= 2),
      np.bincount(graph, element != C, minlength=num_graphs) >= 4,
      any_atom(in_ring & np.isin(element, (N, S)) & (outside_neighbours > 0)),
      any_atom((element == O) & ~in_ring & (degree == 2)),
      any_atom((element == C) & (degree == 4)), any_atom(charged),
      any_bond(in_ring[a] & in_ring[b] & (ring[a] != ring[b])),
      any_atom(~in_ring & (degree >= 3)), atoms_per_graph >= 20,
      any_bond(bonded(element == S, element == O)),
  ]
  return np.stack(facts, 1).astype(np.float32)


def make_molecules(seed: int, num_graphs: int, min_atoms: int = 6, max_atoms: int = 24,
                   missing_rates: np.ndarray | None = None,
                   flip_rate: float = 0.03) -> graphs_lib.GraphSet:
  """`num_graphs` molecules (bonds one way) with TASKS labels: a share `flip_rate` flipped,
  then each task's labels missing (NaN) at its rate in `missing_rates`."""
  built = _Molecules(random.Random(seed))
  for graph in range(num_graphs):
    built.molecule(graph, built.r.randint(min_atoms, max_atoms))
  m = {k: np.asarray(getattr(built, k)) for k in (
      'element', 'ring', 'aromatic', 'graph', 'bond_a', 'bond_b', 'bond_kind', 'ring_size',
      'ring_graph')}
  rng = np.random.default_rng(seed)
  atoms = _atom_features(m, rng)
  labels = structural_labels(m, atoms, num_graphs)
  labels = np.where(rng.random(labels.shape) < flip_rate, 1.0 - labels, labels)
  if missing_rates is not None:
    labels[rng.random(labels.shape) < missing_rates[None, :]] = np.nan
  n_node = np.bincount(m['graph'], minlength=num_graphs)
  first_atom = np.cumsum(n_node) - n_node
  bond_graph = m['graph'][m['bond_a']]
  return graphs_lib.GraphSet(
      node_features=atoms,
      edge_features=np.stack([m['bond_kind'], np.zeros_like(m['bond_kind']),
                              m['bond_kind'] != SINGLE], 1).astype(np.uint8),
      senders=(m['bond_a'] - first_atom[bond_graph]).astype(np.int32),
      receivers=(m['bond_b'] - first_atom[bond_graph]).astype(np.int32),
      n_node=n_node.astype(np.int32),
      n_edge=np.bincount(bond_graph, minlength=num_graphs).astype(np.int32),
      labels=labels.astype(np.float32))


def molpcba_like(seed: int, num_graphs: int, num_tasks: int = 128) -> graphs_lib.GraphSet:
  """Molecules of molpcba's size (14-38 atoms, 26 on average; bonds one way) with random
  labels, 60% missing: stand-ins for benchmarks and mock data."""
  graphs = make_molecules(seed, num_graphs, min_atoms=14, max_atoms=38)
  rng = np.random.default_rng(seed)
  labels = (rng.random((num_graphs, num_tasks)) < 0.05).astype(np.float32)
  labels[rng.random(labels.shape) < 0.6] = np.nan
  return dataclasses.replace(graphs, labels=labels)
