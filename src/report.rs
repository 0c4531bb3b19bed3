//! The HTML report of `bayesrg reproduce`: one page (a few hundred kB) that
//! shows every figure from the files beside it (PNG, with a link to its SVG),
//! so the report folder opens offline as it stands; a table of every check with its number, its
//! oracle and its verdict, and links to the CSV and JSON files beside it.
//!
//! When the page has loaded, a small script counts the figures that decoded and
//! the check rows, and writes the counts into `data-*` attributes of `<body>`,
//! so a headless browser can confirm from the DOM that the page rendered.

use crate::commands::Summary;
use serde::Serialize;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The outcome of one stage of the reproduction.
#[derive(Debug, Clone, Serialize)]
pub struct StageReport {
    /// Short name (`fisher`, `sde`, …), also the stage's folder.
    pub name: String,
    /// One-line title.
    pub title: String,
    /// What the stage checks, for the reader.
    pub description: String,
    /// The summaries the stage produced (one per config it ran).
    pub summaries: Vec<Summary>,
    /// The error that stopped the stage, if any.
    pub error: Option<String>,
    /// Wall-clock seconds. Kept out of `summary.json` and the page (so that two
    /// runs with one seed give byte-identical result files); written to
    /// `timings.json` ([`crate::output::TIMINGS_FILE`]).
    #[serde(skip)]
    pub seconds: f64,
    /// Result files (relative to the report folder), for links.
    pub files: Vec<String>,
    /// PNG figures (relative to the report folder), shown in the page.
    pub figures: Vec<String>,
}

impl StageReport {
    /// True when the stage ran to the end and every check passed.
    pub fn pass(&self) -> bool {
        self.error.is_none() && self.summaries.iter().all(|s| s.pass)
    }

    /// (passed, total) checks.
    pub fn counts(&self) -> (usize, usize) {
        let all = self.summaries.iter().flat_map(|s| &s.checks);
        let total = all.clone().count();
        (all.filter(|c| c.pass).count(), total)
    }
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// Formats a number compactly for tables.
pub fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "∞".into()
        } else {
            "−∞".into()
        }
    } else if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1e4 || v.abs() < 1e-3 {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

/// Lists the files below `dir` (relative paths, sorted), split into PNG figures
/// and other result files (CSV, JSON).
pub fn collect_files(root: &Path, dir: &Path) -> (Vec<String>, Vec<String>) {
    fn walk(p: &Path, acc: &mut Vec<PathBuf>) {
        if let Ok(rd) = std::fs::read_dir(p) {
            for e in rd.flatten() {
                let path = e.path();
                if path.is_dir() {
                    walk(&path, acc);
                } else {
                    acc.push(path);
                }
            }
        }
    }
    let mut all = vec![];
    walk(dir, &mut all);
    all.sort();
    let (mut figs, mut files) = (vec![], vec![]);
    for p in all {
        let rel = p
            .strip_prefix(root)
            .unwrap_or(&p)
            .to_string_lossy()
            .replace('\\', "/");
        match p.extension().and_then(|e| e.to_str()) {
            Some("png") => figs.push(rel),
            Some("csv" | "json" | "svg") => files.push(rel),
            _ => {}
        }
    }
    (figs, files)
}

const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:.2em} .sub{color:#555;margin-top:0}
table{border-collapse:collapse;width:100%;margin:1em 0;font-size:14px}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3} td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.pass{color:#11772d;font-weight:600} .fail{color:#b00020;font-weight:700}
tr.failed{background:#fde8ea}
figure{display:inline-block;margin:.5em;max-width:48%} figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:12px;color:#555} summary{cursor:pointer;font-weight:600;margin:.5em 0} section{border-top:2px solid #eee;margin-top:2em}
.err{background:#fde8ea;border:1px solid #b00020;padding:.5em;white-space:pre-wrap}
"#;

const SCRIPT: &str = r#"
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-figures', imgs.length);
  document.body.setAttribute('data-figures-rendered', ok);
  document.body.setAttribute('data-check-rows', document.querySelectorAll('tr.check').length);
});
"#;

fn verdict(pass: bool) -> &'static str {
    if pass {
        "<span class=\"pass\">pass</span>"
    } else {
        "<span class=\"fail\">FAIL</span>"
    }
}

/// Renders the page. `root` is the report folder (figures that exist in it
/// are shown by relative path); `stages` the stage outcomes; `meta` a line of provenance.
pub fn render_html(root: &Path, stages: &[StageReport], meta: &str) -> String {
    let all_pass = stages.iter().all(StageReport::pass);
    let (passed, total) = stages.iter().fold((0, 0), |(p, t), s| {
        let (a, b) = s.counts();
        (p + a, t + b)
    });
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>bayesrg reproduction report</title><style>{STYLE}</style>\
         <script>{SCRIPT}</script></head><body>\n\
         <h1>bayesrg: reproduction report</h1>\n<p class=\"sub\">{}</p>\n\
         <p>Verdict: {} — {passed} of {total} checks passed in {} stages. \
         Machine-readable: <a href=\"summary.json\">summary.json</a>.</p>\n",
        escape(meta),
        verdict(all_pass),
        stages.len()
    );
    h.push_str("<h2>Stages</h2>\n<table id=\"stages\"><tr><th>stage</th><th>what it checks</th><th>checks passed</th><th>verdict</th></tr>\n");
    for s in stages {
        let (p, t) = s.counts();
        let _ = writeln!(
            h,
            "<tr class=\"stage\"><td><a href=\"#{n}\">{n}</a></td><td>{}</td><td class=\"n\">{p} / {t}</td><td>{}</td></tr>",
            escape(&s.title),
            verdict(s.pass()),
            n = escape(&s.name)
        );
    }
    h.push_str("</table>\n");
    for s in stages {
        let _ = writeln!(
            h,
            "<section id=\"{n}\"><h2>{n}: {}</h2>\n<p>{}</p>",
            escape(&s.title),
            escape(&s.description),
            n = escape(&s.name)
        );
        if let Some(e) = &s.error {
            let _ = writeln!(h, "<div class=\"err\">stage failed: {}</div>", escape(e));
        }
        for f in &s.figures {
            if root.join(f).is_file() {
                let svg = Path::new(f).with_extension("svg");
                let svg_link = if root.join(&svg).is_file() {
                    format!(" (<a href=\"{}\">SVG</a>)", escape(&svg.to_string_lossy()))
                } else {
                    String::new()
                };
                let _ = writeln!(
                    h,
                    "<figure><img alt=\"{f}\" src=\"{f}\"><figcaption>{f}{svg_link}</figcaption></figure>",
                    f = escape(f)
                );
            }
        }
        let (p, t) = s.counts();
        let _ = writeln!(
            h,
            "<details{}><summary>{p} of {t} checks passed</summary>",
            if s.pass() { "" } else { " open" }
        );
        h.push_str("<table class=\"checks\"><tr><th>run</th><th>check</th><th>value</th><th>criterion</th><th>oracle</th><th>verdict</th></tr>\n");
        for sum in &s.summaries {
            let run = sum.config.clone().unwrap_or_else(|| sum.command.clone());
            for c in &sum.checks {
                let _ = writeln!(
                    h,
                    "<tr class=\"check{}\"><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{} {}</td><td>{}</td><td>{}</td></tr>",
                    if c.pass { "" } else { " failed" },
                    escape(&run),
                    escape(&c.name),
                    num(c.value),
                    escape(&c.relation),
                    num(c.threshold),
                    escape(&c.oracle),
                    verdict(c.pass)
                );
            }
        }
        h.push_str("</table></details>\n");
        if !s.files.is_empty() {
            h.push_str("<p>Files: ");
            let links: Vec<String> = s
                .files
                .iter()
                .map(|f| format!("<a href=\"{0}\">{0}</a>", escape(f)))
                .collect();
            h.push_str(&links.join(", "));
            h.push_str("</p>\n");
        }
        h.push_str("</section>\n");
    }
    h.push_str("</body></html>\n");
    h
}

/// `summary.json` of a reproduction.
#[derive(serde::Serialize)]
struct ReportJson<'a> {
    pass: bool,
    quick: bool,
    version: &'a str,
    stages: &'a [StageReport],
}

/// Writes the report of a reproduction into `out`: `summary.json` (the
/// verdict and every stage's checks), `index.html` ([`render_html`]) and the
/// stages' wall times in `timings.json`.
///
/// # Errors
/// A file that cannot be written.
pub fn write(
    out: &crate::output::OutDir,
    reports: &[StageReport],
    quick: bool,
) -> anyhow::Result<()> {
    let pass = reports.iter().all(StageReport::pass);
    let version = env!("CARGO_PKG_VERSION");
    out.write_json(
        "summary.json",
        &ReportJson {
            pass,
            quick,
            version,
            stages: reports,
        },
    )?;
    let meta = format!(
        "bayesrg {version}; {} mode; {} stages",
        if quick { "quick" } else { "full" },
        reports.len()
    );
    out.write_text("index.html", &render_html(&out.path(""), reports, &meta))?;
    let timings: serde_json::Map<String, serde_json::Value> = reports
        .iter()
        .map(|r| (r.name.clone(), serde_json::json!(r.seconds)))
        .collect();
    out.write_json(crate::output::TIMINGS_FILE, &timings)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Check;

    fn stage(pass: bool) -> StageReport {
        StageReport {
            name: "demo".into(),
            title: "a <demo> stage".into(),
            description: "d".into(),
            summaries: vec![Summary::new(
                "demo",
                Some("x.toml".into()),
                vec![
                    Check::at_most("z", 1.0, 4.0, "closed form"),
                    Check::at_most("w", if pass { 0.0 } else { 9.0 }, 4.0, "closed form"),
                ],
                serde_json::Value::Null,
            )],
            error: None,
            seconds: 0.5,
            files: vec!["demo/a.csv".into()],
            figures: vec![],
        }
    }

    #[test]
    fn html_escapes_and_counts() {
        let st = stage(false);
        assert_eq!(st.counts(), (1, 2));
        assert!(!st.pass());
        let h = render_html(Path::new("."), &[st], "meta & more");
        assert!(h.contains("a &lt;demo&gt; stage"));
        assert!(h.contains("meta &amp; more"));
        assert_eq!(h.matches("<tr class=\"check").count(), 2);
        assert_eq!(h.matches("tr class=\"check failed\"").count(), 1);
        assert!(h.contains("1 of 2 checks passed"));
    }

    #[test]
    fn error_stage_fails() {
        let mut st = stage(true);
        assert!(st.pass());
        st.error = Some("boom".into());
        assert!(!st.pass());
    }
}
