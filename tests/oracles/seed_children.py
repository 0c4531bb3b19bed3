"""Child seeds of bayesrg_core::rng::Seed, computed from the definition.

Run: python3 tests/oracles/seed_children.py
Prints the value used in core/src/rng.rs (test `children_are_distinct_and_stable`).
"""
M = (1 << 64) - 1


def splitmix64(x):
    z = (x + 0x9E3779B97F4A7C15) & M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


def fnv1a(label):
    h = 0xCBF29CE484222325
    for b in label.encode():
        h ^= b
        h = (h * 0x100000001B3) & M
    return h


def child(seed, label):
    return splitmix64(seed ^ splitmix64(fnv1a(label)))


print(f"SEED0_FISHER = {child(0, 'fisher')}")
