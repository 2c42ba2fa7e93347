/**
 * The one table: per run (connection mode, sessions), each figure for every system measured (wasl
 * on SQLite, on PostgreSQL with one gateway and with several, Postfix), wasl's ratio to Postfix,
 * and PostgreSQL's to SQLite.
 */

const number = (value, digits = 0) =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '—';

function ratio(value, reference) {
  return Number.isFinite(value) && Number.isFinite(reference) && reference > 0 ? `${(value / reference).toFixed(2)}×` : '—';
}

const FIGURES = [
  { label: 'intake, letters/s (first to last 250)', pick: (run) => run.intakeRate, format: (v) => number(v) },
  { label: 'end to end, letters/s (all at the sink)', pick: (run) => run.endToEndRate, format: (v) => number(v) },
  { label: '250 after DATA under load, p50 ms', pick: (run) => run.loadLatency.p50, format: (v) => number(v, 1) },
  { label: '250 after DATA under load, p99 ms', pick: (run) => run.loadLatency.p99, format: (v) => number(v, 1) },
  { label: '250 after DATA, idle, p50 ms', pick: (run) => run.idleLatency.p50, format: (v) => number(v, 1) },
  { label: '250 after DATA, idle, p99 ms', pick: (run) => run.idleLatency.p99, format: (v) => number(v, 1) },
  { label: 'CPU per letter, ms (all processes of the system)', pick: (run) => run.cpuMsPerLetter, format: (v) => number(v, 2) },
  { label: '  of which the PostgreSQL server, ms', pick: (run) => run.cpuMsPerLetterBy?.postgres ?? Number.NaN, format: (v) => number(v, 2) },
  { label: 'peak memory per gateway process, MB', pick: (run) => run.peakMemoryBytes / 2 ** 20, format: (v) => number(v, 1) },
  { label: 'register write transaction, p50 ms', pick: (run) => run.registerWrite?.p50Ms ?? Number.NaN, format: (v) => number(v, 2) },
  { label: 'register write transaction, p99 ms', pick: (run) => run.registerWrite?.p99Ms ?? Number.NaN, format: (v) => number(v, 2) },
  { label: 'register write transactions per letter', pick: (run) => run.registerWrite?.perLetter ?? Number.NaN, format: (v) => number(v, 2) },
  // What bounds every gateway on one register together: at most 1000 / this letters a second, whatever the gateways.
  { label: 'register held per letter, ms (mean × transactions)', pick: (run) => (run.registerWrite ? run.registerWrite.meanMs * run.registerWrite.perLetter : Number.NaN), format: (v) => number(v, 2) },
  { label: 'on disk per letter, KB', pick: (run) => run.diskBytesPerLetter / 1024, format: (v) => number(v, 1) },
];

function pad(cells, widths) {
  return cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
}

/** A run that failed has only its `error`: its figures show as "—" and a line under its cell says why. */
const measuredRun = (run) => (run && !run.error ? run : undefined);

/** wasl's systems first (SQLite, then PostgreSQL by workers), then Postfix; the sink and the libraries alone have columns of their own. */
const GATEWAY_ORDER = (name) => (name === 'wasl' ? 0 : name.startsWith('wasl×') ? 1 : name === 'wasl-pg' ? 2 : 3);

/**
 * `runs`: results keyed by `${mode}/${sessions}`, each { [system]: run }. A column appears only
 * when its system was measured.
 */
export function formatTable(runs) {
  const measured = new Set([...runs.values()].flatMap((systems) => Object.keys(systems)));
  const gateways = [...measured].filter((name) => name.startsWith('wasl')).sort((a, b) => GATEWAY_ORDER(a) - GATEWAY_ORDER(b) || a.localeCompare(b));
  const postgresColumns = gateways.filter((name) => name.startsWith('wasl-pg'));
  const columns = [
    ...gateways.map((name) => ({ title: name, cell: (systems, figure) => figure.format(systems[name] ? figure.pick(systems[name]) : Number.NaN) })),
    ...(measured.has('postfix') ? [{ title: 'postfix', cell: (systems, figure) => figure.format(systems.postfix ? figure.pick(systems.postfix) : Number.NaN) }] : []),
    ...(measured.has('wasl') && measured.has('postfix')
      ? [{ title: 'wasl/postfix', cell: (systems, figure) => ratio(systems.wasl ? figure.pick(systems.wasl) : Number.NaN, systems.postfix ? figure.pick(systems.postfix) : Number.NaN) }]
      : []),
    ...(measured.has('wasl')
      ? postgresColumns.map((name) => ({ title: `${name}/wasl`, cell: (systems, figure) => ratio(systems[name] ? figure.pick(systems[name]) : Number.NaN, systems.wasl ? figure.pick(systems.wasl) : Number.NaN) }))
      : []),
    ...(measured.has('sink') ? [{ title: 'smtp-sink', cell: (systems, figure) => figure.format(figure === FIGURES[0] && systems.sink ? figure.pick(systems.sink) : Number.NaN) }] : []),
    ...(measured.has('floor') ? [{ title: 'libraries alone', cell: (systems, figure) => figure.format(systems.floor ? figure.pick(systems.floor) : Number.NaN) }] : []),
  ];
  const counts = (run) => (run ? `${run.accepted}${run.truncated ? '*' : ''}/${run.sinkMessages}` : '—');
  const rows = [['run / figure', ...columns.map((column) => column.title)]];
  for (const [key, results] of runs) {
    const systems = Object.fromEntries(Object.entries(results).map(([name, run]) => [name, measuredRun(run)]));
    const [mode, sessions] = key.split('/');
    const connections = mode === 'reuse' ? 'reused connections' : 'a new connection per letter';
    rows.push([`${sessions} session${sessions === '1' ? '' : 's'}, ${connections}`, ...columns.map(() => '')]);
    for (const figure of FIGURES) rows.push([`  ${figure.label}`, ...columns.map((column) => column.cell(systems, figure))]);
    rows.push([
      '  letters 250-ed / messages at sink',
      ...columns.map((column) => (column.title === 'smtp-sink' ? (systems.sink ? String(systems.sink.accepted) : '—') : column.title.includes('/') ? '' : counts(systems[column.title === 'libraries alone' ? 'floor' : column.title]))),
    ]);
    for (const failed of Object.values(results).filter((run) => run.error)) rows.push({ note: `  FAILED ${failed.system}: ${failed.error}` });
  }
  const table = rows.filter(Array.isArray);
  const widths = table[0].map((_, column) => Math.max(...table.map((row) => row[column].length)));
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [pad(rows[0], widths), rule, ...rows.slice(1).map((row) => (Array.isArray(row) ? pad(row, widths) : row.note))].join('\n');
}
