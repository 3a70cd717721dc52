//! `compare`: Memora against `dashmap`, `scc`, `moka` and `quick_cache`, in one process, on
//! one pre-generated workload.
//!
//! Dimensions: system × key distribution (uniform, Zipf 0.99) × mix (90% GET / 10% SET, 50/50)
//! × threads (1, 2). Workload: 1M keys of 16 B with 32 B values, all preloaded, so every GET
//! hits; every GET returns an owned `Vec<u8>`. Operation streams are generated before any
//! timing. All systems are loaded up front; each cell runs a fixed number of operations per
//! thread on every system in turn, `--repeats` rounds, and reports each system's median Mops/s.
//!
//! Two tables are printed: throughput from wall time, and from each thread's CPU time (steadier
//! on a shared machine). See `benches/README.md` for every flag.
//!
//! ```text
//! cargo run --release -p memora-benches --bin compare [-- --quick] [--threads 1,2]
//!     [--ops N] [--keys N] [--repeats N] [--systems memora,memora-exec,dashmap,scc,moka,quick_cache]
//!     [--dists uniform,zipf] [--mixes 10,50] [--key-source arena|format]
//! ```

use std::hint::black_box;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use memora_benches::systems::{Store, StoreVisitor, SystemKind, Worker, preload};
use memora_benches::workload::{
    DEFAULT_KEY_COUNT, Dataset, Distribution, KEY_LEN, KeySampler, Op, VALUE_LEN, op_stream, write_key,
    write_value,
};
use memora_benches::{median, run_parallel, thread_cpu_time};
use memora_benches::{parse_count, parse_list};

/// Systems measured unless `--systems` says otherwise.
const DEFAULT_SYSTEMS: [SystemKind; 6] = [
    SystemKind::Memora,
    SystemKind::MemoraExecute,
    SystemKind::DashMap,
    SystemKind::Scc,
    SystemKind::Moka,
    SystemKind::QuickCache,
];
/// Key distributions measured unless `--dists` says otherwise.
const DISTRIBUTIONS: [Distribution; 2] = [Distribution::Uniform, ZIPF];
/// The Zipf distribution measured.
const ZIPF: Distribution = Distribution::Zipf(0.99);
/// Mixes measured unless `--mixes` says otherwise, as the percentage of SETs.
const SET_PERCENTS: [u32; 2] = [10, 50];

/// Command-line settings.
#[derive(Debug, Clone)]
struct Args {
    threads: Vec<usize>,
    ops_per_thread: usize,
    keys: usize,
    repeats: usize,
    systems: Vec<SystemKind>,
    distributions: Vec<Distribution>,
    set_percents: Vec<u32>,
    key_source: KeySource,
}

/// Where each operation's key (and SET value) bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeySource {
    /// Slices of the preallocated dataset (default): 48 MB of keys and values read at random,
    /// so fetching the key is itself a cache miss, overlapped more or less well by each system.
    Arena,
    /// Written into a stack buffer from the index for each operation (~140 instructions of
    /// formatting, no cache miss): the key is hot, as a server's freshly parsed argv would be.
    Format,
}
impl Args {
    fn parse() -> Result<Args, String> {
        let mut args = Args {
            threads: vec![1, 2],
            ops_per_thread: 5_000_000,
            keys: DEFAULT_KEY_COUNT,
            repeats: 3,
            systems: DEFAULT_SYSTEMS.to_vec(),
            distributions: DISTRIBUTIONS.to_vec(),
            set_percents: SET_PERCENTS.to_vec(),
            key_source: KeySource::Arena,
        };
        let mut argv = std::env::args().skip(1);
        while let Some(flag) = argv.next() {
            let mut value = || argv.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--quick" => {
                    args.ops_per_thread = 200_000;
                    args.keys = 100_000;
                    args.repeats = 1;
                }
                "--threads" => args.threads = parse_list(&value()?, parse_count)?,
                "--ops" => args.ops_per_thread = parse_count(&value()?)?,
                "--keys" => args.keys = parse_count(&value()?)?,
                "--repeats" => args.repeats = parse_count(&value()?)?,
                "--systems" => {
                    args.systems = parse_list(&value()?, |name| {
                        SystemKind::parse(name).ok_or_else(|| format!("unknown system {name}"))
                    })?;
                }
                "--dists" => {
                    args.distributions = parse_list(&value()?, |name| match name {
                        "uniform" => Ok(Distribution::Uniform),
                        "zipf" => Ok(ZIPF),
                        _ => Err(format!("unknown distribution {name} (uniform, zipf)")),
                    })?;
                }
                "--mixes" => {
                    args.set_percents = parse_list(&value()?, |n| match n.parse::<u32>() {
                        Ok(percent) if percent <= 100 => Ok(percent),
                        _ => Err(format!("not a SET percentage: {n}")),
                    })?;
                }
                "--key-source" => {
                    args.key_source = match value()?.as_str() {
                        "arena" => KeySource::Arena,
                        "format" => KeySource::Format,
                        other => return Err(format!("unknown key source {other} (arena, format)")),
                    };
                }
                "-h" | "--help" => return Err(HELP.to_string()),
                // `cargo bench` passes `--bench` to every target.
                "--bench" => {}
                other => return Err(format!("unknown argument {other}\n{HELP}")),
            }
        }
        if [args.threads.len(), args.systems.len(), args.distributions.len(), args.set_percents.len()]
            .contains(&0)
        {
            return Err(format!("nothing to measure\n{HELP}"));
        }
        Ok(args)
    }

    fn max_threads(&self) -> usize {
        self.threads.iter().copied().max().unwrap_or(1)
    }
}

const HELP: &str = "usage: compare [--quick] [--threads 1,2] [--ops N per thread] [--keys N] \
                    [--repeats N] [--systems memora,memora-exec,dashmap,scc,moka,quick_cache] \
                    [--dists uniform,zipf] [--mixes 10,50 (SET percentages)] \
                    [--key-source arena|format]";

/// One table row: a distribution, a mix and a thread count.
#[derive(Debug, Clone, Copy)]
struct Cell {
    distribution_index: usize,
    set_percent_index: usize,
    distribution: Distribution,
    set_percent: u32,
    threads: usize,
}

impl Cell {
    fn all(args: &Args) -> Vec<Cell> {
        let mut cells = Vec::new();
        for distribution_index in 0..args.distributions.len() {
            for set_percent_index in 0..args.set_percents.len() {
                for &threads in &args.threads {
                    cells.push(Cell {
                        distribution_index,
                        set_percent_index,
                        distribution: args.distributions[distribution_index],
                        set_percent: args.set_percents[set_percent_index],
                        threads,
                    });
                }
            }
        }
        cells
    }

    fn label(&self) -> String {
        let set = self.set_percent;
        format!("{:<9} {:>3}/{:<3} {:>2}", self.distribution.to_string(), 100 - set, set, self.threads)
    }
}

/// Pre-generated operations: `[distribution][mix][thread]`, each thread its own stream.
struct Streams(Vec<Vec<Vec<Vec<Op>>>>);

impl Streams {
    fn generate(args: &Args) -> Streams {
        let mut by_distribution = Vec::new();
        for &distribution in &args.distributions {
            let sampler = KeySampler::new(args.keys, distribution);
            let distribution_seed = if distribution == Distribution::Uniform { 0 } else { 100_000 };
            let mut by_mix = Vec::new();
            for &set_percent in &args.set_percents {
                let per_thread = (0..args.max_threads())
                    .map(|t| {
                        // A function of the cell's values, so filtering cells changes no stream.
                        let seed = 1 + distribution_seed + u64::from(set_percent) * 100 + t as u64;
                        op_stream(args.ops_per_thread, &sampler, set_percent, seed)
                    })
                    .collect();
                by_mix.push(per_thread);
            }
            by_distribution.push(by_mix);
        }
        Streams(by_distribution)
    }

    fn for_cell(&self, cell: Cell) -> &[Vec<Op>] {
        &self.0[cell.distribution_index][cell.set_percent_index][..cell.threads]
    }
}

/// Runs one stream through one worker; returns how many GETs missed.
fn run_stream<S: Store>(store: &S, data: &Dataset, ops: &[Op], key_source: KeySource) -> usize {
    match key_source {
        KeySource::Arena => run_stream_with::<S, false>(store, data, ops),
        KeySource::Format => run_stream_with::<S, true>(store, data, ops),
    }
}

/// [`run_stream`] for one key source: `FORMAT` writes each key (and SET value) into a stack
/// buffer from its index instead of reading it from the dataset's arrays.
fn run_stream_with<S: Store, const FORMAT: bool>(store: &S, data: &Dataset, ops: &[Op]) -> usize {
    let mut worker = store.worker();
    let mut misses = 0;
    let (mut key_buf, mut value_buf) = ([0u8; KEY_LEN], [0u8; VALUE_LEN]);
    for &op in ops {
        let index = op.index();
        let key = if FORMAT {
            write_key(index, &mut key_buf);
            &key_buf[..]
        } else {
            data.key(index)
        };
        if op.is_set() {
            let value = if FORMAT {
                write_value(index, &mut value_buf);
                &value_buf[..]
            } else {
                data.value(index)
            };
            worker.set(black_box(key), black_box(value));
        } else {
            let value = worker.get(black_box(key));
            misses += usize::from(value.is_none());
            black_box(value);
        }
    }
    misses
}

/// A preloaded system, type-erased so that all systems stay loaded and take turns cell by
/// cell (on a shared machine, load changes over minutes; interleaving spreads it evenly).
/// The operation loop itself is monomorphised per store type.
trait Runner: Sync {
    /// The system's table name.
    fn name(&self) -> &'static str;
    /// Runs `streams[t]` on thread `t` from a common start.
    fn run(&self, data: &Dataset, streams: &[Vec<Op>], key_source: KeySource) -> Sample;
}

/// What one run of a cell took.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Wall time from the common start to the last thread's end.
    wall: Duration,
    /// The largest per-thread CPU time: the wall time the run would take with a core per
    /// thread and no other load (spinning still counts, descheduled time does not).
    cpu: Duration,
    /// GETs that found nothing (always 0 unless a cache dropped entries).
    misses: usize,
}

/// A [`Runner`] over a concrete store.
struct Loaded<S> {
    name: &'static str,
    store: S,
}

impl<S: Store> Runner for Loaded<S> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run(&self, data: &Dataset, streams: &[Vec<Op>], key_source: KeySource) -> Sample {
        let misses = AtomicUsize::new(0);
        let cpu_nanos_max = AtomicU64::new(0);
        let wall = run_parallel(streams.len(), |thread| {
            let cpu_start = thread_cpu_time();
            let thread_misses = run_stream(&self.store, data, &streams[thread], key_source);
            misses.fetch_add(thread_misses, Ordering::Relaxed);
            let cpu_nanos = (thread_cpu_time().saturating_sub(cpu_start)).as_nanos() as u64;
            cpu_nanos_max.fetch_max(cpu_nanos, Ordering::Relaxed);
        });
        self.store.settle();
        let cpu = Duration::from_nanos(cpu_nanos_max.into_inner());
        Sample { wall, cpu, misses: misses.into_inner() }
    }
}

/// Builds and preloads one system, and warms it up.
struct Load<'a> {
    name: &'static str,
    data: &'a Dataset,
    warm_up: &'a [Op],
}

impl StoreVisitor for Load<'_> {
    type Output = Box<dyn Runner>;

    fn visit<S: Store + 'static>(self, store: S) -> Box<dyn Runner> {
        let start = Instant::now();
        preload(&store, self.data);
        eprintln!("{}: preloaded {} keys in {:.2?}", self.name, store.len(), start.elapsed());
        if store.len() != self.data.len() {
            eprintln!("{}: WARNING holds {} of {} keys", self.name, store.len(), self.data.len());
        }
        // Page in, and let thread-local allocator caches grow.
        run_stream(&store, self.data, self.warm_up, KeySource::Arena);
        store.settle();
        Box::new(Loaded { name: self.name, store })
    }
}

/// Median Mops/s by system, then by cell.
type Table = Vec<Vec<f64>>;

/// Measures every cell: for each cell, `repeats` rounds in which every system runs once (the
/// starting system rotating by round). Returns throughput from wall time and from thread CPU
/// time.
fn measure(
    args: &Args,
    runners: &[Box<dyn Runner>],
    data: &Dataset,
    streams: &Streams,
    cells: &[Cell],
) -> (Table, Table) {
    let mut wall_mops = vec![Vec::with_capacity(cells.len()); runners.len()];
    let mut cpu_mops = wall_mops.clone();
    for &cell in cells {
        let cell_streams = streams.for_cell(cell);
        let total_ops: usize = cell_streams.iter().map(Vec::len).sum();
        let mops_of = |time: Duration| total_ops as f64 / time.as_secs_f64().max(1e-9) / 1e6;
        let mut wall_samples = vec![Vec::with_capacity(args.repeats); runners.len()];
        let mut cpu_samples = wall_samples.clone();
        for round in 0..args.repeats {
            for turn in 0..runners.len() {
                let system = (round + turn) % runners.len();
                let sample = runners[system].run(data, cell_streams, args.key_source);
                if sample.misses > 0 {
                    eprintln!("{}: WARNING {} GETs missed", runners[system].name(), sample.misses);
                }
                wall_samples[system].push(mops_of(sample.wall));
                cpu_samples[system].push(mops_of(sample.cpu));
            }
        }
        for (system, runner) in runners.iter().enumerate() {
            let (wall, cpu) = (median(&wall_samples[system]), median(&cpu_samples[system]));
            let spread: Vec<String> = wall_samples[system].iter().map(|s| format!("{s:.2}")).collect();
            eprintln!(
                "{:<12} {}  wall {wall:>6.2} Mops/s [{}]  cpu {cpu:>6.2}",
                runner.name(),
                cell.label(),
                spread.join(" ")
            );
            wall_mops[system].push(wall);
            cpu_mops[system].push(cpu);
        }
    }
    (wall_mops, cpu_mops)
}

/// Median Mops/s by system (in `args.systems` order), then by cell.
struct Results<'a> {
    /// Which clock the throughput comes from.
    clock: &'static str,
    args: &'a Args,
    cells: &'a [Cell],
    mops: Table,
}

impl Results<'_> {
    fn get(&self, kind: SystemKind, cell_index: usize) -> Option<f64> {
        let system_index = self.args.systems.iter().position(|&k| k == kind)?;
        Some(self.mops[system_index][cell_index])
    }

    /// `numerator / denominator` for a cell, when both were measured.
    fn ratio(&self, numerator: SystemKind, denominator: &[SystemKind], cell_index: usize) -> Option<f64> {
        let top = self.get(numerator, cell_index)?;
        let bottom = denominator.iter().filter_map(|&k| self.get(k, cell_index)).reduce(f64::max)?;
        Some(top / bottom)
    }

    fn print(&self) {
        const RATIOS: [(&str, SystemKind, &[SystemKind]); 5] = [
            ("m/dash", SystemKind::Memora, &[SystemKind::DashMap]),
            ("m/scc", SystemKind::Memora, &[SystemKind::Scc]),
            ("m/best", SystemKind::Memora, &[SystemKind::DashMap, SystemKind::Scc]),
            ("m/moka", SystemKind::Memora, &[SystemKind::Moka]),
            ("exec/typed", SystemKind::MemoraExecute, &[SystemKind::Memora]),
        ];
        let mut header = format!("{:<9} {:>7} {:>2}", "dist", "mix", "th");
        for kind in &self.args.systems {
            header += &format!(" {:>11}", kind.name());
        }
        header += " |";
        for (name, _, _) in RATIOS {
            header += &format!(" {name:>10}");
        }
        println!(
            "\n{} Mops/s (median of {}, {} ops/thread, {} keys, keys from {:?})",
            self.clock, self.args.repeats, self.args.ops_per_thread, self.args.keys, self.args.key_source
        );
        println!("{header}");
        for (cell_index, cell) in self.cells.iter().enumerate() {
            let mut row = cell.label();
            for system_mops in &self.mops {
                row += &format!(" {:>11.2}", system_mops[cell_index]);
            }
            row += " |";
            for (_, top, bottom) in RATIOS {
                match self.ratio(top, bottom, cell_index) {
                    Some(ratio) => row += &format!(" {ratio:>9.2}x"),
                    None => row += &format!(" {:>10}", "-"),
                }
            }
            println!("{row}");
        }
        self.print_targets();
    }

    /// The targets, checked on every 2-thread row (README "Targets").
    fn print_targets(&self) {
        const TARGETS: [(&str, SystemKind, &[SystemKind], f64); 3] = [
            (
                "typed >= 0.9x best(dashmap, scc)",
                SystemKind::Memora,
                &[SystemKind::DashMap, SystemKind::Scc],
                0.9,
            ),
            ("typed >= 3x moka", SystemKind::Memora, &[SystemKind::Moka], 3.0),
            ("execute >= 0.6x typed", SystemKind::MemoraExecute, &[SystemKind::Memora], 0.6),
        ];
        println!("\nTargets ({} clock, 2-thread rows):", self.clock);
        for (name, top, bottom, goal) in TARGETS {
            let ratios: Vec<f64> = (0..self.cells.len())
                .filter(|&i| self.cells[i].threads == 2)
                .filter_map(|i| self.ratio(top, bottom, i))
                .collect();
            let Some(worst) = ratios.iter().copied().reduce(f64::min) else {
                println!("  {name:<34} not measured");
                continue;
            };
            let verdict = if worst >= goal { "PASS" } else { "MISS" };
            println!("  {name:<34} worst {worst:.2}x  {verdict}");
        }
    }
}

fn num_cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The first three fields of `/proc/loadavg` (the 1, 5 and 15 minute load averages).
fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

fn main() -> ExitCode {
    let args = match Args::parse() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    println!("load average at start: {} ({} cores)", load_average(), num_cores());
    let start = Instant::now();
    let data = Dataset::new(args.keys);
    let streams = Streams::generate(&args);
    eprintln!("generated {} keys and the op streams in {:.2?}", args.keys, start.elapsed());
    let cells = Cell::all(&args);
    let warm_up = &streams.for_cell(cells[0])[0];
    let runners: Vec<Box<dyn Runner>> = args
        .systems
        .iter()
        .map(|&kind| kind.build(2 * args.keys, Load { name: kind.name(), data: &data, warm_up }))
        .collect();
    let (wall_mops, cpu_mops) = measure(&args, &runners, &data, &streams, &cells);
    Results { clock: "wall-clock", args: &args, cells: &cells, mops: wall_mops }.print();
    Results { clock: "thread-CPU-time", args: &args, cells: &cells, mops: cpu_mops }.print();
    println!("\nload average at end: {}; total {:.1?}", load_average(), start.elapsed());
    ExitCode::SUCCESS
}
