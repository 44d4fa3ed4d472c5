//! Ours-vs-baseline timing in one run, interleaved so that drift (CPU frequency, a noisy
//! neighbour, a growing table) hits both sides alike.
//!
//! Criterion gives the detailed per-benchmark statistics; this module gives the one number
//! each bench exists for. Rounds alternate `ours, baseline, baseline, ours, ...`; each round
//! times a batch of calls (sized to about a millisecond) of each side, and the result is the
//! median per-call time of each side over all rounds.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Options of the command line that take a value (criterion's), so that their values are not
/// taken for a benchmark filter.
const VALUE_OPTIONS: &[&str] = &[
    "--warm-up-time",
    "--measurement-time",
    "--sample-size",
    "--save-baseline",
    "--baseline",
    "--baseline-lenient",
    "--load-baseline",
    "--output-format",
    "--color",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--nresamples",
    "--profile-time",
    "--plotting-backend",
    "--format",
    "--logfile",
];

/// Target wall time of one timed batch.
const BATCH: Duration = Duration::from_millis(1);

/// Fewest rounds of a comparison, whatever the budget.
const MIN_ROUNDS: usize = 7;

/// How the ratio pass runs, read from the bench binary's command line.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `cargo bench` (criterion's `--bench` flag): measure and print. Otherwise (`cargo test
    /// --benches`) every closure runs once, as a smoke test, and nothing is printed.
    pub measure: bool,
    /// Wall time spent on each comparison: `--measurement-time` seconds when given, else the
    /// `CACHET_RATIO_SECS` environment variable, else 2 s.
    pub budget: Duration,
    /// Substring filters given on the command line (criterion's positional filter).
    filters: Vec<String>,
}

impl Settings {
    /// Reads the process's arguments and environment.
    pub fn from_env() -> Settings {
        Settings::from_args(
            std::env::args().skip(1),
            std::env::var("CACHET_RATIO_SECS").ok(),
        )
    }

    fn from_args(args: impl IntoIterator<Item = String>, env_secs: Option<String>) -> Settings {
        let mut measure = false;
        let mut list = false;
        let mut secs: Option<f64> = env_secs.and_then(|s| s.parse().ok());
        let mut filters = Vec::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "--bench" {
                measure = true;
            } else if arg == "--list" {
                list = true;
            } else if arg == "--measurement-time" {
                if let Some(v) = args.next().and_then(|v| v.parse().ok()) {
                    secs = Some(v);
                }
            } else if VALUE_OPTIONS.contains(&arg.as_str()) {
                args.next();
            } else if !arg.starts_with('-') {
                filters.push(arg);
            }
        }
        let secs = secs
            .filter(|s: &f64| s.is_finite() && *s > 0.0)
            .unwrap_or(2.0);
        Settings {
            measure: measure && !list,
            budget: Duration::from_secs_f64(secs),
            filters,
        }
    }

    /// True when `name` passes the command line's filters (all pass without one).
    pub fn wants(&self, name: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| name.contains(f.as_str()))
    }
}

/// Median per-call times of one comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// `group/case`.
    pub name: String,
    /// Our code, nanoseconds per call.
    pub ours_ns: f64,
    /// The baseline, nanoseconds per call.
    pub baseline_ns: f64,
}

impl Comparison {
    /// Throughput of ours over throughput of the baseline (= baseline time / our time).
    pub fn ratio(&self) -> f64 {
        self.baseline_ns / self.ours_ns
    }
}

/// Collects result lines and prints them again, together, at the end of the run (criterion's
/// own output is long).
#[derive(Debug)]
pub struct Report {
    settings: Settings,
    lines: Vec<String>,
}

impl Report {
    /// An empty report with `settings`.
    pub fn new(settings: Settings) -> Report {
        Report {
            settings,
            lines: Vec::new(),
        }
    }

    /// The settings of this run.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Measures `ours` against `baseline` (see the module doc), prints and records a `RATIO`
    /// line. Skipped when `name` is filtered out; without `--bench`, each side runs once.
    pub fn compare<A, B>(&mut self, name: &str, ours: A, baseline: B) -> Option<Comparison>
    where
        A: FnMut(),
        B: FnMut(),
    {
        self.compare_with_note(name, "", ours, baseline)
    }

    /// [`Report::compare`] with a note appended to the line (what the ratio means when it is
    /// not a plain "ours vs the same work").
    pub fn compare_with_note<A, B>(
        &mut self,
        name: &str,
        note: &str,
        mut ours: A,
        mut baseline: B,
    ) -> Option<Comparison>
    where
        A: FnMut(),
        B: FnMut(),
    {
        if !self.settings.wants(name) {
            return None;
        }
        if !self.settings.measure {
            ours();
            baseline();
            return None;
        }
        let c = compare(name, self.settings.budget, ours, baseline);
        let mut line = format!(
            "RATIO {name} speed ours/baseline = {:.2}  (ours {}/call, baseline {}/call)",
            c.ratio(),
            human(c.ours_ns),
            human(c.baseline_ns)
        );
        if !note.is_empty() {
            let _ = write!(line, "  [{note}]");
        }
        println!("{line}");
        self.lines.push(line);
        Some(c)
    }

    /// Median nanoseconds per call of `f` (skipped, `None`, like [`Report::compare`]).
    pub fn time<F: FnMut()>(&mut self, name: &str, mut f: F) -> Option<f64> {
        if !self.settings.wants(name) {
            return None;
        }
        if !self.settings.measure {
            f();
            return None;
        }
        Some(time(self.settings.budget, f))
    }

    /// Prints and records a free-form result line.
    pub fn line(&mut self, line: String) {
        if self.settings.measure {
            println!("{line}");
            self.lines.push(line);
        }
    }

    /// Prints every recorded line under a header.
    pub fn print_summary(&self, title: &str) {
        if self.settings.measure && !self.lines.is_empty() {
            println!("\n==== {title} ====");
            for line in &self.lines {
                println!("{line}");
            }
        }
    }
}

/// Nanoseconds in a readable unit.
pub fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Calls of `f` that take about [`BATCH`] (at least one).
fn batch_size<F: FnMut()>(f: &mut F) -> u32 {
    let start = Instant::now();
    f();
    let one = start.elapsed().max(Duration::from_nanos(1));
    let n = BATCH.as_nanos() / one.as_nanos();
    u32::try_from(n).unwrap_or(u32::MAX).clamp(1, 100_000)
}

/// Nanoseconds per call of `n` calls of `f`.
fn run_batch<F: FnMut()>(f: &mut F, n: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_secs_f64() * 1e9 / f64::from(n)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

/// Interleaved comparison of `ours` and `baseline` for about `budget` (see the module doc).
pub fn compare<A: FnMut(), B: FnMut()>(
    name: &str,
    budget: Duration,
    mut ours: A,
    mut baseline: B,
) -> Comparison {
    // Warm up both (caches, lazy statics, prepared statements), then size the batches.
    for _ in 0..3 {
        ours();
        baseline();
    }
    let (na, nb) = (batch_size(&mut ours), batch_size(&mut baseline));
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let start = Instant::now();
    let mut round = 0usize;
    while round < MIN_ROUNDS || start.elapsed() < budget {
        // ABBA order: neither side always runs first (cache state, a table that grows).
        if round % 2 == 0 {
            a.push(run_batch(&mut ours, na));
            b.push(run_batch(&mut baseline, nb));
        } else {
            b.push(run_batch(&mut baseline, nb));
            a.push(run_batch(&mut ours, na));
        }
        round += 1;
    }
    Comparison {
        name: name.to_owned(),
        ours_ns: median(a),
        baseline_ns: median(b),
    }
}

/// Median nanoseconds per call of `f` over about `budget`.
pub fn time<F: FnMut()>(budget: Duration, mut f: F) -> f64 {
    for _ in 0..3 {
        f();
    }
    let n = batch_size(&mut f);
    let mut xs = Vec::new();
    let start = Instant::now();
    while xs.len() < MIN_ROUNDS || start.elapsed() < budget {
        xs.push(run_batch(&mut f, n));
    }
    median(xs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn reads_criterion_command_lines() {
        let s = Settings::from_args(
            args("--bench --warm-up-time 1 --measurement-time 3 markdown/"),
            None,
        );
        assert!(s.measure);
        assert_eq!(s.budget, Duration::from_secs(3));
        assert!(s.wants("markdown/realistic"));
        assert!(!s.wants("sqlite/insert"));

        let s = Settings::from_args(args(""), Some("0.5".into()));
        assert!(!s.measure);
        assert_eq!(s.budget, Duration::from_millis(500));
        assert!(s.wants("anything"));

        assert!(!Settings::from_args(args("--bench --list"), None).measure);
    }

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
