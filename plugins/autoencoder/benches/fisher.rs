//! Throughput of the exact diagonal Fisher and of one training step on the
//! embedded MNIST test subset (2,000 images), 784 → 20 → 784.

use bayesrg_autoencoder::{Architecture, Autoencoder, fisher, mnist};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let d = mnist::embedded();
    let net = Autoencoder::init(Architecture::default(), 42);
    let x = &d.test.images;
    let mut g = c.benchmark_group("autoencoder");
    g.sample_size(10);
    g.bench_function("exact_fisher_2000_images", |b| {
        b.iter(|| fisher::exact(&net, x))
    });
    let idx: Vec<usize> = (0..1000).collect();
    g.bench_function("batch_gradient_1000_images", |b| {
        b.iter(|| net.batch_gradient(&d.train.images, &idx))
    });
    g.bench_function("mse_2000_images", |b| b.iter(|| net.mse(x)));
    // The machine's measured floating-point rate: a 256×256 f64 matrix product
    // (2·256³ flops) with nalgebra, one thread.
    let a = nalgebra::DMatrix::<f64>::from_fn(256, 256, |i, j| ((i * 7 + j * 3) % 11) as f64);
    g.bench_function("gemm_256_f64", |b| b.iter(|| &a * &a));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
