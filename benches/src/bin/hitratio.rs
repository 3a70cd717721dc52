//! `hitratio`: hit ratios measured, not assumed. Replays Zipf (0.9, 0.99, 1.1) and
//! scan-polluted traces cache-aside at cache sizes of 1%, 10% and 50% of the key space, and
//! prints each system's hit ratio: an exact LRU (computed here), `moka`, `quick_cache`, and
//! Memora under `allkeys-lru`, `allkeys-lfu`, `allkeys-random`, and `allkeys-lfu` with the
//! TinyLFU admission filter.
//!
//! Targets (the summary checks each trace × size): `allkeys-lfu` within 2 points of the best
//! of `moka` and `quick_cache`; `allkeys-lru` within 3 points of the exact LRU.
//!
//! Everything is single-threaded and seeded, so two runs print the same ratios (run times
//! aside). The traces, the replay and the systems' settings are documented in
//! `memora_benches::hitratio` and `memora_benches::hitratio_caches`; `benches/README.md` has
//! the flags.
//!
//! ```text
//! cargo run --release -p memora-benches --bin hitratio [-- --quick] [--keys N] [--requests N]
//!     [--sizes 1,10,50] [--traces zipf0.9,zipf0.99,zipf1.1,scan] [--systems ...]
//!     [--request-interval-us 10] [--maxmemory-samples N] [--lfu-decay-time MINUTES] [--seed N]
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use memora_benches::hitratio::{
    ExactLru, ExactLruCache, ReplayOutcome, ceiling_hit_percent, replay, scan_polluted_trace, zipf_trace,
};
use memora_benches::hitratio_caches::{
    Calibration, MEMORA_VARIANTS, MemoraCache, MemoraSettings, MokaCache, QuickCache, calibrate_memora,
};
use memora_benches::workload::DEFAULT_KEY_COUNT;
use memora_benches::{parse_count, parse_list};

/// Simulated time between requests: 10 µs, a cache serving 100,000 requests a second. Memora
/// reads time for LRU access times (4 ms units) and LFU decay (`lfu-decay-time`, minutes);
/// at a slow simulated rate (1 ms, `--request-interval-us 1000`) a minute is only 60,000
/// requests and warm keys' counters decay between their hits, which no busy deployment sees
/// (allkeys-lfu then loses 2-4 points at the 10% size; see benches/README.md).
const DEFAULT_REQUEST_INTERVAL_US: u64 = 10;

/// Largest shortfall of `allkeys-lfu` against the best peer that passes, in points.
const LFU_TARGET_POINTS: f64 = -2.0;
/// Largest shortfall of `allkeys-lru` against the exact LRU that passes, in points.
const LRU_TARGET_POINTS: f64 = -3.0;
/// A system holding more than capacity + capacity / this many keys at the end is flagged.
const OVERFULL_DIVISOR: usize = 10;
/// The Zipf exponent under the scan-polluted trace.
const SCAN_BASE_EXPONENT: f64 = 0.99;

/// A trace family; the scan-polluted trace depends on the cache size too.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TraceKind {
    Zipf(f64),
    Scan,
}

impl TraceKind {
    fn parse(name: &str) -> Result<TraceKind, String> {
        match name {
            "scan" => Ok(TraceKind::Scan),
            _ => match name.strip_prefix("zipf").map(str::parse::<f64>) {
                Some(Ok(s)) if s > 0.0 && s < 10.0 => Ok(TraceKind::Zipf(s)),
                _ => Err(format!("unknown trace {name} (zipf<s>, scan)")),
            },
        }
    }

    fn name(self) -> String {
        match self {
            TraceKind::Zipf(s) => format!("zipf{s}"),
            TraceKind::Scan => format!("scan{SCAN_BASE_EXPONENT}"),
        }
    }

    fn description(self) -> String {
        match self {
            TraceKind::Zipf(s) => format!("Zipf({s})"),
            TraceKind::Scan => format!(
                "Zipf({SCAN_BASE_EXPONENT}) with one-off scans of C fresh keys after 2C requests, \
                 then after every 4C (scans are 20% of the requests)"
            ),
        }
    }

    fn zipf_exponent(self) -> f64 {
        match self {
            TraceKind::Zipf(s) => s,
            TraceKind::Scan => SCAN_BASE_EXPONENT,
        }
    }
}

/// A column of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum System {
    ExactLru,
    Moka,
    QuickCache,
    /// Index into [`MEMORA_VARIANTS`].
    Memora(usize),
}

impl System {
    fn all() -> Vec<System> {
        let peers = [System::ExactLru, System::Moka, System::QuickCache];
        peers.into_iter().chain((0..MEMORA_VARIANTS.len()).map(System::Memora)).collect()
    }

    fn name(self) -> &'static str {
        match self {
            System::ExactLru => "exact LRU",
            System::Moka => "moka",
            System::QuickCache => "quick_cache",
            System::Memora(index) => MEMORA_VARIANTS[index].name,
        }
    }

    /// The `--systems` name: `exact-lru`, `moka`, `quick_cache`, or a policy name.
    fn parse(name: &str) -> Result<System, String> {
        match name {
            "exact-lru" => Ok(System::ExactLru),
            "moka" => Ok(System::Moka),
            "quick_cache" => Ok(System::QuickCache),
            // A column name without `memora ` first (`allkeys-lfu+admission`), else the
            // first variant of that policy.
            _ => MEMORA_VARIANTS
                .iter()
                .position(|v| v.name.strip_prefix("memora ") == Some(name))
                .or_else(|| MEMORA_VARIANTS.iter().position(|v| v.policy == name))
                .map(System::Memora)
                .ok_or_else(|| format!("unknown system {name}")),
        }
    }
}

/// Command-line settings.
#[derive(Debug, Clone)]
struct Args {
    keys: usize,
    requests: usize,
    size_percents: Vec<f64>,
    traces: Vec<TraceKind>,
    systems: Vec<System>,
    memora: MemoraSettings,
    seed: u64,
}

const HELP: &str = "usage: hitratio [--quick] [--keys N] [--requests N] [--sizes 1,10,50 (% of keys)] \
                    [--traces zipf0.9,zipf0.99,zipf1.1,scan] \
                    [--systems exact-lru,moka,quick_cache,allkeys-lru,allkeys-lfu,allkeys-random,\
                    allkeys-lfu+admission] \
                    [--request-interval-us 10] [--maxmemory-samples N] [--lfu-decay-time MINUTES] [--seed N]";

impl Args {
    fn parse() -> Result<Args, String> {
        let mut args = Args {
            keys: DEFAULT_KEY_COUNT,
            requests: 5_000_000,
            size_percents: vec![1.0, 10.0, 50.0],
            traces: vec![TraceKind::Zipf(0.9), TraceKind::Zipf(0.99), TraceKind::Zipf(1.1), TraceKind::Scan],
            systems: System::all(),
            memora: MemoraSettings {
                request_interval_us: DEFAULT_REQUEST_INTERVAL_US,
                maxmemory_samples: None,
                lfu_decay_time: None,
            },
            seed: 42,
        };
        let mut argv = std::env::args().skip(1);
        while let Some(flag) = argv.next() {
            let mut value = || argv.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--quick" => {
                    args.keys = 100_000;
                    args.requests = 500_000;
                }
                "--keys" => args.keys = parse_count(&value()?)?,
                "--requests" => args.requests = parse_count(&value()?)?,
                "--sizes" => args.size_percents = parse_list(&value()?, parse_percent)?,
                "--traces" => args.traces = parse_list(&value()?, TraceKind::parse)?,
                "--systems" => args.systems = parse_list(&value()?, System::parse)?,
                "--request-interval-us" => {
                    args.memora.request_interval_us = parse_count(&value()?)? as u64;
                }
                "--maxmemory-samples" => {
                    let samples = parse_count(&value()?)?;
                    let samples =
                        u32::try_from(samples).map_err(|_| format!("too many samples: {samples}"))?;
                    args.memora.maxmemory_samples = Some(samples);
                }
                "--lfu-decay-time" => {
                    let text = value()?;
                    let minutes =
                        text.parse::<u32>().map_err(|_| format!("not a count of minutes: {text}"))?;
                    args.memora.lfu_decay_time = Some(minutes);
                }
                "--seed" => args.seed = parse_count(&value()?)? as u64,
                "-h" | "--help" => return Err(HELP.to_string()),
                // `cargo bench` passes `--bench` to every target.
                "--bench" => {}
                other => return Err(format!("unknown argument {other}\n{HELP}")),
            }
        }
        if [args.size_percents.len(), args.traces.len(), args.systems.len()].contains(&0) {
            return Err(format!("nothing to measure\n{HELP}"));
        }
        Ok(args)
    }

    /// Cache capacity in entries for a size in percent of the keys (at least 1).
    fn capacity(&self, percent: f64) -> usize {
        ((self.keys as f64 * percent / 100.0).round() as usize).max(1)
    }
}

fn parse_percent(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if p > 0.0 && p <= 100.0 => Ok(p),
        _ => Err(format!("not a percentage in (0, 100]: {text}")),
    }
}

/// One system's replay of one trace at one size, or why it did not run.
type Cell = Result<ReplayOutcome, String>;

/// Results of one trace: per size, the capacity, one cell per system, Memora calibrations.
#[derive(Debug)]
struct TraceResult {
    kind: TraceKind,
    rows: Vec<Row>,
}

/// One cache size of a trace.
#[derive(Debug)]
struct Row {
    percent: f64,
    capacity: usize,
    /// The hit ratio of a cache that never evicts (repeats over requests), in percent.
    ceiling_percent: f64,
    cells: Vec<Cell>,
    calibrations: Vec<(System, Calibration)>,
}

/// Builds `system` for `capacity` entries and replays `trace` on it.
fn run_system(system: System, capacity: usize, trace: &[u64], args: &Args, row: &mut Row) -> Cell {
    let outcome = match system {
        System::ExactLru => replay(trace, &mut ExactLruCache(ExactLru::new(capacity))),
        System::Moka => replay(trace, &mut MokaCache::new(capacity)),
        System::QuickCache => replay(trace, &mut QuickCache::new(capacity)),
        System::Memora(index) => {
            let variant = &MEMORA_VARIANTS[index];
            // The calibration's warm-up: the trace's first million requests (or all of it).
            let warmup = &trace[..trace.len().min(1_000_000)];
            let calibration = calibrate_memora(variant, capacity, &args.memora, warmup)?;
            row.calibrations.push((system, calibration));
            let mut cache = MemoraCache::new(variant, calibration.limit_bytes, &args.memora)?;
            replay(trace, &mut cache)
        }
    };
    Ok(outcome)
}

/// Replays every size of one trace family on every system.
fn run_trace(kind: TraceKind, zipf: &[u64], args: &Args) -> TraceResult {
    let mut rows = Vec::new();
    // A Zipf trace is the same at every size, so its ceiling is counted once; a scan-polluted
    // trace is rebuilt per size (its scans are as long as the cache), and so is its ceiling.
    let mut zipf_ceiling_percent = None;
    for &percent in &args.size_percents {
        let capacity = args.capacity(percent);
        let scanned;
        let (trace, ceiling_percent) = match kind {
            TraceKind::Zipf(_) => {
                (zipf, *zipf_ceiling_percent.get_or_insert_with(|| ceiling_hit_percent(zipf)))
            }
            TraceKind::Scan => {
                scanned = scan_polluted_trace(zipf, args.keys, capacity, args.requests);
                (&scanned[..], ceiling_hit_percent(&scanned))
            }
        };
        let mut row = Row { percent, capacity, ceiling_percent, cells: Vec::new(), calibrations: Vec::new() };
        for &system in &args.systems {
            let cell = run_system(system, capacity, trace, args, &mut row);
            match &cell {
                Ok(o) => eprintln!(
                    "  {} {percent}% {:<24} {:>6.2}%  {:>8} keys  {:>6.2} s",
                    kind.name(),
                    system.name(),
                    o.hit_percent(),
                    o.keys_held,
                    o.elapsed.as_secs_f64()
                ),
                Err(e) => eprintln!("  {} {percent}% {:<24} not run: {e}", kind.name(), system.name()),
            }
            row.cells.push(cell);
        }
        rows.push(row);
    }
    TraceResult { kind, rows }
}

/// Prints one table of the trace: a row per size (with the ceiling hit ratio if `ceiling`), a
/// column per system, `cell` formatting.
fn print_table(
    result: &TraceResult,
    args: &Args,
    (title, ceiling): (&str, bool),
    cell: impl Fn(&ReplayOutcome) -> String,
) {
    println!("{title}");
    print!("{:<16}", "size");
    if ceiling {
        print!(" {:>9}", "ceiling");
    }
    for system in &args.systems {
        print!(" {:>width$}", system.name(), width = column_width(*system));
    }
    println!();
    for row in &result.rows {
        print!("{:<16}", format!("{}% ({})", row.percent, row.capacity));
        if ceiling {
            print!(" {:>9.2}", row.ceiling_percent);
        }
        for (system, outcome) in args.systems.iter().zip(&row.cells) {
            let text = outcome.as_ref().map_or_else(|_| "n/a".to_string(), &cell);
            print!(" {:>width$}", text, width = column_width(*system));
        }
        println!();
    }
}

fn column_width(system: System) -> usize {
    system.name().len().max(9)
}

/// Prints the hit ratios, keys held, run times, errors and Memora calibrations of one trace.
fn print_trace(result: &TraceResult, args: &Args) {
    println!();
    println!("== {}: {} keys, {} requests ==", result.kind.name(), args.keys, args.requests);
    println!("{}", result.kind.description());
    let title = "hit ratio (%); ceiling: a cache that never evicts";
    print_table(result, args, (title, true), |o| format!("{:.2}", o.hit_percent()));
    print_table(result, args, ("keys held at the end", false), |o| o.keys_held.to_string());
    print_table(result, args, ("run time (s)", false), |o| format!("{:.2}", o.elapsed.as_secs_f64()));
    // The same refusal at every size is printed once.
    let mut refusals: Vec<(System, &str)> = Vec::new();
    for row in &result.rows {
        for (&system, cell) in args.systems.iter().zip(&row.cells) {
            match cell {
                Err(e) if refusals.contains(&(system, e.as_str())) => {}
                Err(e) => {
                    println!("{}% {}: not run: {e}", row.percent, system.name());
                    refusals.push((system, e.as_str()));
                }
                Ok(o) if o.errors > 0 => println!(
                    "{}% {}: {} errors, first: {}",
                    row.percent,
                    system.name(),
                    o.errors,
                    o.first_error.as_deref().unwrap_or("")
                ),
                Ok(o) if o.keys_held > row.capacity + row.capacity / OVERFULL_DIVISOR => println!(
                    "{}% {}: holds {} keys for a capacity of {}: is its limit enforced?",
                    row.percent,
                    system.name(),
                    o.keys_held,
                    row.capacity
                ),
                Ok(_) => {}
            }
        }
        for (system, c) in &row.calibrations {
            println!(
                "{}% {}: maxmemory {} B ({} B = {} entries × {:.1} B + {} B empty, raised for the \
                 steady state)",
                row.percent,
                system.name(),
                c.limit_bytes,
                c.full_bytes,
                c.entries,
                c.bytes_per_entry(),
                c.empty_bytes
            );
        }
    }
}

/// The hit ratio of `system` in `row`, if it was measured.
fn hit_percent(args: &Args, row: &Row, system: System) -> Option<f64> {
    let index = args.systems.iter().position(|&s| s == system)?;
    row.cells[index].as_ref().ok().map(ReplayOutcome::hit_percent)
}

/// `difference` against `target`: `+1.23 PASS`, or `n/a` when a side was not measured.
fn verdict(difference: Option<f64>, target: f64) -> String {
    match difference {
        Some(d) => format!("{d:+.2} {}", if d >= target { "PASS" } else { "MISS" }),
        None => "n/a".to_string(),
    }
}

/// Prints the targets per trace × size: every `allkeys-lfu` variant against the best peer,
/// every `allkeys-lru` variant against the exact LRU.
fn print_summary(results: &[TraceResult], args: &Args) {
    let of_policy = |policy: &str| -> Vec<System> {
        let is = |s: &System| matches!(s, System::Memora(i) if MEMORA_VARIANTS[*i].policy == policy);
        args.systems.iter().copied().filter(is).collect()
    };
    let (lfus, lrus) = (of_policy("allkeys-lfu"), of_policy("allkeys-lru"));
    println!();
    println!(
        "targets: allkeys-lfu - best(moka, quick_cache) >= {LFU_TARGET_POINTS:.1} points; \
         allkeys-lru - exact LRU >= {LRU_TARGET_POINTS:.1} points"
    );
    print!("{:<24} {:>10}", "trace, size", "best peer");
    for system in lfus.iter().chain(&lrus) {
        let against = if lfus.contains(system) { "best peer" } else { "exact" };
        print!(" {:>w$}", format!("{} - {against}", summary_name(*system)), w = summary_width(*system));
    }
    println!();
    for result in results {
        for row in &result.rows {
            let peers = [System::Moka, System::QuickCache].map(|s| hit_percent(args, row, s));
            let best_peer = peers.into_iter().flatten().reduce(f64::max);
            let exact = hit_percent(args, row, System::ExactLru);
            print!(
                "{:<24} {:>10}",
                format!("{}, {}% ({})", result.kind.name(), row.percent, row.capacity),
                best_peer.map_or_else(|| "n/a".to_string(), |b| format!("{b:.2}"))
            );
            for (systems, reference, target) in
                [(&lfus, best_peer, LFU_TARGET_POINTS), (&lrus, exact, LRU_TARGET_POINTS)]
            {
                for &system in systems {
                    let difference = hit_percent(args, row, system).zip(reference).map(|(a, b)| a - b);
                    print!(" {:>w$}", verdict(difference, target), w = summary_width(system));
                }
            }
            println!();
        }
    }
}

/// A Memora column's name without `memora `.
fn summary_name(system: System) -> &'static str {
    system.name().strip_prefix("memora ").unwrap_or(system.name())
}

fn summary_width(system: System) -> usize {
    summary_name(system).len() + " - best peer".len()
}

/// Per system, the replay time summed over every trace and size.
fn print_times(results: &[TraceResult], args: &Args) {
    println!();
    println!("total replay time per system:");
    for (index, system) in args.systems.iter().enumerate() {
        let total: Duration = results
            .iter()
            .flat_map(|r| &r.rows)
            .filter_map(|row| row.cells[index].as_ref().ok())
            .map(|o| o.elapsed)
            .sum();
        println!("  {:<24} {:>8.2} s", system.name(), total.as_secs_f64());
    }
}

fn main() -> ExitCode {
    let args = match Args::parse() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let start = Instant::now();
    println!(
        "hitratio: {} keys, {} requests per trace, sizes {:?}% of the keys, seed {}, \
         Memora clock +{} µs per request, maxmemory-samples {}, lfu-decay-time {}",
        args.keys,
        args.requests,
        args.size_percents,
        args.seed,
        args.memora.request_interval_us,
        args.memora.maxmemory_samples.map_or_else(|| "default".to_string(), |s| s.to_string()),
        args.memora.lfu_decay_time.map_or_else(|| "default".to_string(), |s| s.to_string())
    );
    let mut results = Vec::new();
    // Traces of one exponent share their Zipf stream (the scan trace is cut from 0.99's).
    let mut zipf_streams: Vec<(f64, Vec<u64>)> = Vec::new();
    for &kind in &args.traces {
        let exponent = kind.zipf_exponent();
        if !zipf_streams.iter().any(|(s, _)| *s == exponent) {
            let generated = Instant::now();
            let trace = zipf_trace(args.keys, args.requests, exponent, args.seed);
            eprintln!("zipf{exponent}: generated in {:.2} s", generated.elapsed().as_secs_f64());
            zipf_streams.push((exponent, trace));
        }
        let Some((_, trace)) = zipf_streams.iter().find(|(s, _)| *s == exponent) else { continue };
        let result = run_trace(kind, trace, &args);
        print_trace(&result, &args);
        results.push(result);
    }
    print_summary(&results, &args);
    print_times(&results, &args);
    println!("total run time: {:.1} s", start.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}
