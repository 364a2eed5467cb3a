// Counts all three observations with the same o200k_base tokenizer
// (js-tiktoken bundles the ranks; its counts of wayfarer's text are checked
// against wayfarer's own tiktoken-rs count) and counts actionable elements
// (links + buttons + form fields) each tool exposes. Prints a markdown table
// and the medians of per-page ratios.
//
// usage: node compare.mjs OUT_DIR page...
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import o200k from 'js-tiktoken/ranks/o200k_base';

const [outDir, ...pages] = process.argv.slice(2);
const enc = new Tiktoken(o200k);
const tokens = (s) => enc.encode(s).length;
const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const read = (...p) => (existsSync(path.join(outDir, ...p)) ? readFileSync(path.join(outDir, ...p), 'utf8') : null);

// Roles that are links, buttons or form fields, by each tool's vocabulary.
// Menu items count too: they are links or buttons with a menu role (`<a role=menuitem>`).
const WF_ROLES = new Set(['link', 'button', 'textbox', 'searchbox', 'combobox', 'checkbox', 'radio', 'switch',
  'slider', 'spinbutton', 'listbox', 'date', 'datetime', 'time', 'color', 'clickable', 'menuitem',
  'menuitemcheckbox', 'menuitemradio']);
const PW_RE = /^\s*- (link|button|textbox|searchbox|combobox|checkbox|radio|switch|slider|spinbutton|listbox|menuitem|menuitemcheckbox|menuitemradio)\b[^\n]*\[ref=/gm;
const BU_TAGS = new Set(['a', 'button', 'input', 'select', 'textarea']);

const rows = [];
let mismatches = 0;
for (const page of pages) {
  const wfRaw = read('wayfarer', `${page}.json`);
  const pw = read('playwright', `${page}.txt`);
  const bu = read('browser_use', `${page}.txt`);
  const buMeta = read('browser_use', `${page}.json`);
  const wf = wfRaw ? JSON.parse(wfRaw) : null;
  const row = { page };
  if (wf) {
    row.wf = tokens(wf.text);
    if (row.wf !== wf.tokens) mismatches++;
    // In the state (every one actionable by id) and listed one by one in the prompt text
    // (elements far from the viewport are summarised there, not listed).
    row.wfEls = wf.elements.filter((e) => WF_ROLES.has(e.role)).length;
    const listed = new Set([...wf.text.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])));
    row.wfListed = wf.elements.filter((e) => WF_ROLES.has(e.role) && listed.has(e.id)).length;
  }
  if (pw) {
    row.pw = tokens(pw);
    row.pwEls = (pw.match(PW_RE) || []).length;
  }
  if (bu) {
    row.bu = tokens(bu);
    const meta = buMeta ? JSON.parse(buMeta) : { by_tag: {} };
    row.buEls = Object.entries(meta.by_tag).filter(([t]) => BU_TAGS.has(t)).reduce((a, [, n]) => a + n, 0);
    row.buAll = meta.interactive;
  }
  rows.push(row);
}

const fmt = (x) => (x === undefined ? 'n/a' : String(x));
const ratio = (a, b) => (a && b ? a / b : NaN);
console.log('| page | wayfarer tokens | Playwright MCP tokens | browser-use tokens | wf/PW | wf/BU | actionable: wf listed (in state) / PW / BU |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.page} | ${fmt(r.wf)} | ${fmt(r.pw)} | ${fmt(r.bu)} | ${ratio(r.wf, r.pw).toFixed(2)} | ${ratio(r.wf, r.bu).toFixed(2)} | ${fmt(r.wfListed)} (${fmt(r.wfEls)}) / ${fmt(r.pwEls)} / ${fmt(r.buEls)} |`);
}
const rPw = rows.map((r) => ratio(r.wf, r.pw));
const rBu = rows.map((r) => ratio(r.wf, r.bu));
const sum = (k) => rows.reduce((a, r) => a + (r[k] || 0), 0);
console.log('');
console.log(`pages: ${rows.length}; median tokens wayfarer ${median(rows.map((r) => r.wf))}, Playwright MCP ${median(rows.map((r) => r.pw))}, browser-use ${median(rows.map((r) => r.bu))}`);
console.log(`median of per-page ratios: wayfarer/PlaywrightMCP = ${median(rPw).toFixed(3)} (goal <= 0.3), wayfarer/browser-use = ${median(rBu).toFixed(3)} (goal <= 0.5)`);
console.log(`actionable elements (links+buttons+fields), all pages: wayfarer listed ${sum('wfListed')} (in state ${sum('wfEls')}), Playwright MCP ${sum('pwEls')}, browser-use ${sum('buEls')}`);
console.log(`tokens per listed actionable element (sum/sum): wayfarer ${(sum('wf') / sum('wfListed')).toFixed(1)}, Playwright MCP ${(sum('pw') / sum('pwEls')).toFixed(1)}, browser-use ${(sum('bu') / sum('buEls')).toFixed(1)}`);
console.log(`pages where wayfarer's state holds fewer actionable elements than Playwright MCP lists: ${rows.filter((r) => r.wfEls < r.pwEls).map((r) => `${r.page} (${r.wfEls}<${r.pwEls})`).join(', ') || 'none'}`);
console.log(`pages where wayfarer's prompt lists fewer actionable elements than browser-use's: ${rows.filter((r) => r.wfListed < r.buEls).map((r) => `${r.page} (${r.wfListed}<${r.buEls})`).join(', ') || 'none'}`);
console.log(`tokenizer check: js-tiktoken o200k vs wayfarer's tiktoken-rs count differ on ${mismatches} page(s)`);
