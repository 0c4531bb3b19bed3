use bayesrg_core::geometry::distance::{ShootOptions, distance};
use bayesrg_core::geometry::closed_form;
use bayesrg_core::geometry::FisherMetric;
use bayesrg_core::Model;
use std::time::Instant;

fn model(json: &str) -> Box<dyn Model> {
    bayesrg_models::ensure_linked();
    serde_json::from_str(json).unwrap()
}

fn run(name: &str, m: &dyn Model, a: &[f64], b: &[f64]) {
    for (label, fm) in [("known", FisherMetric::new(m)), ("fd", FisherMetric::differenced(m))] {
        let t = Instant::now();
        let r = distance(&fm, a, b, &ShootOptions::default());
        let el = t.elapsed();
        let cf = closed_form::for_model(m, a, b).map(|k| k.distance);
        match r {
            Ok(s) => eprintln!(
                "{name:<28} {label:<5} d={:.12e} cf={:?} rel={:.2e} res={:.1e} drift={:.1e} it={} {} {:?} {:?}",
                s.distance,
                cf,
                cf.map(|c| (s.distance - c).abs() / c).unwrap_or(f64::NAN),
                s.residual / s.distance,
                s.geodesic.speed_drift,
                s.iterations,
                s.method,
                el,
                s.attempts.iter().map(|a| &a[..a.len().min(80)]).collect::<Vec<_>>()
            ),
            Err(e) => eprintln!("{name:<28} {label:<5} ERR {el:?} {e}"),
        }
    }
}

#[test]
fn bench() {
    let fd = std::env::var("FD").is_ok();
    let run = |name: &str, m: &dyn Model, a: &[f64], b: &[f64]| {
        if fd { run(name, m, a, b) } else { run1(name, m, a, b) }
    };
    let exp = model(r#"{"type":"exponential"}"#);
    run("exp 1->1000", exp.as_ref(), &[1.0], &[1000.0]);
    run("exp 1e-6->1e6", exp.as_ref(), &[1e6], &[1e-6]);
    let po = model(r#"{"type":"poisson"}"#);
    run("poisson 1e-8->1e15", po.as_ref(), &[1e-8], &[1e15]);
    let be = model(r#"{"type":"bernoulli"}"#);
    run("bern 1e-6 -> 1-1e-6", be.as_ref(), &[1e-6], &[1.0 - 1e-6]);
    run("bern near", be.as_ref(), &[0.3], &[0.3 + 1e-9]);
    let cat = model(r#"{"type":"categorical","classes":3}"#);
    run("cat 1e-3", cat.as_ref(), &[0.001, 0.5], &[0.3, 0.3]);
    run("cat 1e-6", cat.as_ref(), &[0.000001, 0.5], &[0.3, 0.3]);
    run("cat 1e-6 both", cat.as_ref(), &[0.000001, 0.5], &[0.5, 0.000001]);
    let cat6 = model(r#"{"type":"categorical","classes":6}"#);
    run("cat6", cat6.as_ref(), &[1e-6, 0.2, 0.3, 1e-4, 0.1], &[0.2, 1e-5, 0.1, 0.4, 0.2]);
    let n = model(r#"{"type":"normal"}"#);
    for dm in [1.0, 10.0, 100.0, 1000.0, 1e4, 1e5] {
        run(&format!("normal dmu {dm}"), n.as_ref(), &[0.0, 1.0], &[dm, 1.0]);
    }
    run("normal sigma 1e-6..1e6", n.as_ref(), &[0.0, 1e-6], &[1e-6, 1e6]);
    run("normal mu 1e3 at sigma 1e-3", n.as_ref(), &[0.0, 1e-3], &[1.0, 1e-3]);
    run("normal mixed", n.as_ref(), &[-3.0, 1e-4], &[20.0, 30.0]);
    let nv = model(r#"{"type":"normal_var"}"#);
    run("normal_var", nv.as_ref(), &[-3.0, 1e-8], &[20.0, 900.0]);
    let lf = model(r#"{"type":"lattice_field","shape":[6]}"#);
    run("lattice", lf.as_ref(), &[1e-3, 1.0, 2.0, 1e3, 5.0, 0.1], &[1.0, 1e-3, 2e3, 1.0, 5.0, 10.0]);
    let mvn = model(r#"{"type":"mvn","dim":3}"#);
    run("mvn3 far", mvn.as_ref(), &[0.0, 0.0, 0.0, 1.0, 0.2, 1.0, 0.1, 0.3, 1.0], &[5.0, -3.0, 2.0, 4.0, 1.0, 0.5, 0.0, 0.1, 0.09]);
    run("mvn3 same mean", mvn.as_ref(), &[0.0, 0.0, 0.0, 1.0, 0.2, 1.0, 0.1, 0.3, 1.0], &[0.0, 0.0, 0.0, 4.0, 1.0, 0.5, 0.0, 0.1, 0.09]);
    let g = model(r#"{"type":"gamma"}"#);
    run("gamma", g.as_ref(), &[1.5, 2.0], &[6.0, 1.0]);
    run("gamma far", g.as_ref(), &[0.01, 0.01], &[100.0, 1000.0]);
    let bt = model(r#"{"type":"beta"}"#);
    run("beta", bt.as_ref(), &[0.5, 0.5], &[20.0, 3.0]);
}

fn run1(name: &str, m: &dyn Model, a: &[f64], b: &[f64]) {
    let fm = FisherMetric::new(m);
    let t = Instant::now();
    let r = distance(&fm, a, b, &ShootOptions::default());
    let el = t.elapsed();
    let cf = closed_form::for_model(m, a, b).map(|k| k.distance);
    match r {
        Ok(s) => eprintln!(
            "{name:<28} d={:.12e} rel={:.2e} res={:.1e} drift={:.1e} it={} {} {:?}",
            s.distance,
            cf.map(|c| (s.distance - c).abs() / c).unwrap_or(f64::NAN),
            s.residual / s.distance,
            s.geodesic.speed_drift,
            s.iterations,
            s.method,
            el,
        ),
        Err(e) => eprintln!("{name:<28} ERR {el:?} {e}"),
    }
}
