// Starts what an end-to-end run needs (Hearth, the Vite dev server or the build,
// headless Chromium) for one of three ways:
//
//   E2E_MODE=dev        the Vite dev server on 127.0.0.1:5173 against Hearth on another
//                       port (cross-origin), SQLite, debug defaults
//   E2E_MODE=served     the build served by Hearth itself (same origin), PostgreSQL,
//                       DEBUG=false
//   E2E_MODE=reference  the Vite dev server against the Django reference
//                       (../../../shared/reference, or REFERENCE_DIR); not in CI
//
// HEARTH_BIN (default ../../target/release/hearth), CHROMIUM (default
// /usr/bin/chromium) and PG_URL (default postgres://postgres@127.0.0.1:5432) can be
// overridden. Screenshots go to e2e/artifacts/<mode>/.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
export const APP = join(HERE, '..');
const ROOT = join(APP, '..', '..');
const BIN = resolve(process.env.HEARTH_BIN || join(ROOT, 'target', 'release', 'hearth'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PG_URL = process.env.PG_URL || 'postgres://postgres@127.0.0.1:5432';
const REFERENCE = process.env.REFERENCE_DIR || join(ROOT, '..', 'shared', 'reference');
export const MODE = process.env.E2E_MODE || 'dev';
/** Short, so that the tests see access tokens expire and get refreshed. */
export const ACCESS_SECONDS = 4;
export const STAFF_PASSWORD = 'e2e-Staff-passphrase-42';

const children = [];
let work;
let pgDatabase;

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(url, child, what) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    try {
      const r = await fetch(url, { redirect: 'manual' });
      if (r.status > 0) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not answer at ${url} within 60 s`);
}

function start(command, args, options, what) {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'], ...options });
  child.what = what;
  children.push(child);
  return child;
}

/** Starts the backend and the frontend; answers the page's base URL. */
export async function startSystem() {
  work = mkdtempSync(join(tmpdir(), 'hearth-web-e2e-'));
  if (MODE === 'reference') return startReference();
  const env = {
    ...process.env,
    SECRET_KEY: `e2e-${Math.random().toString(36).slice(2)}-${Date.now()}-secret-key-material`,
    ACCESS_TOKEN_LIFETIME: `${ACCESS_SECONDS}s`,
    HEARTH_SUPERUSER_PASSWORD: STAFF_PASSWORD,
    RUST_LOG: 'warn',
  };
  for (const name of ['STATIC_DIR', 'CORS_ALLOWED_ORIGINS', 'CSRF_TRUSTED_ORIGINS', 'ALLOWED_HOSTS',
    'REFRESH_TOKEN_LIFETIME', 'ROTATE_REFRESH_TOKENS', 'HEARTH_ADDR', 'VITE_API_URL']) delete env[name];
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const args = ['serve', '--addr', `127.0.0.1:${port}`];
  if (MODE === 'served') {
    pgDatabase = `hearth_web_e2e_${process.pid}`;
    execFileSync('createdb', ['-h', '127.0.0.1', '-U', 'postgres', pgDatabase], { stdio: 'inherit' });
    env.DATABASE_URL = `${PG_URL}/${pgDatabase}`;
    env.DEBUG = 'false';
    env.ALLOWED_HOSTS = '127.0.0.1';
    execFileSync('npm', ['run', 'build'], {
      cwd: APP,
      env: { ...process.env, VITE_API_URL: '' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    args.push('--static', join(APP, 'dist'));
  } else {
    env.DATABASE_URL = `sqlite://${join(work, 'hearth.db')}`;
    env.DEBUG = 'true';
  }
  execFileSync(BIN, ['createsuperuser', '--username', 'staff', '--email', 'staff@example.com', '--noinput'], {
    cwd: work, env, stdio: ['ignore', 'ignore', 'inherit'],
  });
  const hearth = start(BIN, args, { cwd: work, env }, 'hearth');
  await waitFor(`${api}/healthz`, hearth, 'hearth');
  if (MODE === 'served') return api;
  return startVite(api);
}

async function startReference() {
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    REFERENCE_DATA_DIR: work,
    DEBUG: 'true',
    WORKERS: '2',
    ACCESS_TOKEN_LIFETIME: `${ACCESS_SECONDS}`,
    DJANGO_SUPERUSER_PASSWORD: STAFF_PASSWORD,
  };
  execFileSync('bash', ['manage.sh', 'migrate', '--noinput'], { cwd: REFERENCE, env, stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('bash', ['manage.sh', 'createsuperuser', '--username', 'staff', '--email', 'staff@example.com', '--noinput'], {
    cwd: REFERENCE, env, stdio: ['ignore', 'ignore', 'inherit'],
  });
  const django = start('bash', ['run.sh', `127.0.0.1:${port}`], { cwd: REFERENCE, env, detached: true }, 'django');
  await waitFor(`${api}/music/album`, django, 'the reference');
  return startVite(api);
}

async function startVite(api) {
  const vite = start(join(APP, 'node_modules', '.bin', 'vite'), ['--port', '5173', '--strictPort', '--host', '127.0.0.1'], {
    cwd: APP,
    env: { ...process.env, VITE_API_URL: api },
  }, 'vite');
  await waitFor('http://127.0.0.1:5173/', vite, 'vite');
  return 'http://127.0.0.1:5173';
}

export async function launchBrowser() {
  // launch() gives the browser a fresh profile directory of its own
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

export async function stopSystem() {
  for (const child of children.reverse()) {
    if (child.exitCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      // the reference runs in its own process group (bash, gunicorn, workers)
      if (child.what === 'django') process.kill(-child.pid, 'SIGTERM');
      else child.kill('SIGTERM');
    } catch {
      // already gone
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }
  if (pgDatabase) {
    execFileSync('dropdb', ['-h', '127.0.0.1', '-U', 'postgres', '--if-exists', '--force', pgDatabase], { stdio: 'inherit' });
  }
  if (work && existsSync(work)) rmSync(work, { recursive: true, force: true });
}

export function artifacts() {
  const dir = join(HERE, 'artifacts', MODE);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Watches a page for what a person would not see but should not happen: an
 * uncaught exception, an unhandled rejection, a console error. The browser's own
 * lines about failed requests are left out: a 401 before a refresh is expected.
 */
export function watch(page) {
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    if (/^Failed to load resource|net::ERR_/.test(text)) return;
    problems.push(`console error: ${text}`);
  });
  return problems;
}
