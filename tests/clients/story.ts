// The service's story, told through the TypeScript client @hey-api/openapi-ts
// generates from /openapi.json, as a loan-origination system would tell it.
//
//     node out/story.js BASE_URL API_KEY OLD_RECORD_ID
//
// Run by scripts/check-clients, which generates ./client beside this file,
// type-checks both with `tsc --noEmit --strict`, compiles and runs it, and
// logs OLD_RECORD_ID under other rules than today's. Any surprise throws.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { client } from './client/client.gen';
import {
  decideApplication,
  decideBatch,
  getDecision,
  getModelCard,
  getMonitoringReport,
  listDecisions,
  type Application,
  type Problem,
  type ServedDecision,
} from './client';

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`the story broke: ${what}`);
}

const [, , baseUrl, apiKey, oldRecordId] = process.argv;
check(baseUrl !== undefined && apiKey !== undefined && oldRecordId !== undefined, 'usage: story.js BASE_URL API_KEY OLD_RECORD_ID');

// Four levels up from target/clients/typescript/out is the repository.
const repository = join(__dirname, '..', '..', '..', '..');
function application(name: string): Application {
  return JSON.parse(readFileSync(join(repository, 'domain', 'testdata', name), 'utf8')) as Application;
}

async function main(): Promise<void> {
  client.setConfig({ baseUrl, auth: () => apiKey });

  // A miss, then the same application again: a hit, the same verdict.
  const example: Application = { ...application('example-application.json'), credit_amount: 4321 };
  check(example.checking_account === 'below_0', 'the example is typed');
  const first = await decideApplication({ body: example });
  check(first.response.status === 200 && first.data !== undefined, `a miss: ${first.response.status}`);
  check(first.response.headers.get('cache-status') === 'credit-decisions; fwd=miss', 'a miss says so');
  const second = await decideApplication({ body: example });
  check(second.data !== undefined, 'a hit');
  check(second.response.headers.get('cache-status') === 'credit-decisions; hit', 'a hit says so');
  const miss: ServedDecision = first.data;
  const hit: ServedDecision = second.data;
  check(hit.decision === miss.decision && hit.probability_of_default === miss.probability_of_default, 'the same verdict');
  check(hit.decision_id !== miss.decision_id, 'a new id');

  // A decline says why, in typed reasons naming typed fields.
  const declined = await decideApplication({ body: application('declined-application.json') });
  check(declined.data !== undefined && declined.data.decision === 'decline', 'a decline');
  const reasons = declined.data.reasons;
  check(reasons.length >= 1 && reasons.length <= 4, 'one to four reasons');

  // The record of the hit, and a page holding a record logged under other
  // rules (`savings: lots`), read whole, as logged.
  const record = await getDecision({ path: { decision_id: hit.decision_id } });
  check(record.data !== undefined && record.data.source === 'cache', 'the record of a hit');
  check(record.data.request.credit_amount === 4321, 'the request as logged');
  const page = await listDecisions({ query: { limit: 1000 } });
  check(page.data !== undefined, 'a page');
  const old = page.data.items.filter((item) => item.decision_id === oldRecordId);
  check(old.length === 1 && old[0]?.request.savings === 'lots', 'the old record, as logged');

  // A batch with one invalid item: refused whole, the item's index a number.
  const tooYoung: Application = { ...example, age_years: 12 };
  const refused = await decideBatch({ body: { applications: [example, tooYoung] } });
  check(refused.response.status === 422 && refused.error !== undefined, 'a refused batch');
  const problem: Problem = refused.error;
  const errors = (problem.errors ?? []).map((error) => [error.field, error.index]);
  check(JSON.stringify(errors) === JSON.stringify([['applications[1].age_years', 1]]), JSON.stringify(errors));

  // The card: the reasons a decline can give are typed.
  const card = await getModelCard();
  check(card.data !== undefined && card.data.version === miss.model_version, 'the card');
  const codes = new Set(card.data.features.map((feature) => feature.reason.code));
  check(reasons.every((reason) => codes.has(reason.code)), 'the reasons are the card\'s');

  // Monitoring of the last hour.
  const now = Date.now();
  const report = await getMonitoringReport({
    query: { since: new Date(now - 3_600_000).toISOString(), until: new Date(now + 60_000).toISOString() },
  });
  check(report.data !== undefined && report.data.decisions >= 4, 'the monitoring report');

  // A 422 parsed as a typed problem.
  const invalid = await decideApplication({ body: tooYoung });
  check(invalid.response.status === 422 && invalid.error?.errors?.[0]?.field === 'age_years', 'a 422');

  // No key at all: 401, parsed as a problem.
  client.setConfig({ auth: undefined });
  const unauthorized = await decideApplication({ body: example });
  check(unauthorized.response.status === 401 && unauthorized.error?.status === 401, 'a 401 without a key');

  console.log('typescript client: the story ran: miss, hit, decline with reasons, record, page with an old record, batch 422 with index, card, monitoring, 422, 401');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
