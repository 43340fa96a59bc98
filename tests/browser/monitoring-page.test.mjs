// The monitoring dashboard in headless Chromium, drawing a real report: the
// training population and then one with only overdrawn checking accounts
// are decided through the service, and the page must show both charts and
// the drift table with checking_account at `act`, loading nothing from
// outside the service. Run by scripts/check-pages against a running service
// on memory adapters:
//
//     node tests/browser/monitoring-page.test.mjs http://127.0.0.1:8080 [screenshot.png]

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { launchChromium } from "./chromium.mjs";

const base = process.argv[2] ?? "http://127.0.0.1:8080";
const screenshot = process.argv[3];

// Decisions already logged (the docs page test decides one).
const before = (await (await fetch(`${base}/v1/monitoring`)).json()).decisions;
const golden = JSON.parse(readFileSync(new URL("../../model/golden-vectors.json", import.meta.url)));
const training = golden.rows.map((row) => row.application);
const overdrawn = training.map((application) => ({ ...application, checking_account: "below_0" }));
for (const applications of [training, overdrawn]) {
  const response = await fetch(`${base}/v1/decisions/batch`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ applications }),
  });
  assert.equal(response.status, 200);
}

const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 1800 } });
  const requests = [];
  page.on("request", (request) => requests.push(request.url()));
  await page.goto(`${base}/monitoring`);

  const figures = await page.locator("#figures").innerText();
  const decided = new RegExp(`^${before + 2000}\\s*decisions`);
  assert.match(figures, decided);
  const bars = await page.locator("#decisions-chart rect").count();
  assert.ok(bars >= 24, `a bar per hour of the day: ${bars}`);
  const tallest = await page.locator("#decisions-chart rect").evaluateAll(
    (rects) => Math.max(...rects.map((rect) => rect.getBBox().height)));
  assert.ok(tallest > 100, "this hour's decisions are drawn");
  assert.equal(await page.locator("#score-chart rect").count(), 20, "ten deciles, training and window");
  // The approval rate: a dot per hour with decisions, a line once there are two.
  const dots = await page.locator("#decisions-chart circle").count();
  assert.ok(dots >= 1, "this hour's approval rate is drawn");
  assert.equal(await page.locator("#decisions-chart polyline").count(), dots > 1 ? 1 : 0, "the approval line");

  const rows = page.locator("#drift-table tbody tr");
  assert.equal(await rows.count(), 19);
  const checking = page.locator('#drift-table tr[data-field="checking_account"]');
  assert.equal(await checking.getAttribute("data-status"), "act");
  const colour = await checking.locator(".status").evaluate((badge) => getComputedStyle(badge).backgroundColor);
  assert.equal(colour, "rgb(198, 40, 40)", "act is drawn red");
  assert.equal(await page.locator('#drift-table tr[data-field="housing"]').getAttribute("data-status"), "stable");

  // The window picker: the last hour holds the same decisions.
  await page.getByRole("link", { name: "Last hour" }).click();
  assert.match(await page.locator("#figures").innerText(), decided);

  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  const outside = requests.filter((url) => !url.startsWith(base));
  assert.deepEqual(outside, [], "the page loads nothing from outside the service");
  console.log(`monitoring page: ${bars} hourly bars, 19 drift rows, checking_account act; ${requests.length} requests, all to the service`);
} finally {
  await browser.close();
}
