// End-to-end test of Hearth's admin site in headless Chromium (Debian's package,
// driven by playwright-core), with JavaScript turned off: the admin works without it.
//
//   cargo build --release && (cd e2e && npm ci && node --test admin.spec.mjs)
//
// HEARTH_BIN (default ../target/release/hearth) and CHROMIUM (default /usr/bin/chromium)
// can be overridden. A screenshot of every page goes to e2e/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const BIN = process.env.HEARTH_BIN || join(HERE, '..', 'target', 'release', 'hearth');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = join(HERE, 'artifacts');
const PASSWORD = 'e2e-Adm1n-passphrase';

let work, server, context, page, base;
let shot = 0;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForServer(url) {
  for (let i = 0; i < 300; i++) {
    if (server.exitCode !== null) throw new Error(`hearth exited with ${server.exitCode}`);
    try {
      const r = await fetch(url, { redirect: 'manual' });
      if (r.status > 0) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`hearth did not answer at ${url} within 30 s`);
}

async function screenshot(name) {
  shot += 1;
  const file = join(ARTIFACTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
}

async function go(path) {
  const response = await page.goto(base + path);
  assert.ok(response, `no response for ${path}`);
  return response;
}

before(async () => {
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'hearth-e2e-'));
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite://${join(work, 'hearth.db')}`,
    SECRET_KEY: `e2e-${Math.random().toString(36).slice(2)}-${Date.now()}-secret-key-material`,
    HEARTH_SUPERUSER_PASSWORD: PASSWORD,
    DEBUG: 'true',
  };
  execFileSync(BIN, ['createsuperuser', '--username', 'root', '--email', 'root@example.com', '--noinput'], {
    cwd: work, env, stdio: 'inherit',
  });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(BIN, ['serve', '--addr', `127.0.0.1:${port}`], { cwd: work, env, stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForServer(`${base}/admin/login/`);
  context = await chromium.launchPersistentContext(join(work, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    javaScriptEnabled: false,
    viewport: { width: 1280, height: 800 },
  });
  page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(15000);
});

after(async () => {
  await context?.close();
  if (server && server.exitCode === null) server.kill('SIGTERM');
  if (work) rmSync(work, { recursive: true, force: true });
});

test('anonymous visitors are sent to the login page', async () => {
  await go('/admin/');
  assert.match(page.url(), /\/admin\/login\/\?next=\/admin\/$/);
  await screenshot('login');
});

test('the superuser logs in and sees every model', async () => {
  await page.fill('#id_username', 'root');
  await page.fill('#id_password', PASSWORD);
  await Promise.all([page.waitForURL(`${base}/admin/`), page.click('button:has-text("Log in")')]);
  const text = (await page.textContent('main')).toLowerCase();
  for (const name of ['users', 'tokens', 'messages', 'tasks', 'blog posts', 'albums', 'songs', 'likes']) {
    assert.ok(text.includes(name), `the index lacks ${name}`);
  }
  await screenshot('index');
});

test('an album is added through the form', async () => {
  await page.click('section.app:has(h2:has-text("Music")) a:has-text("Albums")');
  await page.click('a:has-text("Add album")');
  assert.match(page.url(), /\/admin\/music\/album\/add\/$/);
  await page.fill('#id_name', 'Blue Train');
  await page.fill('#id_artist', 'John Coltrane');
  await page.fill('#id_year_released', '1957-09-15');
  await screenshot('album-add');
  await Promise.all([page.waitForURL(`${base}/admin/music/album/`), page.click('button:has-text("Save")')]);
  assert.match(await page.textContent('.flash'), /The album “Blue Train” was added successfully\./);
  assert.match(await page.textContent('p.count'), /1 album/);
  await screenshot('album-list');
});

test('a song with negative streams shows the error beside the field, then saves', async () => {
  await go('/admin/music/song/add/');
  await page.fill('#id_song_name', "Moment's Notice");
  await page.selectOption('#id_album', { label: 'Blue Train' });
  await page.fill('#id_num_streams', '-5');
  await page.click('button:has-text("Save")');
  assert.match(page.url(), /\/admin\/music\/song\/add\/$/);
  assert.match(await page.textContent('.form-row:has(#id_num_streams) .errorlist'),
    /Ensure this value is greater than or equal to 0\./);
  assert.equal(await page.inputValue('#id_song_name'), "Moment's Notice", 'the typed name is kept');
  assert.equal(await page.inputValue('#id_num_streams'), '-5');
  assert.equal(await page.$eval('#id_album option:checked', (o) => o.textContent), 'Blue Train');
  await screenshot('song-error');
  await page.fill('#id_num_streams', '1200');
  await Promise.all([page.waitForURL(`${base}/admin/music/song/`), page.click('button:has-text("Save")')]);
  assert.match(await page.textContent('table.results'), /Moment's Notice[\s\S]*Blue Train[\s\S]*1200/);
  await screenshot('song-list');
});

test('the album list is searched', async () => {
  await go('/admin/music/album/');
  await page.fill('#searchbar', 'coltrane');
  await Promise.all([page.waitForURL(/\?q=coltrane/), page.press('#searchbar', 'Enter')]);
  assert.match(await page.textContent('p.count'), /1 album/);
  assert.ok(await page.isVisible('table.results a:has-text("Blue Train")'));
  await screenshot('search');
  await page.fill('#searchbar', 'no such album');
  await Promise.all([page.waitForURL(/\?q=no/), page.press('#searchbar', 'Enter')]);
  assert.match(await page.textContent('p.count'), /0 albums/);
});

test('the album is edited', async () => {
  await go('/admin/music/album/?q=coltrane');
  await page.click('table.results a:has-text("Blue Train")');
  assert.match(page.url(), /\/admin\/music\/album\/\d+\/change\/$/);
  assert.equal(await page.inputValue('#id_year_released'), '1957-09-15');
  await page.fill('#id_name', 'Blue Train (Remastered)');
  await screenshot('album-change');
  await Promise.all([page.waitForURL(`${base}/admin/music/album/`), page.click('button:has-text("Save")')]);
  assert.match(await page.textContent('.flash'), /“Blue Train \(Remastered\)” was changed successfully/);
});

test('deleting the album previews its song, then deletes both', async () => {
  await page.click('table.results a:has-text("Blue Train (Remastered)")');
  await page.click('a.deletelink');
  assert.match(page.url(), /\/delete\/$/);
  const preview = await page.textContent('main');
  assert.match(preview, /Song: Moment's Notice/);
  assert.match(preview, /Songs: 1/);
  await screenshot('delete-preview');
  await Promise.all([page.waitForURL(`${base}/admin/music/album/`), page.click('button:has-text("Yes, I’m sure")')]);
  assert.match(await page.textContent('.flash'), /was deleted successfully/);
  assert.match(await page.textContent('p.count'), /0 albums/);
  await screenshot('deleted');
  await go('/admin/music/song/');
  assert.match(await page.textContent('p.count'), /0 songs/);
});

test('the superuser logs out', async () => {
  await page.click('button:has-text("Log out")');
  assert.match(await page.textContent('h1'), /Logged out/);
  await screenshot('logged-out');
  await go('/admin/');
  assert.match(page.url(), /\/admin\/login\//);
});
