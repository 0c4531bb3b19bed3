# KL(Poisson(1) || Poisson(lam')) = lam' - 1 - ln lam' for lam' = 1e6 ... 1e14 (mpmath, 50 digits),
# the oracle of core/src/kl.rs `a_far_poisson_monte_carlo_keeps_its_digits` (tryout 5, A4).
import mpmath as mp
mp.mp.dps = 50
for e in range(6, 15):
    lp = mp.mpf(10) ** e
    print(f"1e{e}", mp.nstr(lp - 1 - mp.log(lp), 25))
