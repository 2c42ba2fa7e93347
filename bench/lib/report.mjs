/** The one table: per run (connection mode, sessions), each figure for wasl and Postfix, and their ratio. */

const number = (value, digits = 0) =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '—';

function ratio({ wasl, postfix }) {
  return Number.isFinite(wasl) && Number.isFinite(postfix) && postfix > 0 ? `${(wasl / postfix).toFixed(2)}×` : '—';
}

const FIGURES = [
  { label: 'intake, letters/s (first to last 250)', pick: (run) => run.intakeRate, format: (v) => number(v) },
  { label: 'end to end, letters/s (all at the sink)', pick: (run) => run.endToEndRate, format: (v) => number(v) },
  { label: '250 after DATA under load, p50 ms', pick: (run) => run.loadLatency.p50, format: (v) => number(v, 1) },
  { label: '250 after DATA under load, p99 ms', pick: (run) => run.loadLatency.p99, format: (v) => number(v, 1) },
  { label: '250 after DATA, idle, p50 ms', pick: (run) => run.idleLatency.p50, format: (v) => number(v, 1) },
  { label: '250 after DATA, idle, p99 ms', pick: (run) => run.idleLatency.p99, format: (v) => number(v, 1) },
  { label: 'CPU per letter, ms (all processes of the system)', pick: (run) => run.cpuMsPerLetter, format: (v) => number(v, 2) },
  { label: 'peak memory, MB', pick: (run) => run.peakMemoryBytes / 2 ** 20, format: (v) => number(v, 1) },
  { label: 'on disk per letter, KB', pick: (run) => run.diskBytesPerLetter / 1024, format: (v) => number(v, 1) },
];

function pad(cells, widths) {
  return cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
}

/** A run that failed has only its `error`: its figures show as "—" and a line under its cell says why. */
const measuredRun = (run) => (run && !run.error ? run : undefined);

/**
 * `runs`: results keyed by `${mode}/${sessions}`, each { wasl?, postfix?, sink?, floor? }. The
 * libraries-alone column appears only when that system was measured.
 */
export function formatTable(runs) {
  const withFloor = [...runs.values()].some((systems) => systems.floor);
  const floorCell = (cell) => (withFloor ? [cell] : []);
  const rows = [['run / figure', 'wasl', 'postfix', 'wasl/postfix', 'smtp-sink', ...floorCell('libraries alone')]];
  for (const [key, results] of runs) {
    const systems = Object.fromEntries(Object.entries(results).map(([name, run]) => [name, measuredRun(run)]));
    const [mode, sessions] = key.split('/');
    const connections = mode === 'reuse' ? 'reused connections' : 'a new connection per letter';
    rows.push([`${sessions} session${sessions === '1' ? '' : 's'}, ${connections}`, '', '', '', '', ...floorCell('')]);
    for (const figure of FIGURES) {
      const wasl = systems.wasl ? figure.pick(systems.wasl) : Number.NaN;
      const postfix = systems.postfix ? figure.pick(systems.postfix) : Number.NaN;
      const sink = figure === FIGURES[0] && systems.sink ? figure.pick(systems.sink) : Number.NaN;
      const floor = systems.floor ? figure.pick(systems.floor) : Number.NaN;
      rows.push([`  ${figure.label}`, figure.format(wasl), figure.format(postfix), ratio({ wasl, postfix }), figure.format(sink), ...floorCell(figure.format(floor))]);
    }
    const counts = (run) => (run ? `${run.accepted}${run.truncated ? '*' : ''}/${run.sinkMessages}` : '—');
    rows.push(['  letters 250-ed / messages at sink', counts(systems.wasl), counts(systems.postfix), '', systems.sink ? String(systems.sink.accepted) : '—', ...floorCell(counts(systems.floor))]);
    for (const failed of Object.values(results).filter((run) => run.error)) rows.push({ note: `  FAILED ${failed.system}: ${failed.error}` });
  }
  const table = rows.filter(Array.isArray);
  const widths = table[0].map((_, column) => Math.max(...table.map((row) => row[column].length)));
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [pad(rows[0], widths), rule, ...rows.slice(1).map((row) => (Array.isArray(row) ? pad(row, widths) : row.note))].join('\n');
}
