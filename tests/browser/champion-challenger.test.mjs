// The dashboard's champion-versus-challenger section in headless Chromium:
// the scorecard is put in the shadow of the built-in model, a population is
// decided, and the page must show both arms, the swap set as a 2x2 table
// holding the very numbers of /v1/models/comparison, and each arm's
// approval rate over time. Then a split: no swap set. Run by
// scripts/check-pages against a running service on memory adapters with
// CREDIT_DECISIONS_MODELS_DIR=model/versions:
//
//     node tests/browser/champion-challenger.test.mjs http://127.0.0.1:8080 [screenshot.png]

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { launchChromium } from "./chromium.mjs";

const base = process.argv[2] ?? "http://127.0.0.1:8080";
const screenshot = process.argv[3];
const champion = "german-credit-2026.11.0";
const challenger = "german-credit-scorecard-2026.12.0";

async function route(mode, share) {
  const response = await fetch(`${base}/v1/models/routing`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      champion,
      challenger: { version: challenger, mode, share },
      reason: `the scorecard in ${mode}`,
    }),
  });
  assert.equal(response.status, 200, await response.text());
}

async function decide(applications) {
  const response = await fetch(`${base}/v1/decisions/batch`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ applications }),
  });
  assert.equal(response.status, 200);
}

const golden = JSON.parse(readFileSync(new URL("../../model/golden-vectors.json", import.meta.url)));
// Applications no earlier test decided, so the scorecard scores every one.
const population = golden.rows.slice(0, 300).map((row) => ({ ...row.application, telephone: !row.application.telephone }));
await route("shadow", 1.0);
await decide(population);
const comparison = await (await fetch(`${base}/v1/models/comparison`)).json();
assert.equal(comparison.challenger.version, challenger);
assert.equal(comparison.challenger.decisions, 300);

const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 2600 } });
  const requests = [];
  page.on("request", (request) => requests.push(request.url()));
  await page.goto(`${base}/monitoring`);

  const section = page.locator("#champion-challenger");
  assert.equal(await section.count(), 1, "the section is drawn");
  const armRows = section.locator("#arms tbody tr");
  assert.equal(await armRows.count(), 2);
  assert.match(await armRows.nth(0).innerText(), new RegExp(champion));
  assert.match(await armRows.nth(1).innerText(), new RegExp(`${challenger}\\s+300`));
  for (const cell of ["both_approve", "swap_in", "swap_out", "both_decline"]) {
    const text = await section.locator(`#swap-set td[data-cell="${cell}"]`).innerText();
    assert.equal(parseInt(text, 10), comparison.swap_set[cell], cell);
  }
  const champions = await section.locator("#arm-rates-chart circle.champion").count();
  const shadows = await section.locator("#arm-rates-chart circle.shadow").count();
  assert.ok(champions >= 1 && shadows >= 1, `a point per arm and hour: ${champions}, ${shadows}`);
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });

  // A split decides different applications: no swap set to show.
  await route("split", 0.5);
  await decide(population.slice(0, 50).map((application) => ({ ...application, age_years: 40 })));
  await page.goto(`${base}/monitoring`);
  assert.equal(await page.locator("#swap-set").count(), 0);
  assert.match(await page.locator("#champion-challenger").innerText(), /no swap set/);

  const outside = requests.filter((url) => !url.startsWith(base));
  assert.deepEqual(outside, [], "the page loads nothing from outside the service");
  console.log(`champion-challenger section: swap set ${JSON.stringify(comparison.swap_set)}, agreement ${comparison.agreement}`);
} finally {
  await browser.close();
}
