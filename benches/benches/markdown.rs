//! Markdown pipeline: `cachet_core::markdown::render` (size cap, pulldown-cmark, depth cap,
//! our ammonia policy) against the baseline a caller would write without us: pulldown-cmark
//! with the same options, then `ammonia::clean`, on the same inputs.
//!
//! Groups:
//! - `markdown/<input>`: accepted inputs, ours vs baseline (goal: ratio >= 0.8);
//! - `markdown_reject/<input>`: inputs the caps refuse; the ratio says how many times faster
//!   refusing is than sanitizing the same input would be;
//! - `render_scaling/<shape>/<size>`: adversarial-but-accepted shapes at 1, 4, 16 and 64 KiB;
//!   the ratio pass prints ns/byte per size (flat = linear) for ours and for the baseline.

use std::hint::black_box;

use cachet_benches::ratio::{human, Report, Settings};
use cachet_core::markdown::{render, RenderError, MAX_ATTRIBUTES, MAX_NESTING};
use cachet_core::validate::MAX_MESSAGE_BYTES;
use criterion::{BenchmarkId, Criterion, Throughput};
use pulldown_cmark::{html, Options, Parser};

/// The baseline: what `render` does, minus our caps and policy.
fn baseline(src: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES;
    let mut out = String::with_capacity(src.len() * 3 / 2 + 16);
    html::push_html(&mut out, Parser::new_ext(src, options));
    ammonia::clean(&out)
}

/// A typical incident message: headings, lists, a table, code, a quote, links, a footnote.
const REALISTIC: &str = r#"## Elevated API error rates

**Update 14:32 UTC** - We have identified the cause of elevated `5xx` responses on the
[public API](https://status.example.com/components/api) and are rolling out a fix.

### Impact

- Requests to `/v1/orders` failed intermittently (~12% error rate)
- Webhook deliveries were delayed by up to **15 minutes**
- The dashboard was *not* affected
  - EU region: fully recovered
  - US region: recovering

### Timeline

| Time (UTC) | Event |
|------------|-------|
| 13:55 | Alerts fire for elevated latency |
| 14:05 | Incident declared, on-call engaged |
| 14:20 | Faulty configuration change identified |
| 14:32 | Rollback started |

1. Roll back configuration `api-gw@2024-05-01.3`
2. Drain and restart the affected nodes
3. Verify with synthetic checks

```
$ curl -s https://api.example.com/health
{"status":"ok","version":"4.2.1"}
```

> Customers using retries with exponential backoff should see no data loss.
> Contact <support@example.com> if you see otherwise.

See the [postmortem template](https://example.com/pm), our ~~old~~ new
[SLA](https://example.com/sla)[^1] and <https://example.com/changelog>.

[^1]: Credits are applied automatically.
"#;

/// `prefix`, then `unit` repeated (if not empty) while it fits in `size` bytes with `suffix`,
/// then `suffix`, then padded with `a` to exactly `size`.
fn fill(prefix: &str, unit: &str, suffix: &str, size: usize) -> String {
    let mut s = String::with_capacity(size);
    s.push_str(prefix);
    while !unit.is_empty() && s.len() + unit.len() + suffix.len() <= size {
        s.push_str(unit);
    }
    s.push_str(suffix);
    while s.len() < size {
        s.push('a');
    }
    s
}

/// Levels of nesting the accepted adversarial shapes use: just under the cap.
fn deep() -> usize {
    MAX_NESTING - 2
}

fn nested_divs(levels: usize) -> String {
    format!("{}x{}\n\n", "<div>".repeat(levels), "</div>".repeat(levels))
}

fn nested_quotes(levels: usize) -> String {
    format!("{}deep *text*\n\n", "> ".repeat(levels))
}

fn nested_list(levels: usize) -> String {
    (0..levels)
        .map(|i| format!("{}- item {i}\n", "  ".repeat(i)))
        .collect()
}

/// A ~60 KB message: the realistic one, repeated with numbered headings.
fn large() -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.len() + REALISTIC.len() + 32 < 60 * 1024 {
        s.push_str(&format!("# Part {i}\n\n{REALISTIC}\n"));
        i += 1;
    }
    s
}

/// Accepted inputs, ours vs baseline.
fn accepted() -> Vec<(&'static str, String)> {
    let lists = deep() / 2;
    vec![
        ("realistic", REALISTIC.to_owned()),
        ("large_60k", large()),
        ("nested_quote_30", nested_quotes(deep()).repeat(20)),
        ("nested_div_30", nested_divs(deep()).repeat(20)),
        ("nested_list_15", nested_list(lists).repeat(8)),
        // Unclosed tags stay open to the end of the message, so one run of them.
        ("unclosed_b_30", format!("{}text\n\n", "<b>".repeat(deep()))),
    ]
}

/// Inputs the caps refuse (the depth cap, or the size cap).
fn rejected() -> Vec<(&'static str, String)> {
    vec![
        ("unclosed_b_5000", "<b>".repeat(5000)),
        ("unclosed_b_21000", "<b>".repeat(21_000)),
        ("nested_div_33", nested_divs(MAX_NESTING + 1)),
        ("nested_quote_40", nested_quotes(40)),
        ("nested_div_10000", "<div>".repeat(10_000)),
        // `<div/>` opens a div in HTML: the cap must see what the parser builds.
        ("self_closed_div_10000", "<div/>".repeat(10_000)),
        // One tag whose attributes the parser would compare pairwise.
        (
            "attributes_9000",
            format!(
                "<div{}>x</div>",
                (0..9000).map(|i| format!(" a{i}")).collect::<String>()
            ),
        ),
        // A header row of 362 columns: every one-letter row below it becomes 362 cells.
        ("table_autofill", {
            let head = vec!["a"; 362].join("|");
            let sep = vec!["-"; 362].join("|");
            format!("{head}\n{sep}\n{}", "a\n".repeat(725))
        }),
        // Text a table moves out of itself piece by piece, past 13 000 siblings.
        (
            "foster_parenting",
            format!(
                "<div>{}<table>x{}",
                "x<br>".repeat(6500),
                "&".repeat(32_000)
            ),
        ),
        ("too_long", "a".repeat(MAX_MESSAGE_BYTES + 1)),
    ]
}

/// One measured size of a scaling shape: bytes, ours ns/byte, baseline ns/byte.
type Cell = (usize, f64, f64);

const SIZES: [usize; 4] = [1024, 4 * 1024, 16 * 1024, 64 * 1024];

/// Adversarial shapes that the caps accept, at `size` bytes.
fn scaling_shapes(size: usize) -> Vec<(&'static str, String)> {
    let capped_attrs = format!(
        "<span{}>x</span>\n",
        (0..MAX_ATTRIBUTES)
            .map(|i| format!(" a{i}=1"))
            .collect::<String>()
    );
    vec![
        ("nested_div", fill("", &nested_divs(deep()), "", size)),
        ("nested_quote", fill("", &nested_quotes(deep()), "", size)),
        ("nested_list", fill("", &nested_list(deep() / 2), "", size)),
        ("emphasis_runs", fill("", "*a **b _c __d [e ~~f ", "", size)),
        ("flat_inline_html", fill("", "<b>x</b> <i>y</i> ", "", size)),
        // Tags with as many attributes as the cap allows, one after the other.
        ("capped_attributes", fill("", &capped_attrs, "", size)),
        // A markdown table: every row as wide as its header.
        (
            "table_rows",
            fill(
                "| a | b | c | d |\n|---|---|---|---|\n",
                "| 1 | 2 | 3 | 4 |\n",
                "",
                size,
            ),
        ),
    ]
}

/// Every input of `accepted` and `scaling_shapes` is meant to pass the caps; one that does
/// not is a bug of this bench (it would silently measure the rejection), so it stops the run.
fn assert_accepted(name: &str, src: &str) {
    if let Err(e) = render(src) {
        panic!("bench input {name} should be accepted, but render refuses it: {e}");
    }
}

/// A scaling shape at one size: accepted, or refused only by the HTML size cap (markdown
/// such as 30-deep quotes expands 13 times, so its largest sizes pass 512 KiB of HTML).
/// Anything else is a bug of this bench, as for [`assert_accepted`].
fn scaling_accepted(name: &str, size: usize, src: &str) -> bool {
    match render(src) {
        Ok(_) => true,
        Err(RenderError::TooLarge { .. }) => {
            eprintln!("render_scaling/{name} at {size} B: refused by the HTML size cap");
            false
        }
        Err(e) => panic!("scaling input {name} at {size} B is refused: {e}"),
    }
}

fn criterion_groups(c: &mut Criterion) {
    let mut g = c.benchmark_group("markdown");
    for (name, src) in accepted() {
        assert_accepted(name, &src);
        g.throughput(Throughput::Bytes(src.len() as u64));
        g.bench_with_input(BenchmarkId::new("ours", name), &src, |b, s| {
            b.iter(|| render(black_box(s)))
        });
        g.bench_with_input(BenchmarkId::new("baseline", name), &src, |b, s| {
            b.iter(|| baseline(black_box(s)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("markdown_reject");
    for (name, src) in rejected() {
        assert!(render(&src).is_err(), "{name} should be refused");
        g.throughput(Throughput::Bytes(src.len() as u64));
        g.bench_with_input(BenchmarkId::new("ours", name), &src, |b, s| {
            b.iter(|| render(black_box(s)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("render_scaling");
    g.sample_size(20);
    for size in SIZES {
        for (shape, src) in scaling_shapes(size) {
            if !scaling_accepted(shape, size, &src) {
                continue;
            }
            g.throughput(Throughput::Bytes(src.len() as u64));
            g.bench_with_input(BenchmarkId::new(shape, size), &src, |b, s| {
                b.iter(|| render(black_box(s)))
            });
        }
    }
    g.finish();
}

fn ratios(report: &mut Report) {
    for (name, src) in accepted() {
        assert_accepted(name, &src);
        report.compare(
            &format!("markdown/{name}"),
            || {
                let _ = black_box(render(black_box(&src)));
            },
            || {
                black_box(baseline(black_box(&src)));
            },
        );
    }
    for (name, src) in rejected() {
        report.compare_with_note(
            &format!("markdown_reject/{name}"),
            "rejection vs sanitizing the same input",
            || {
                let _ = black_box(render(black_box(&src)));
            },
            || {
                black_box(baseline(black_box(&src)));
            },
        );
    }

    // Scaling: ns/byte per size; a flat row is linear.
    let budget = report.settings().budget / 4;
    let mut rows: Vec<(String, Vec<Cell>)> = Vec::new();
    for size in SIZES {
        for (shape, src) in scaling_shapes(size) {
            let name = format!("render_scaling/{shape}");
            if !report.settings().wants(&name) || !scaling_accepted(shape, size, &src) {
                continue;
            }
            if !report.settings().measure {
                let _ = render(&src);
                continue;
            }
            let ours = cachet_benches::ratio::time(budget, || {
                let _ = black_box(render(black_box(&src)));
            });
            let base = cachet_benches::ratio::time(budget, || {
                black_box(baseline(black_box(&src)));
            });
            let len = f64::from(u32::try_from(src.len()).unwrap_or(u32::MAX));
            match rows.iter_mut().find(|(n, _)| *n == name) {
                Some((_, r)) => r.push((size, ours / len, base / len)),
                None => rows.push((name, vec![(size, ours / len, base / len)])),
            }
        }
    }
    for (name, row) in rows {
        let cells: Vec<String> = row
            .iter()
            .map(|(size, ours, base)| format!("{}K {ours:.1} ({base:.1})", size / 1024))
            .collect();
        let (growth, span) = match (row.get(1), row.last()) {
            (Some(small), Some(big)) if small.1 > 0.0 => (
                big.1 / small.1,
                format!("{}K/{}K", big.0 / 1024, small.0 / 1024),
            ),
            _ => (f64::NAN, "-".to_owned()),
        };
        let verdict = if growth <= 2.0 {
            "linear"
        } else {
            "SUPERLINEAR"
        };
        report.line(format!(
            "SCALING {name} ns/byte ours (baseline): {}  {span} = {growth:.2} {verdict}",
            cells.join(", ")
        ));
        if let Some((size, ours, _)) = row.last() {
            let total = ours * f64::from(u32::try_from(*size).unwrap_or(u32::MAX));
            report.line(format!(
                "        {name} at {}K: {}/message",
                size / 1024,
                human(total)
            ));
        }
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    criterion_groups(&mut c);
    c.final_summary();
    let mut report = Report::new(Settings::from_env());
    ratios(&mut report);
    report.print_summary("markdown: ours vs baseline in this run");
}
