//! Throughput of the exact diagonal Fisher, of one training step and of one
//! sweep evaluation on the embedded MNIST subset, 784 → 20 → 784: the f64
//! reference kernels and the batched f32 kernels that training and the sweep
//! use.

use bayesrg_autoencoder::batched::{self, Params, SparseImages, Work};
use bayesrg_autoencoder::{Architecture, Autoencoder, fisher, mnist};
use bayesrg_core::rng::Seed;
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let d = mnist::embedded();
    let net = Autoencoder::init(Architecture::default(), Seed::new(42));
    let x = &d.test.images();
    let train_x = d.train.images();
    let mut g = c.benchmark_group("autoencoder");
    g.sample_size(10);
    g.bench_function("exact_fisher_2000_images", |b| {
        b.iter(|| fisher::exact(&net, x))
    });
    let idx: Vec<usize> = (0..1000).collect();
    g.bench_function("batch_gradient_1000_images", |b| {
        b.iter(|| net.batch_gradient(&train_x, &idx))
    });
    g.bench_function("mse_2000_images", |b| b.iter(|| net.mse(x)));
    // The batched f32 kernels (training step, sweep evaluation).
    let p = Params::<f32>::from_f64(net.arch, &net.theta);
    let train = SparseImages::<f32>::new(&train_x, net.arch.input);
    let test = SparseImages::<f32>::new(x, net.arch.input);
    let mut works = Vec::new();
    let mut grad = vec![0.0f32; net.theta.len()];
    g.bench_function("batched_f32_gradient_1000_images", |b| {
        b.iter(|| batched::gradient(&p, &train, &idx, &mut works, &mut grad))
    });
    let all: Vec<usize> = (0..test.len()).collect();
    let mut w = Work::new(net.arch);
    g.bench_function("batched_f32_sse_2000_images", |b| {
        b.iter(|| batched::sse(&p, &test, &all, &mut w))
    });
    // The machine's measured floating-point rate: a 256×256 f64 matrix product
    // (2·256³ flops) with nalgebra, one thread.
    let a = nalgebra::DMatrix::<f64>::from_fn(256, 256, |i, j| ((i * 7 + j * 3) % 11) as f64);
    g.bench_function("gemm_256_f64", |b| b.iter(|| &a * &a));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
