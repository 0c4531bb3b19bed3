//! The sweep specification and its expansion into tasks.
//!
//! A sweep is a base configuration of one command plus axes. Each axis names
//! a field of the base by its path (`theta[1]`, `model.sigma`, `tau`) and the
//! values it takes: a list (of numbers, strings, whole tables such as models)
//! or a range. Axes combine as a Cartesian product (the first axis varies
//! slowest) or are zipped; `replicates` repeats every point with a new seed.
//!
//! Each task's seed is derived from the sweep's seed and the task's
//! coordinates only ([`Seed::child`] of a canonical text of them), so a task's
//! result depends neither on where, when or beside what it runs, nor on the
//! other points of the sweep: adding a value to an axis leaves every other
//! task, and its result, as it was.

use bayesrg_core::error::{Error, Field, Result, Segment, require};
use bayesrg_core::rng::Seed;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical::canonical;

/// The largest number of tasks one sweep may expand to. Every task is made
/// and checked before any runs, at about 2 KB of memory each (tryout 9 H5,
/// measured with `--dry-run`: 10⁶ tasks of a `fisher` sweep 1.97 GB and 34 s;
/// the earlier limit of 10⁷ would have needed about 20 GB, more than the
/// project's 24 GB machine has to spare).
pub const MAX_TASKS: usize = 1_000_000;

/// How the axes of a sweep combine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Every combination of the axes' values (the first axis varies slowest).
    #[default]
    Product,
    /// The i-th value of every axis together; all axes have one length.
    Zip,
}

/// A sweep: one command's base configuration and the axes along which it
/// varies (issue 15). TOML and JSON spell it the same way:
///
/// ```toml
/// command = "fisher"
/// seed = 7
/// replicates = 2
/// [base]
/// model = { type = "normal" }
/// theta = [0.0, 1.0]
/// [[axes]]
/// path = "theta[1]"
/// range = { start = 0.01, stop = 100.0, num = 5, log = true }
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// The command whose configuration `base` is (`"fisher"`, `"kl"`,
    /// `"bayes"`, `"flow"`, `"sde"`, …).
    pub command: String,
    /// The root of every task's seed.
    #[serde(default)]
    pub seed: Seed,
    /// The field of the task configuration that receives the task's seed;
    /// empty for commands without one.
    #[serde(default = "default_seed_field")]
    pub seed_field: String,
    /// How the axes combine.
    #[serde(default)]
    pub mode: Mode,
    /// How many times each point runs, each time with its own seed (adds a
    /// `replicate` coordinate, 0-based, when above 1).
    #[serde(default = "one")]
    pub replicates: usize,
    /// The command's configuration shared by every task.
    pub base: Value,
    /// The axes; none gives a single task (times `replicates`).
    #[serde(default)]
    pub axes: Vec<Axis>,
    /// Prefixes of the result quantities kept in the merged table
    /// (`"checks"`, `"report.max_z"`); all numbers when empty.
    #[serde(default)]
    pub keep: Vec<String>,
}

fn default_seed_field() -> String {
    "seed".to_string()
}

fn one() -> usize {
    1
}

/// One axis of a sweep: the field it sets and the values it takes. Give
/// exactly one of `values` and `range`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    /// The field of the base configuration it sets: `theta[1]`,
    /// `model.sigma`, `tau`. A missing last key is added; indices must exist.
    pub path: String,
    /// Its column name in the merged table (default: the path).
    #[serde(default)]
    pub name: Option<String>,
    /// The values, in order (numbers, strings, booleans or whole tables).
    #[serde(default)]
    pub values: Option<Vec<Value>>,
    /// Evenly spaced numbers instead of a list.
    #[serde(default)]
    pub range: Option<Range>,
}

/// `num` numbers from `start` to `stop`, both included: evenly spaced, or
/// evenly spaced in logarithm when `log` (then both ends must be > 0).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// The first value.
    pub start: f64,
    /// The last value.
    pub stop: f64,
    /// How many values (≥ 1; 1 gives `start`).
    pub num: usize,
    /// Geometric instead of arithmetic spacing.
    #[serde(default)]
    pub log: bool,
}

impl Range {
    /// The values, with both ends exact.
    pub fn values(&self) -> Vec<f64> {
        let n = self.num;
        (0..n)
            .map(|i| {
                if i == 0 {
                    self.start
                } else if i + 1 == n {
                    self.stop
                } else {
                    let f = i as f64 / (n - 1) as f64;
                    // The plain forms where their ratio or span is a finite
                    // number; across more than 308 decades (1e-300 to
                    // 1e300) or a span beyond f64 (−1e308 to 1e308) they
                    // overflow (tryout 8 G12), and the logarithms or the
                    // weighted ends are interpolated instead.
                    if self.log {
                        let ratio = self.stop / self.start;
                        if ratio.is_finite() && ratio > 0.0 {
                            self.start * ratio.powf(f)
                        } else {
                            let (a, b) = (self.start.ln(), self.stop.ln());
                            (a + (b - a) * f).exp()
                        }
                    } else {
                        let span = self.stop - self.start;
                        if span.is_finite() {
                            self.start + span * f
                        } else {
                            self.start * (1.0 - f) + self.stop * f
                        }
                    }
                }
            })
            .collect()
    }
}

impl Axis {
    /// The column name in the merged table.
    pub fn column(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.path)
    }

    /// How many values the axis takes, without making them (a `range.num`
    /// of 1e13 is refused by [`SweepSpec::validate`] before any is made).
    pub fn len(&self) -> usize {
        match (&self.values, &self.range) {
            (Some(v), _) => v.len(),
            (None, Some(r)) => r.num,
            (None, None) => 0,
        }
    }

    /// Whether the axis has no values (refused by [`SweepSpec::validate`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The axis's values as JSON.
    pub fn points(&self) -> Vec<Value> {
        match (&self.values, &self.range) {
            (Some(v), _) => v.clone(),
            (None, Some(r)) => r.values().into_iter().map(Value::from).collect(),
            (None, None) => Vec::new(),
        }
    }
}

/// One task of a sweep: a full configuration of the command, its coordinates
/// on the axes and its seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Its position in the expansion (row order of the merged table).
    pub index: usize,
    /// A name that depends only on the command and the configuration
    /// (16 hex digits): the file name of its result, so that a rerun finds
    /// what is finished even after the spec gained points.
    pub id: String,
    /// Its coordinates: (column, value) per axis, then `replicate` when the
    /// sweep has more than one.
    pub coords: Vec<(String, Value)>,
    /// Its seed (below 2⁵³, so that every JSON reader keeps it exact).
    pub seed: Seed,
    /// The command.
    pub command: String,
    /// The command's configuration.
    pub config: Value,
}

impl SweepSpec {
    /// Checks every value before any work: errors name the field
    /// (`axes[1].range.num`) so the command line can point at file:line:col.
    pub fn validate(&self) -> Result<()> {
        if self.command.trim().is_empty() {
            return Err(Error::Domain {
                field: Field::key("command"),
                value: "\"\"".into(),
                constraint: "must name a command".into(),
            });
        }
        require::at_least(Field::key("replicates"), self.replicates, 1)?;
        too_many(
            Field::key("replicates"),
            self.replicates as f64,
            "replicates",
        )?;
        if !self.base.is_object() {
            return Err(Error::Domain {
                field: Field::key("base"),
                value: kind(&self.base).into(),
                constraint: "must be a table (the command's configuration)".into(),
            });
        }
        let mut len0 = None;
        for (i, axis) in self.axes.iter().enumerate() {
            let at = Field::key("axes").at(i);
            let n = match (&axis.values, &axis.range) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(Error::Domain {
                        field: at,
                        value: axis.path.clone(),
                        constraint: "needs exactly one of `values` and `range`".into(),
                    });
                }
                (Some(v), None) => {
                    if v.is_empty() {
                        return Err(Error::Domain {
                            field: at.then("values"),
                            value: "[]".into(),
                            constraint: "must have at least one value".into(),
                        });
                    }
                    too_many(at.clone().then("values"), v.len() as f64, "values")?;
                    if let Some(j) = v.iter().position(Value::is_null) {
                        return Err(Error::Domain {
                            field: at.clone().then("values").at(j),
                            value: "NaN or null".into(),
                            constraint: "is not a value a task can take; give a number, a \
                                         string, a boolean or a table"
                                .into(),
                        });
                    }
                    // One number written twice (`1` and `1.0`) is one point
                    // that would run as two tasks, with two seeds, under
                    // rows pandas reads as equal (tryout 9 H8).
                    let mut numbers: Vec<(f64, usize)> = v
                        .iter()
                        .enumerate()
                        .filter_map(|(j, x)| x.as_f64().map(|f| (f, j)))
                        .collect();
                    numbers.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    if let Some(w) = numbers.windows(2).find(|w| w[0].0 == w[1].0) {
                        let (first, again) = (w[0].1.min(w[1].1), w[0].1.max(w[1].1));
                        return Err(Error::Domain {
                            field: at.clone().then("values").at(again),
                            value: v[again].to_string(),
                            constraint: format!(
                                "is the number of `values[{first}]` ({}) again; every point of \
                                 an axis must differ",
                                v[first]
                            ),
                        });
                    }
                    v.len()
                }
                (None, Some(r)) => {
                    let f = at.clone().then("range");
                    require::finite(f.clone().then("start"), r.start)?;
                    require::finite(f.clone().then("stop"), r.stop)?;
                    require::at_least(f.clone().then("num"), r.num, 1)?;
                    too_many(f.clone().then("num"), r.num as f64, "values")?;
                    if r.log {
                        require::positive(f.clone().then("start"), r.start)?;
                        require::positive(f.then("stop"), r.stop)?;
                    }
                    r.num
                }
            };
            set_path(&mut self.base.clone(), &axis.path, Value::Null).map_err(|reason| {
                Error::Domain {
                    field: at.clone().then("path"),
                    value: axis.path.clone(),
                    constraint: reason,
                }
            })?;
            if self.mode == Mode::Zip {
                match len0 {
                    None => len0 = Some(n),
                    Some(m) if m != n => {
                        return Err(Error::Dimension {
                            field: at,
                            expected: format!("{m} values, as axes[0] has (mode = \"zip\")"),
                            got: n,
                        });
                    }
                    _ => {}
                }
            }
        }
        self.validate_columns()?;
        too_many(Field::key("axes"), self.count(), "tasks")
    }

    /// The axes' columns of the merged tables: one per axis, none of the
    /// tables' own ([`RESERVED_COLUMNS`]), and no axis on the field that
    /// receives each task's seed (it would be overwritten).
    fn validate_columns(&self) -> Result<()> {
        let mut seen: Vec<&str> = Vec::with_capacity(self.axes.len());
        for (i, axis) in self.axes.iter().enumerate() {
            let col = axis.column();
            let at = Field::key("axes").at(i);
            let named = at
                .clone()
                .then(if axis.name.is_some() { "name" } else { "path" });
            // A column pandas can name (tryout 9 H13: `name = ""` gave a
            // blank header, read as `Unnamed: 2`).
            if col.trim().is_empty() || col.trim() != col || col.chars().any(char::is_control) {
                return Err(Error::Domain {
                    field: named,
                    value: format!("{col:?}"),
                    constraint: "must be a column name: not empty, without spaces at its \
                                 ends or control characters"
                        .into(),
                });
            }
            if RESERVED_COLUMNS.contains(&col) {
                return Err(Error::Domain {
                    field: named,
                    value: format!("`{col}`"),
                    constraint: format!(
                        "is a column the merged tables have already ({}); give the axis \
                         another `name`",
                        RESERVED_COLUMNS.join(", ")
                    ),
                });
            }
            if let Some(j) = seen.iter().position(|c| *c == col) {
                return Err(Error::Domain {
                    field: named,
                    value: format!("`{col}`"),
                    constraint: format!(
                        "is also the column of axes[{j}]; give one of them another `name`"
                    ),
                });
            }
            seen.push(col);
            // Two axes on one field (or one on a field inside another's):
            // the later would set what the earlier's column reports
            // (tryout 8 G12).
            let mine = parse_path(&axis.path).unwrap_or_default();
            for (j, earlier) in self.axes[..i].iter().enumerate() {
                let theirs = parse_path(&earlier.path).unwrap_or_default();
                if mine.starts_with(&theirs) || theirs.starts_with(&mine) {
                    return Err(Error::Domain {
                        field: at.then("path"),
                        value: format!("`{}`", axis.path),
                        constraint: format!(
                            "sets a field that axes[{j}] (`{}`) sets too; each field takes the \
                             values of one axis",
                            earlier.path
                        ),
                    });
                }
            }
            if !self.seed_field.is_empty() && axis.path.trim() == self.seed_field.trim() {
                return Err(Error::Domain {
                    field: at.then("path"),
                    value: format!("`{}`", axis.path),
                    constraint: "is `seed_field`, which receives each task's own seed \
                                 (derived from the sweep's `seed` and the task's \
                                 coordinates); vary the sweep's `seed` or use `replicates`, \
                                 or set `seed_field = \"\"` to give seeds yourself"
                        .to_string(),
                });
            }
        }
        Ok(())
    }

    /// Where in the spec the user wrote the value that put `field` of the
    /// configuration of `task` (one of this sweep's) in error: the task's
    /// value of the axis that sets `field` or a field around or inside it
    /// (`axes[1].values[0]`, or `axes[0].range` for a range), that axis's
    /// `path` when it names a key `base` lacks, else `base`. For
    /// [`SweepSpec::expand`]'s tasks; a `field` of `None` is `base`.
    pub fn locate(&self, task: &Task, field: Option<&Field>) -> Field {
        let base = Field::key("base");
        let Some(field) = field else {
            return base;
        };
        for (i, axis) in self.axes.iter().enumerate() {
            let Ok(path) = parse_path(&axis.path) else {
                continue;
            };
            let segs = field.segments();
            if !(segs.starts_with(&path) || path.starts_with(segs)) {
                continue;
            }
            let at = Field::key("axes").at(i);
            // A path to a key the base lacks (the axis added it): the path
            // is what is wrong (`thetaa`, a misspelt key).
            if get_path(&self.base, &path).is_none() {
                return at.then("path");
            }
            let value = task.coords.get(i).map(|(_, v)| v);
            return match (&axis.values, value) {
                (Some(values), Some(v)) => match values.iter().position(|x| x == v) {
                    Some(j) => at.then("values").at(j),
                    None => at.then("values"),
                },
                _ => at.then("range"),
            };
        }
        base
    }

    /// How many tasks the sweep has (as `f64`: it is checked before it could
    /// overflow).
    pub fn count(&self) -> f64 {
        let lens = self.axes.iter().map(|a| a.len() as f64);
        let points = match self.mode {
            Mode::Product => lens.product(),
            Mode::Zip => lens.fold(1.0, |_, n| n),
        };
        points * self.replicates as f64
    }

    /// The tasks, in order: the first axis varies slowest, replicates
    /// fastest. Validates first.
    pub fn expand(&self) -> Result<Vec<Task>> {
        self.validate()?;
        let points: Vec<Vec<Value>> = self.axes.iter().map(Axis::points).collect();
        let combos: Vec<Vec<usize>> = match self.mode {
            Mode::Zip => {
                let n = points.first().map_or(1, Vec::len);
                (0..n).map(|i| vec![i; points.len()]).collect()
            }
            Mode::Product => {
                let mut combos = vec![Vec::new()];
                for p in &points {
                    combos = combos
                        .into_iter()
                        .flat_map(|c| {
                            (0..p.len()).map(move |j| {
                                let mut c = c.clone();
                                c.push(j);
                                c
                            })
                        })
                        .collect();
                }
                combos
            }
        };
        let mut tasks = Vec::with_capacity(combos.len() * self.replicates);
        for combo in combos {
            for r in 0..self.replicates {
                let mut coords: Vec<(String, Value)> = self
                    .axes
                    .iter()
                    .zip(&combo)
                    .zip(&points)
                    .map(|((a, &j), p)| (a.column().to_string(), p[j].clone()))
                    .collect();
                if self.replicates > 1 {
                    coords.push(("replicate".into(), Value::from(r)));
                }
                tasks.push(self.task(tasks.len(), coords, &combo, &points)?);
            }
        }
        // Two points with one configuration would be one task under two
        // rows (a value given twice, a range with start = stop).
        let mut first: std::collections::HashMap<&str, &Task> =
            std::collections::HashMap::with_capacity(tasks.len());
        for t in &tasks {
            if let Some(earlier) = first.insert(&t.id, t) {
                return Err(Error::Domain {
                    field: Field::key("axes"),
                    value: coords_text(t),
                    constraint: format!(
                        "gives task {} the configuration of task {} ({}): every point of a \
                         sweep must differ (is a value given twice?)",
                        t.index,
                        earlier.index,
                        coords_text(earlier)
                    ),
                });
            }
        }
        Ok(tasks)
    }

    fn task(
        &self,
        index: usize,
        coords: Vec<(String, Value)>,
        combo: &[usize],
        points: &[Vec<Value>],
    ) -> Result<Task> {
        let label: Vec<String> = coords
            .iter()
            .map(|(k, v)| format!("{k}={}", canonical(v)))
            .collect();
        let seed = Seed::new(self.seed.child(&label.join(";")).value() & ((1 << 53) - 1));
        let mut config = self.base.clone();
        for ((axis, &j), p) in self.axes.iter().zip(combo).zip(points) {
            set_path(&mut config, &axis.path, p[j].clone()).map_err(|reason| Error::Domain {
                field: Field::key("axes").then("path"),
                value: axis.path.clone(),
                constraint: reason,
            })?;
        }
        if !self.seed_field.is_empty() {
            set_path(&mut config, &self.seed_field, Value::from(seed.value())).map_err(
                |reason| Error::Domain {
                    field: Field::key("seed_field"),
                    value: self.seed_field.clone(),
                    constraint: reason,
                },
            )?;
        }
        let id = crate::canonical::digest(&format!("{}\n{}", self.command, canonical(&config)));
        Ok(Task {
            index,
            id,
            coords,
            seed,
            command: self.command.clone(),
            config,
        })
    }
}

/// The columns of the merged tables besides the axes' ([`crate::merge`]).
pub const RESERVED_COLUMNS: [&str; 8] = [
    "task",
    "id",
    "seed",
    "status",
    "error",
    "quantity",
    "value",
    "replicate",
];

/// Refuses a size `n` (of `what`: values, replicates, tasks) above
/// [`MAX_TASKS`], naming `field`: every size a spec gives is checked before
/// anything of that size is made (tryout 7 F1: `range.num` = 1e13 aborted on
/// an allocation of 80 TB).
fn too_many(field: Field, n: f64, what: &str) -> Result<()> {
    if n > MAX_TASKS as f64 {
        return Err(Error::TooLarge {
            field,
            needs: format!("{n:e} {what}"),
            limit: format!("{MAX_TASKS} tasks per sweep"),
            factors: Vec::new(),
        });
    }
    Ok(())
}

/// `a=1 b="x"`: a task's coordinates, for messages.
pub fn coords_text(t: &Task) -> String {
    let parts: Vec<String> = t.coords.iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.join(" ")
}

/// What kind of JSON value `v` is ("a table", "null"), for messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table",
    }
}

/// Sets the field at `path` (`a.b[2].c`) of `root` to `value`. The last key
/// of a table is added when missing; tables and indices on the way must exist.
/// Returns why not otherwise.
pub fn set_path(root: &mut Value, path: &str, value: Value) -> std::result::Result<(), String> {
    let segs = parse_path(path)?;
    let mut here = root;
    for (k, seg) in segs.iter().enumerate() {
        let last = k + 1 == segs.len();
        here = match (seg, here) {
            (Segment::Key(name), Value::Object(map)) => {
                if last {
                    map.insert(name.clone(), value);
                    return Ok(());
                }
                let next_is_key = matches!(segs.get(k + 1), Some(Segment::Key(_)));
                map.get_mut(name).ok_or_else(|| {
                    // Tryout 9 H10: `train.epochs` on prune's empty base.
                    let hint = if next_is_key {
                        format!(
                            "; to set a field of the command's defaults there, add the table \
                             (`[base.{}]`, it may be empty)",
                            segs[..=k]
                                .iter()
                                .map(|s| match s {
                                    Segment::Key(n) => n.clone(),
                                    Segment::Index(i) => format!("[{i}]"),
                                })
                                .collect::<Vec<_>>()
                                .join(".")
                                .replace(".[", "[")
                        )
                    } else {
                        String::new()
                    };
                    format!("names `{name}`, which the base configuration lacks{hint}")
                })?
            }
            (Segment::Index(i), Value::Array(items)) => {
                let n = items.len();
                let slot = items
                    .get_mut(*i)
                    .ok_or_else(|| format!("indexes [{i}] of an array of {n}"))?;
                if last {
                    *slot = value;
                    return Ok(());
                }
                slot
            }
            (seg, v) => {
                let what = match seg {
                    Segment::Key(name) => format!("key `{name}`"),
                    Segment::Index(i) => format!("index [{i}]"),
                };
                return Err(format!("takes {what} of {}", kind(v)));
            }
        };
    }
    Ok(())
}

/// The value at the path `segs` of `root`, if there is one.
fn get_path<'v>(root: &'v Value, segs: &[Segment]) -> Option<&'v Value> {
    segs.iter().try_fold(root, |here, seg| match (seg, here) {
        (Segment::Key(k), Value::Object(map)) => map.get(k),
        (Segment::Index(i), Value::Array(items)) => items.get(*i),
        _ => None,
    })
}

/// The segments of a field path, read strictly: a key, then any number of
/// `.key` and `[index]` (index: decimal digits only). Keys are made of
/// letters, digits, `_` and `-`. Anything else (`theta[[1`, `theta[1`,
/// `theta[1]]`, `theta[ 1]`, `theta[-1]`, `a..b`) is refused with the reason
/// (tryout 7 F3: `theta[[1` was read as `theta`, and changed nothing).
///
/// # Errors
/// The message completes "`axes[0].path` = … is not a path: …".
pub fn parse_path(path: &str) -> std::result::Result<Vec<Segment>, String> {
    let fail = |at: usize, what: &str| {
        Err(format!(
            "is not a path: {what} at character {} (write `theta[1]` or `model.sigma`)",
            at + 1
        ))
    };
    let is_key = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let chars: Vec<char> = path.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // Where a key must start: at the beginning and after `.`.
    let mut want_key = true;
    while i < chars.len() || want_key {
        if want_key {
            let start = i;
            while i < chars.len() && is_key(chars[i]) {
                i += 1;
            }
            if i == start {
                return match chars.get(i) {
                    None if path.is_empty() => Err("is not a path: it is empty (write \
                                                    `theta[1]` or `model.sigma`)"
                        .into()),
                    None => fail(i, "a name is missing"),
                    Some(c) => fail(i, &format!("`{c}` where a name must be")),
                };
            }
            out.push(Segment::Key(chars[start..i].iter().collect()));
            want_key = false;
            continue;
        }
        match chars[i] {
            '.' => {
                i += 1;
                want_key = true;
            }
            '[' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && chars[j].is_ascii_digit() {
                    j += 1;
                }
                if j == start {
                    return match chars.get(j) {
                        None => fail(j, "`[` is not closed"),
                        Some(c) => fail(j, &format!("`{c}` where an index (0, 1, …) must be")),
                    };
                }
                match chars.get(j) {
                    Some(']') => {}
                    None => return fail(j, "`[` is not closed"),
                    Some(c) => return fail(j, &format!("`{c}` where `]` must be")),
                }
                let digits: String = chars[start..j].iter().collect();
                let Ok(n) = digits.parse::<usize>() else {
                    return fail(start, &format!("index {digits} is too large"));
                };
                out.push(Segment::Index(n));
                i = j + 1;
            }
            c => return fail(i, &format!("`{c}` where `.`, `[` or the end must be")),
        }
    }
    Ok(out)
}
