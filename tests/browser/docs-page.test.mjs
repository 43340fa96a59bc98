// The docs page in headless Chromium: it renders every endpoint of the
// OpenAPI document, and sending the example application from it shows a
// decision. Run by scripts/check-pages against a running service:
//
//     node tests/browser/docs-page.test.mjs http://127.0.0.1:8080 [screenshot.png]

import assert from "node:assert/strict";
import { launchChromium } from "./chromium.mjs";

const base = process.argv[2] ?? "http://127.0.0.1:8080";
const screenshot = process.argv[3];

const browser = await launchChromium();
try {
  const page = await browser.newPage();
  const outside = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(base)) outside.push(request.url());
  });
  await page.goto(`${base}/docs`);

  const document = await (await fetch(`${base}/openapi.json`)).json();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of Object.keys(item)) {
      const block = page.locator(`.opblock-${method}:has([data-path="${path}"])`).first();
      await block.waitFor({ timeout: 20_000 });
    }
  }

  // Open "decide one application", send the example it is filled with.
  const operation = page.locator("#operations-decisions-decideApplication");
  await operation.locator(".opblock-summary").click();
  const tryItOut = operation.locator("button.try-out__btn");
  if ((await tryItOut.count()) > 0 && (await tryItOut.innerText()).includes("Try it out")) {
    await tryItOut.click();
  }
  const requestBody = await operation.locator("textarea.body-param__text").inputValue();
  assert.equal(JSON.parse(requestBody).checking_account, "below_0", "the example is filled in");
  await operation.locator("button.execute").click();

  const status = operation.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor({ timeout: 20_000 });
  assert.equal((await status.innerText()).trim(), "200");
  const shown = await operation.locator(".live-responses-table .response-col_description pre").first().innerText();
  const decision = JSON.parse(shown);
  assert.match(decision.decision, /^(approve|decline)$/);
  assert.match(decision.decision_id, /^[0-9a-f-]{36}$/);
  assert.equal(decision.model_version, document.components.schemas.ServedDecision.properties.model_version.example);

  if (screenshot) await page.screenshot({ path: screenshot, fullPage: false });
  assert.deepEqual(outside, [], "the page loads nothing from outside the service");
  console.log(`docs page: ${Object.keys(document.paths).length} paths rendered; the example was decided: ${decision.decision} (${decision.decision_id})`);
} finally {
  await browser.close();
}
