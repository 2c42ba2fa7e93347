/**
 * The PostgreSQL strategy of the unit of work, for several gateways sharing one register.
 *
 * Writes go through the batch commit (group-commit.ts) on one connection of this gateway's own:
 * what arrives while a transaction commits is committed together in the next one, so the hot
 * counter row costs one commit (one WAL flush) per batch, not per letter.
 * Write transactions of all gateways take one advisory lock first (REGISTER_LOCK) and so run one at a time. A COMMIT is on disk when
 * it returns (synchronous_commit on, PostgreSQL's default), so there is no flush of our own.
 * Prepared statements live per connection, which is one more reason for a writer of its own.
 * Reads go to a pool (read committed): they never see a batch before its COMMIT.
 * A write that must not ride a batch (writeAlone: a rate bucket) goes to the pool too, in a
 * transaction of its own without the advisory lock: it touches one row no batch writes.
 *
 * The server may go away: every connection has connect and statement timeouts, so a write or a
 * ping rejects rather than hangs, and the writer connects again at the next write once the server
 * is back.
 */
import { sql } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { WaslError } from '../errors.js';
import { createBatchCommit, type BatchConnection } from './group-commit.js';
import { describePostgresUrl } from './open-register.js';
import { checkPostgresRegisterCurrent, migratePostgresRegister } from './postgres-migrations.js';
import type { QueryBuilder, RegisterTables, RegisterTx } from './register-tx.js';
import * as schema from './schema.pg.js';
import type { UnitOfWork } from './unit-of-work.js';

export interface PostgresRegister extends UnitOfWork<RegisterTx> {
  readonly engine: 'postgres';
}

export interface PostgresRegisterOptions {
  /** postgres://user:password@host:port/database (libpq's URL form; sslmode and the like as query parameters). */
  url: string;
  /** How long opening a connection may take before the write or read fails, in milliseconds. */
  connectTimeoutMs?: number;
  /** How long one statement may run (the server cancels it), in milliseconds. */
  statementTimeoutMs?: number;
  /** How long `ping` waits for the server's answer, in milliseconds. */
  pingTimeoutMs?: number;
  /** Connections for reads. */
  readConnections?: number;
  /** How long a write that waits only for its commit lingers for company, in milliseconds. */
  lingerMs?: number;
  /** Told how many writes each committed transaction held, and how long it held the register lock (/metrics). */
  onBatch?: (size: number, heldSeconds: number) => void;
  /**
   * Bring the register to the code's schema (a gateway starting), or only check it is current
   * (a command beside running gateways, which must not change the schema under them).
   */
  migrate?: boolean;
}

/**
 * The one place the PostgreSQL register is typed as the repositories know it: drizzle's
 * node-postgres database as SQLite's builder, the pg-core twins as the SQLite tables. Their rows
 * are the same (checked by tsc in schema.same-rows.ts) and the calls the repositories may make
 * build alike on both (register-tx.ts); the repository contract suite runs every query on both.
 */
function postgresRegisterTx(database: NodePgDatabase<typeof schema>): RegisterTx {
  return { engine: 'postgres', db: database as unknown as QueryBuilder, tables: schema as unknown as RegisterTables };
}

export async function openPostgresRegister({
  url,
  connectTimeoutMs = 5000,
  statementTimeoutMs = 15_000,
  pingTimeoutMs = 2000,
  readConnections = 10,
  lingerMs,
  onBatch,
  migrate = true,
}: PostgresRegisterOptions): Promise<PostgresRegister> {
  const connection: pg.ClientConfig = {
    connectionString: url,
    application_name: 'wasl',
    connectionTimeoutMillis: connectTimeoutMs,
    keepAlive: true,
    statement_timeout: statementTimeoutMs,
    // The server cancels a statement at statement_timeout; this is for a server that no longer answers at all.
    query_timeout: statementTimeoutMs + connectTimeoutMs,
    // A gateway stopped mid-transaction (SIGSTOP, a lost network) must not hold the counter row for ever.
    idle_in_transaction_session_timeout: statementTimeoutMs * 2,
  };
  if (migrate) await migratePostgresRegister(connection);
  else await checkPostgresRegisterCurrent(connection, describePostgresUrl(url));

  const pool = new pg.Pool({ ...connection, max: readConnections });
  pool.on('error', () => {
    // An idle connection broke (the server restarted): the pool drops it and the next read connects anew.
  });
  const pooled = drizzle({ client: pool, schema });
  const readTx = postgresRegisterTx(pooled);
  const writer = reconnectingWriter(connection);
  const commit = createBatchCommit(writer, { ...(lingerMs === undefined ? {} : { lingerMs }), onBatch });

  return {
    engine: 'postgres',
    write: commit,
    writeAlone: (run) =>
      pooled.transaction(async (tx) => {
        // It waits for its commit only: the server need not flush its WAL before answering.
        await tx.execute(sql`set local synchronous_commit = off`);
        return run(postgresRegisterTx(tx));
      }),
    async read(run) {
      return run(readTx);
    },
    async ping() {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the PostgreSQL register did not answer within ${pingTimeoutMs} ms`)), pingTimeoutMs);
      });
      try {
        await Promise.race([pool.query('SELECT 1'), late]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await commit.whenNoBatchOpen(() => Promise.all([writer.close(), pool.end()]));
    },
  };
}

/**
 * Every write transaction of every gateway on the register takes this lock first, so they run one
 * after another, as SQLite's one writer does. That is what keeps the register one: each entry of
 * the chain links to the one committed just before it (the counter rows alone would not order an
 * incoming letter and an answer), a duplicate check sees the letter another gateway has just
 * registered, a receipt allowance is never spent twice at once, and with one lock taken first by
 * all, transactions cannot deadlock on each other's rows. It costs little the counter row would not
 * cost anyway: each gateway commits what arrived meanwhile in one batch.
 * ("wasm": one past "wasl", the migration lock.)
 */
const REGISTER_LOCK = 0x7761736d;

/**
 * The writer's transaction statements on one connection, made at the first write and made again
 * at the next write after it broke (a pg.Client is not reusable once its connection has ended).
 */
function reconnectingWriter(connection: pg.ClientConfig): BatchConnection<RegisterTx> & { close(): Promise<void> } {
  type Writer = { client: pg.Client; tx: RegisterTx; broken: boolean };
  let current: Writer | undefined;
  let closed = false;

  async function connect(): Promise<Writer> {
    const client = new pg.Client(connection);
    const writer: Writer = { client, tx: postgresRegisterTx(drizzle({ client, schema })), broken: false };
    // Not a crash: the statement under way rejects with the error, and the next batch connects anew.
    client.on('error', () => (writer.broken = true));
    client.on('end', () => (writer.broken = true));
    try {
      await client.connect();
    } catch (error) {
      void client.end().catch(() => undefined);
      throw error;
    }
    return writer;
  }

  /** Lets go of a connection in an unknown state; the next batch opens another. */
  function discard(writer: Writer): void {
    writer.broken = true;
    if (current === writer) current = undefined;
    void writer.client.end().catch(() => undefined);
  }

  const open = (): Writer => {
    if (!current || current.broken) throw new Error('the PostgreSQL register has no transaction open');
    return current;
  };
  const run = async (statement: string): Promise<void> => void (await open().client.query(statement));

  return {
    get tx() {
      return open().tx;
    },
    async begin() {
      if (closed) throw new Error('the register is closed');
      if (current?.broken) discard(current);
      current ??= await connect();
      // One statement string, one round trip: the lock is the transaction's, released by COMMIT or ROLLBACK.
      await current.client.query(`BEGIN; SELECT pg_advisory_xact_lock(${REGISTER_LOCK})`);
    },
    async commit() {
      const writer = open();
      let result: pg.QueryResult;
      try {
        result = await writer.client.query('COMMIT');
      } catch (error) {
        discard(writer);
        // Sent but not answered: the server may have committed it. A sender told to try again is safe, as the same message is the letter it repeats.
        throw new WaslError('register.outcome_unknown', `the register's server did not confirm the commit: ${(error as Error).message}`, { temporary: true, cause: error });
      }
      // PostgreSQL answers COMMIT with ROLLBACK when a statement of the transaction failed and a write carried on.
      if (result.command !== 'COMMIT') {
        throw new Error('the transaction was rolled back: a statement failed and its write went on (on PostgreSQL a write must not carry on after a failed query)');
      }
    },
    async rollback() {
      const writer = current;
      if (!writer || writer.broken) return;
      try {
        await writer.client.query('ROLLBACK');
      } catch {
        discard(writer);
      }
    },
    savepoint: () => run('SAVEPOINT write'),
    release: () => run('RELEASE SAVEPOINT write'),
    rollbackTo: () => run('ROLLBACK TO SAVEPOINT write'),
    async close() {
      closed = true;
      const writer = current;
      current = undefined;
      if (writer && !writer.broken) await writer.client.end();
    },
  };
}
