// Playwright MCP's observation of each corpus page: spawns `@playwright/mcp`
// (stdio, headless, our Chromium), then for every page calls
// `browser_navigate` and `browser_snapshot` and saves the snapshot tool
// result text -- what a model receives -- to OUT/<page>.txt.
//
// usage: node playwright_mcp.mjs BASE_URL OUT_DIR VIEWPORT(WxH) page...
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const [base, outDir, viewport, ...pages] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
const require = createRequire(import.meta.url);
const cli = path.join(path.dirname(require.resolve('@playwright/mcp/package.json')), 'cli.js');
const chromium = process.env.WAYFARER_CHROMIUM || '/usr/bin/chromium';
const child = spawn(process.execPath, [cli, '--headless', '--isolated', '--no-sandbox',
  '--executable-path', chromium, '--viewport-size', viewport], { stdio: ['pipe', 'pipe', 'inherit'] });

let buffer = '';
const waiting = new Map();
child.stdout.on('data', (chunk) => {
  buffer += chunk;
  let nl;
  while ((nl = buffer.indexOf('\n')) >= 0) {
    const line = buffer.slice(0, nl).trim();
    buffer = buffer.slice(nl + 1);
    if (!line) continue;
    const msg = JSON.parse(line);
    if (msg.id !== undefined && waiting.has(msg.id)) {
      waiting.get(msg.id)(msg);
      waiting.delete(msg.id);
    }
  }
});
let nextId = 1;
function rpc(method, params) {
  const id = nextId++;
  child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
  return new Promise((resolve) => waiting.set(id, resolve));
}
const text = (res) => (res.result?.content || []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');

await rpc('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'wayfarer-bench', version: '0' } });
child.stdin.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
for (const page of pages) {
  const nav = await rpc('tools/call', { name: 'browser_navigate', arguments: { url: `${base}/${page}/index.html` } });
  if (nav.error || nav.result?.isError) console.error(`${page}: navigate failed: ${JSON.stringify(nav.error || text(nav)).slice(0, 200)}`);
  const snap = await rpc('tools/call', { name: 'browser_snapshot', arguments: {} });
  writeFileSync(path.join(outDir, `${page}.txt`), text(snap));
  process.stderr.write(`playwright-mcp ${page}\n`);
}
child.kill();
process.exit(0);
