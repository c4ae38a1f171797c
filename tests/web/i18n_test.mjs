// Checks the web pages' dictionaries (server/web/shared/i18n.js): zh and en
// hold exactly the same keys, every text is a non-empty string, and every
// status and action has a Chinese and an English name. Needs no browser.
//
//   node tests/web/i18n_test.mjs [server/web/shared/i18n.js]
//
// Prints what differs and exits 1; exits 0 when all agree.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const file = resolve(process.argv[2] ?? join(here, '../../server/web/shared/i18n.js'));

// The module's own tables, loaded as the browser would, with an export added.
const source = `${readFileSync(file, 'utf8')}\nexport { STRINGS, STATUS, ACTIONS };\n`;
const { STRINGS, STATUS, ACTIONS } =
  await import(`data:text/javascript;base64,${Buffer.from(source).toString('base64')}`);

// Keys of `a` that `b` lacks.
const lacking = (a, b) => Object.keys(a).filter((k) => !Object.hasOwn(b, k));

// The check must be able to fail: it has to see a key one side lacks.
if (lacking({ same: 1, extra: 2 }, { same: 1 }).join() !== 'extra') {
  console.log('FAIL the key comparison itself is broken');
  process.exit(1);
}

const problems = [];
const onlyZh = lacking(STRINGS.zh, STRINGS.en);
const onlyEn = lacking(STRINGS.en, STRINGS.zh);
if (onlyZh.length) problems.push(`en lacks: ${onlyZh.join(', ')}`);
if (onlyEn.length) problems.push(`zh lacks: ${onlyEn.join(', ')}`);
for (const l of ['zh', 'en']) {
  const empty = Object.keys(STRINGS[l]).filter((k) => typeof STRINGS[l][k] !== 'string' || !STRINGS[l][k]);
  if (empty.length) problems.push(`${l} has empty texts: ${empty.join(', ')}`);
}
for (const [name, table] of [['STATUS', STATUS], ['ACTIONS', ACTIONS]]) {
  const bad = Object.keys(table).filter((k) => {
    const v = table[k];
    return !Array.isArray(v) || v.length !== 2 || v.some((s) => typeof s !== 'string' || !s);
  });
  if (bad.length) problems.push(`${name} entries without a zh and an en name: ${bad.join(', ')}`);
}

for (const p of problems) console.log(`FAIL ${file}: ${p}`);
if (problems.length) process.exit(1);
console.log(`ok   ${file}: zh and en have the same ${Object.keys(STRINGS.zh).length} keys; ` +
  `${Object.keys(STATUS).length} statuses and ${Object.keys(ACTIONS).length} actions named in both`);
