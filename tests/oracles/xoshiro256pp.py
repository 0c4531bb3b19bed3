"""First outputs of xoshiro256++ seeded by four SplitMix64 outputs from a seed.

Independent of the project: a transcription of the reference C code by Blackman
and Vigna (https://prng.di.unimi.it/xoshiro256plusplus.c and splitmix64.c).
The values are pasted into plugins/api/src/guest.rs (Rng) and compared with the
C header's brg_rng_* in plugins/api/tests/header.rs.

Run: /work/venv/bin/python tests/oracles/xoshiro256pp.py
"""

M = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return x, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M


def xoshiro(seed, n):
    s = []
    x = seed
    for _ in range(4):
        x, z = splitmix64(x)
        s.append(z)
    out = []
    for _ in range(n):
        r = (rotl((s[0] + s[3]) & M, 23) + s[0]) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        out.append(r)
    return out


for seed in (0, 42):
    print(f"seed {seed}:", ", ".join(f"0x{v:016X}" for v in xoshiro(seed, 3)))
